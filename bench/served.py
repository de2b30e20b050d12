"""Server CPU per page rerun as the app serves it: the real page script, its figures and their serialisation.

The query rows of ``bench.profile`` and ``make bench`` time a page's SQL only. What a person waits for on a busy
server is everything the script does on a rerun: the sidebar, the cached queries, the pandas work of the page,
building each Plotly figure and turning it into the JSON the browser gets (``st.plotly_chart`` serialises it into
the element's protobuf). Here each page is one Streamlit session (``streamlit.testing.v1.AppTest``, the real
script runner, in this process) on the bench exports: it is opened once (its first view builds the model, the
page's aggregates and fills the caches), then reruns after the same filter changes as the rest of the bench
(``bench.pages.filter_change``: a different acquisition channel each run, or a different trend range), set through
the sidebar's own widgets. Per rerun it records:

- ``script_cpu``: CPU seconds of the thread that ran the script (``time.thread_time`` around
  ``ScriptRunner._run_script``): the page, its figures and their JSON, the query cache's lookups, and whatever
  DuckDB ran on that thread for a query that missed the cache;
- ``cpu``: CPU seconds of the whole process during the rerun: also DuckDB's worker threads and the test
  harness reading the finished page's messages (so an upper bound of the server's share);
- ``query_cpu``: the part of ``script_cpu`` spent in the page's SQL (``queries.execute_with_time_limit``, on
  the script's thread: DuckDB planning and running a query that missed the cache, and its rows made a pandas
  frame), and ``queries_run``: how many there were;
- ``seconds``: wall time; ``figures_built``: how many figures were built (``dashboard.cache.FIGURE_BUILDS``,
  the rest were served already built) out of ``charts`` on the page.

Not included: sending the messages over the websocket (protobuf serialisation in C, and the server's message
cache hashing large ones). Compiled scripts are cached across runs as on a server (AppTest alone compiles them
on every run). Settings: defaults, a temporary state folder, model snapshots and the background build off (each
page builds what it reads on its first view, which is not measured here).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from bench.measure import median, timed

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"
FILTER_CHANGES = ("segment", "date range")


@contextmanager
def _thread_cpu_of(owner, name: str):
    """``owner.name`` (a function or method) replaced, inside the block, by one that records the CPU seconds of
    the calling thread spent in each call: a list of samples, one per call."""
    original = getattr(owner, name)
    samples: list[float] = []

    def measured(*args, **kwargs):
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            samples.append(time.thread_time() - started)

    setattr(owner, name, measured)
    try:
        yield samples
    finally:
        setattr(owner, name, original)


def script_cpu():
    """CPU seconds of each script run that starts inside the block, measured on the script's own thread."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    return _thread_cpu_of(ScriptRunner, "_run_script")


def query_cpu():
    """CPU seconds of the script thread inside each SQL query that runs in the block (``run_query``'s
    ``execute_with_time_limit``): a list of samples, one per query."""
    from dashboard import queries

    return _thread_cpu_of(queries, "execute_with_time_limit")


@contextmanager
def shared_script_cache():
    """One compiled-script cache for every run, as a server has (AppTest compiles the scripts again on each run,
    about 25 ms of CPU a rerun that a server does not spend)."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    saved = app_test.ScriptCache, local_script_runner.ScriptCache
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared
    try:
        yield shared
    finally:
        app_test.ScriptCache, local_script_runner.ScriptCache = saved


@contextmanager
def app_environment(data_dir: Path):
    """The app's settings for these exports: defaults, a temporary state folder, no snapshot, no background build."""
    keys = ("DASHBOARD_DATA_DIR", "DASHBOARD_STATE_DIR", "DASHBOARD_SETTINGS", "DASHBOARD_MODEL_SNAPSHOTS",
            "DASHBOARD_BACKGROUND_BUILD")
    saved = {key: os.environ.get(key) for key in keys}
    with tempfile.TemporaryDirectory(prefix="bench-served-") as state:
        os.environ.update({"DASHBOARD_DATA_DIR": str(data_dir), "DASHBOARD_STATE_DIR": state,
                           "DASHBOARD_SETTINGS": str(Path(state) / "no-settings-file.toml"),
                           "DASHBOARD_MODEL_SNAPSHOTS": "0", "DASHBOARD_BACKGROUND_BUILD": "false"})
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _set_filters(session, params: dict) -> None:
    """The sidebar's channel and trend range widgets set to a filter change's params (the rest stay default)."""
    session.multiselect(key="channel").set_value(list(params["channels"] or []))
    session.date_input(key="range").set_value((params["start_date"], params["end_date"]))


def _problem(session) -> str | None:
    if session.exception:
        return f"exception: {session.exception[0].message}"
    return None


def served_reruns(data_dir: Path, pages: list[str], runs: int, timeout: float = 900) -> dict:
    """Each page opened once, then ``runs`` reruns per filter change (round-robin over pages and changes).

    Returns {page: {"first view": {...}, "segment": {...}, "date range": {...}}}, each with lists of
    ``seconds``, ``cpu``, ``script_cpu``, ``query_cpu``, ``queries_run``, ``figures_built`` and ``charts`` (or
    ``{"failed": why}``).
    """
    from streamlit.testing.v1 import AppTest

    from bench.pages import filter_change
    from dashboard import cache

    results: dict = {}
    sessions = {}
    with app_environment(data_dir), shared_script_cache():
        for page in pages:
            session = AppTest.from_file(str(APP), default_timeout=timeout)
            if page != "overview":
                session.switch_page(f"dashboard/pages/{page}.py")
            with script_cpu() as script, query_cpu() as sql, timed() as total:
                session.run()
            problem = _problem(session)
            if problem:
                results[page] = {"failed": problem}
                print(f"bench: {page}, served first view failed: {problem}", file=sys.stderr)
                continue
            sessions[page] = session
            results[page] = {"first view": {"seconds": [total.seconds], "cpu": [total.cpu],
                                            "script_cpu": [sum(script)], "query_cpu": [sum(sql)],
                                            "queries_run": [len(sql)], "figures_built": [None],
                                            "charts": [len(session.get("plotly_chart"))]}}
            print(f"bench: {page}, served first view: {total.seconds:.2f} s", file=sys.stderr)
        as_of = None
        # A profiler attached from here on sees reruns only: py-spy record --pid <pid> (bench/README.md).
        print(f"bench: served reruns start (pid {os.getpid()})", file=sys.stderr, flush=True)
        for run in range(runs):
            for page, session in sessions.items():
                as_of = as_of or session.date_input(key="as_of").value
                for kind in FILTER_CHANGES:
                    _set_filters(session, filter_change(kind, run, as_of))
                    built = _figures_built(cache)
                    with script_cpu() as script, query_cpu() as sql, timed(reset_peak=False) as total:
                        session.run()
                    problem = _problem(session)
                    row = results[page].setdefault(kind, {"seconds": [], "cpu": [], "script_cpu": [], "query_cpu": [],
                                                          "queries_run": [], "figures_built": [], "charts": []})
                    if problem:
                        row["failed"] = problem
                    row["seconds"].append(total.seconds)
                    row["cpu"].append(total.cpu)
                    row["script_cpu"].append(sum(script))
                    row["query_cpu"].append(sum(sql))
                    row["queries_run"].append(len(sql))
                    row["figures_built"].append(None if built is None else _figures_built(cache) - built)
                    row["charts"].append(len(session.get("plotly_chart")))
    return results


def _figures_built(cache) -> int | None:
    """Figures built through ``cache.figure`` so far (None on code without a figure cache)."""
    builds = getattr(cache, "FIGURE_BUILDS", None)
    return None if builds is None else sum(builds.values())


def print_served(results: dict, out=sys.stdout) -> None:
    """One line per page and rerun kind: medians of wall, process CPU, script-thread CPU (and of it the SQL's, with
    the queries run), figures built / charts."""
    print("served reruns (the page script under Streamlit's script runner; medians):", file=out)
    print(f"  {'page, rerun':<34} {'wall ms':>8} {'CPU ms':>8} {'script CPU ms':>14} {'of it SQL ms':>13} "
          f"{'queries':>8} {'figures built':>14}", file=out)
    for page, kinds in results.items():
        if "failed" in kinds:
            print(f"  {page:<34} failed: {kinds['failed']}", file=out)
            continue
        for kind, row in kinds.items():
            built = median(row["figures_built"])
            charts = median(row["charts"])
            shown = "-" if built is None else f"{built:g} of {charts:g}"
            label = f"{page}, {kind}" + ("" if kind == "first view" else " change")
            print(f"  {label:<34} {median(row['seconds']) * 1000:8.0f} {median(row['cpu']) * 1000:8.0f} "
                  f"{median(row['script_cpu']) * 1000:14.0f} {_sql_ms(row):>13} {_queries(row):>8} {shown:>14}"
                  + (f"  ({row['failed']})" if "failed" in row else ""), file=out)


def _sql_ms(row: dict) -> str:
    """The median SQL CPU of a rerun kind's row, in ms ("–" for a row measured without it)."""
    return f"{median(row['query_cpu']) * 1000:.0f}" if row.get("query_cpu") else "–"


def _queries(row: dict) -> str:
    return f"{median(row['queries_run']):g}" if row.get("queries_run") else "–"


SCRIPT_CPU_TARGET_MS = 60  # issue #17: server CPU per rerun after a filter change, median, every page at 10M


def served_section(results: dict, label: str, command: str, when: str, code: str, load: str) -> str:
    """A results-file section (bench/served-results.md): one row per page and rerun kind with the medians, and the
    issue's target checked on every filter change's script CPU (a page that failed counts as missed)."""
    lines = [
        f"## {label}",
        "",
        f"`{command}` on {when}; code {code}; load average (1/5/15 min) before: {load}. Medians over the reruns; "
        "script CPU is the thread that ran the page (page code, figures and their JSON, cache lookups, queries "
        "that missed the cache); of it SQL: that thread's CPU inside the page's queries that missed the cache "
        "(DuckDB planning and running them, their rows made a frame), with how many ran; process CPU adds "
        "DuckDB's worker threads and the harness (bench/served.py).",
        "",
        "| page | rerun | reruns | wall | process CPU | script CPU | of it SQL (queries run) | figures built | "
        f"target: script CPU ≤ {SCRIPT_CPU_TARGET_MS} ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    met = total = 0
    script_total = sql_total = 0.0
    for page, kinds in results.items():
        if "failed" in kinds:
            lines.append(f"| {page} | – | – | – | – | – | – | – | **missed**: the page failed ({kinds['failed']}) |")
            total += len(FILTER_CHANGES)
            continue
        for kind, row in kinds.items():
            script_ms = median(row["script_cpu"]) * 1000
            built, charts = median(row["figures_built"]), median(row["charts"])
            sql = "–" if kind == "first view" or not row.get("query_cpu") else f"{_sql_ms(row)} ms ({_queries(row)})"
            if kind == "first view":
                verdict = "– (builds the page's tables)"
            else:
                total += 1
                if row.get("query_cpu"):
                    script_total += script_ms
                    sql_total += median(row["query_cpu"]) * 1000
                passed = script_ms <= SCRIPT_CPU_TARGET_MS and "failed" not in row
                met += passed
                verdict = ("met" if passed else "**missed**") + (f" ({row['failed']})" if "failed" in row else "")
            lines.append(
                f"| {page} | {kind if kind == 'first view' else kind + ' change'} | {len(row['seconds'])} | "
                f"{median(row['seconds']) * 1000:.0f} ms | {median(row['cpu']) * 1000:.0f} ms | {script_ms:.0f} ms | "
                f"{sql} | {'–' if built is None else f'{built:g} of {charts:g}'} | {verdict} |")
    lines += ["", f"At most {SCRIPT_CPU_TARGET_MS} ms: **{met} of {total}** page-and-change pairs."]
    if script_total:
        lines += ["", f"The page's SQL is {100 * sql_total / script_total:.0f}% of the script CPU over the filter "
                      "changes (the sums of their medians)."]
    lines.append("")
    return "\n".join(lines)
