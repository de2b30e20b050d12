"""The measured steps, each in a fresh process: ``python -m bench.child STEP '{"data_dir": ...}'``.

A step prints one JSON object on its last line of stdout: wall and CPU seconds, the peak RSS (VmHWM, reset
before each timed block so a step's peak is its own), and what it measured. Settings come from the
environment the parent sets (DASHBOARD_STATE_DIR under bench/cache, DASHBOARD_MEMORY_LIMIT, no settings file).
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from bench.measure import Repeats, median, peak_rss_mb, reset_peak_rss, timed

FILTER_CHANGES = ("segment", "date range")


def _say(message: str) -> None:
    print(f"bench:   {message}", file=sys.stderr, flush=True)


@contextmanager
def model_step_timer():
    """Seconds per SQL file run by ``queries.execute_file`` (the model build steps, the churn tables)."""
    from dashboard import queries

    original = queries.execute_file
    seconds: dict[str, float] = {}

    def timed_execute_file(con, name, **params):
        started = time.perf_counter()
        try:
            return original(con, name, **params)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

    queries.execute_file = timed_execute_file
    try:
        yield seconds
    finally:
        queries.execute_file = original


def _open_and_build(data_dir: str) -> tuple:
    """What the app does before its first page: open the exports, find the as-of date, a cursor as the app's
    query cache makes it (``model=False``: the model tables are built by the first query that reads them), and
    the sidebar's segment options (which build ``valid_orders`` and ``customer_summary``). Returns the database,
    as-of date, a cursor and the timings."""
    from dashboard.model import Database
    from dashboard.queries import run_query
    from dashboard.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    with model_step_timer() as steps, timed() as total:
        with timed(reset_peak=False) as opening:
            database = Database.open(settings)
        with timed(reset_peak=False) as finding_as_of:
            as_of = database.default_as_of()
        with timed(reset_peak=False) as building:
            cursor = database.cursor(as_of, model=False)
        with timed(reset_peak=False) as options:
            run_query(cursor, "segment_values")
    timings = {
        "seconds": total.seconds, "cpu": total.cpu, "peak_mb": total.peak_mb,
        "parts": {"Database.open (register sources)": opening.seconds,
                  "default_as_of()": finding_as_of.seconds,
                  "db.cursor (the as-of schema, model_info)": building.seconds,
                  "segment_values (sidebar options: valid_orders, customer_summary, segments)": options.seconds},
        "model_steps": steps,
        "orders": database.catalog.tables["orders"].row_count,
        "snapshot": str(database.snapshot) if database.snapshot else None,
    }
    return database, as_of, cursor, timings


def cold_start(data_dir: str) -> dict:
    """Register the exports and build the model layer the first page needs (a fresh process each run)."""
    _, as_of, _, timings = _open_and_build(data_dir)
    return {**timings, "as_of": as_of.isoformat()}


def floor(data_dir: str, memory_limit: str | None = None, temp_dir: str | None = None) -> dict:
    """The least work a correct cold start must do: one scan aggregating orders by customer."""
    import duckdb

    from dashboard.sources import find_table_files, quote_literal

    with timed() as total:
        files = find_table_files(Path(data_dir), "orders")
        connection = duckdb.connect(":memory:")
        if memory_limit:
            connection.execute("set memory_limit = $limit", {"limit": memory_limit})
        if temp_dir:
            connection.execute("set temp_directory = $path", {"path": temp_dir})
        paths = ", ".join(quote_literal(str(path)) for path in files)
        connection.execute(
            "create table customer_totals as "
            "select customer_id, count(*) as count_orders, sum(revenue) as revenue, "
            "min(ordered_at) as first_ordered_at, max(ordered_at) as last_ordered_at "
            f"from read_parquet([{paths}], hive_partitioning = true) group by customer_id"
        )
    customers = connection.execute("select count(*) from customer_totals").fetchone()[0]
    return {"seconds": total.seconds, "cpu": total.cpu, "peak_mb": total.peak_mb, "customers": customers}


def _cache_key(name: str, params: dict) -> tuple:
    """What the app's query cache (dashboard/cache.py) keys a result on: the file and the params it uses."""
    from dashboard.queries import used_parameters

    used = used_parameters(name)
    return name, repr(sorted((key, value) for key, value in params.items() if key in used))


def _run_page(cursor, page: str, params: dict, cache: dict | None = None) -> tuple[dict, dict]:
    """Run a page's queries for the Filters params as the page does; frames and seconds per query.

    With a cache (the page's own results so far, a model of the app's ``st.cache_data``), a query whose
    file and used parameters were answered before is served from it and takes 0 s, as in the app.
    """
    from bench.pages import PAGE_QUERIES, cohort_drilldown, page_arguments
    from dashboard.queries import run_query

    frames, seconds = {}, {}
    if page == "compare":
        return _run_comparison(cursor, params, cache)
    for page_query in PAGE_QUERIES[page]:
        arguments = page_arguments(page, page_query, params)
        if page_query.name == "cohort_members":
            cell = cohort_drilldown(frames["cohort_retention"], params)
            if cell is None:
                continue
            arguments.update(cell)
        key = _cache_key(page_query.name, arguments)
        if cache is not None and key in cache:
            frames[page_query.name], seconds[page_query.name] = cache[key], 0.0
            continue
        started = time.perf_counter()
        frames[page_query.name] = run_query(cursor, page_query.name, **arguments)
        seconds[page_query.name] = time.perf_counter() - started
        if cache is not None:
            cache[key] = frames[page_query.name]
    return frames, seconds


def _run_comparison(cursor, params: dict, cache: dict | None) -> tuple[dict, dict]:
    """The comparison page's rerun: dashboard.compare.compare_segments for segment A (the Filters params'
    channels, or everyone) against COMPARE_OTHER_SEGMENT, its queries through the same cache model."""
    from bench.pages import COMPARE_OTHER_SEGMENT, PAGE_QUERIES
    from dashboard import compare
    from dashboard.queries import run_query

    seconds = {page_query.name: 0.0 for page_query in PAGE_QUERIES["compare"]}

    def run(name: str, **arguments):
        key = _cache_key(name, arguments)
        if cache is not None and key in cache:
            return cache[key]
        started = time.perf_counter()
        frame = run_query(cursor, name, **arguments)
        seconds[name] += time.perf_counter() - started
        if cache is not None:
            cache[key] = frame
        return frame

    exported = {"surveys": True, "tickets": True}

    def rows_of(letter: str, segment: dict) -> dict:  # the app caches each segment's column (cache.segment_rows)
        key = ("compare", letter, repr(sorted(segment.items())))
        if cache is not None and key in cache:
            return cache[key]
        rows = compare.segment_rows(run, letter, segment, exported)
        if cache is not None:
            cache[key] = rows
        return rows

    first = {"channel": tuple(params["channels"])} if params.get("channels") else {}
    comparison = compare.compare_segments(run, [first, COMPARE_OTHER_SEGMENT], exported, rows_of)
    return {"compare": comparison.summary}, seconds


def _first_views(cursor, pages: list[str], as_of, caches: dict, keep_going: bool = False) -> dict:
    """Each page opened once with the default filters (all customers, the last 365 days, months), as a user
    opens it: this builds the page's aggregate tables (once per as-of date, for every session) and fills the
    query cache the reruns then start from. With ``keep_going`` a page whose queries fail is recorded as
    ``{"failed": message}`` (as the app shows it on that page) and the others go on."""
    from bench.pages import default_params
    from dashboard.queries import QueryError

    results = {}
    for page in pages:
        with timed() as total:
            try:
                _, seconds = _run_page(cursor, page, default_params(as_of), caches[page])
            except QueryError as error:
                if not keep_going:
                    raise
                results[page] = {"failed": str(error).splitlines()[0]}
                _say(f"{page}, first view failed: {results[page]['failed']}")
                continue
        results[page] = {"seconds": [total.seconds], "cpu": [total.cpu], "peak_mb": total.peak_mb,
                         "queries": seconds}
        _say(f"{page}, first view: {total.seconds:.3f} s")
    return results


def _page_reruns(cursor, pages: list[str], as_of, runs: int, budget: float, out_dir: Path,
                 caches: dict | None = None) -> dict:
    """Each page's reruns after each kind of filter change, through a model of the app's query cache.

    Only the queries whose used parameters changed run (the others are cache hits in the app). Without a
    cache every query runs.

    Runs go round-robin (run 1 of every page and change, then run 2, ...), so a burst of other work on the
    machine lands on one run of many steps rather than on every run of one step; medians absorb it.
    """
    from bench.pages import filter_change

    steps = [(page, kind) for page in pages for kind in FILTER_CHANGES]
    samples = {step: [] for step in steps}
    per_query = {step: {} for step in steps}
    spent = dict.fromkeys(steps, 0.0)
    for run in range(runs):
        for page, kind in steps:
            if run > 0 and spent[(page, kind)] >= budget:
                continue
            params = filter_change(kind, run, as_of)
            with timed() as total:
                frames, seconds = _run_page(cursor, page, params, caches[page] if caches is not None else None)
            spent[(page, kind)] += total.seconds
            samples[(page, kind)].append(total)
            for name, value in seconds.items():
                per_query[(page, kind)].setdefault(name, []).append(value)
            if run == 0:
                with open(out_dir / f"ours-{page}-{kind}.pkl", "wb") as handle:
                    pickle.dump(frames, handle)
    results = {}
    for page, kind in steps:
        runs_done = samples[(page, kind)]
        results.setdefault(page, {})[kind] = {
            "seconds": [s.seconds for s in runs_done], "cpu": [s.cpu for s in runs_done],
            "peak_mb": max(s.peak_mb for s in runs_done),
            "queries": {name: median(v) for name, v in per_query[(page, kind)].items()},
        }
        _say(f"{page}, {kind} change: {median(results[page][kind]['seconds']):.3f} s median of {len(runs_done)}")
    return results


def _scores_available() -> str | None:
    """None when dashboard.churn.score_customers(cursor) exists, else why not."""
    try:
        from dashboard import churn
    except Exception as error:  # an unfinished module must not stop the benchmark
        return f"dashboard.churn cannot be imported: {type(error).__name__}: {error}"
    if not hasattr(churn, "score_customers"):
        return "dashboard.churn has no score_customers(cursor)"
    return None


def session(data_dir: str, runs: int, budget: float, out_dir: str) -> dict:
    """One warm app process: the sidebar, every page's reruns, the Data page, the JSON report, scores."""
    from bench.pages import NEEDS_SCORES, available_pages
    from dashboard.queries import run_query
    from dashboard.report import metrics_report

    out = Path(out_dir)
    database, as_of, cursor, build = _open_and_build(data_dir)
    _say(f"model built in {build['seconds']:.1f} s (as of {as_of})")
    result = {"as_of": as_of.isoformat(), "build": build, "pages": {}, "unavailable": {}}

    samples = []
    for _ in Repeats(runs, budget):
        with timed() as timing:
            database.default_as_of()
        samples.append(timing)
    result["sidebar"] = {"seconds": [s.seconds for s in samples], "cpu": [s.cpu for s in samples],
                         "peak_mb": max(s.peak_mb for s in samples)}
    _say(f"sidebar default_as_of(): {median(result['sidebar']['seconds']):.3f} s")

    from bench.pages import BUILT_BEFORE_PAGES
    from dashboard import graph

    with timed() as timing:  # the "Why customers leave" page's comment themes: fitted once per version of the exports
        graph.ensure_for(cursor, list(BUILT_BEFORE_PAGES))
    result["themes"] = {"seconds": [timing.seconds], "cpu": [timing.cpu], "peak_mb": timing.peak_mb}
    _say(f"comment themes fitted in {timing.seconds:.1f} s")

    pages = available_pages()
    result["unavailable"] = {page: reason for page, reason in pages.items() if reason}
    ready = [page for page, reason in pages.items() if not reason and page not in NEEDS_SCORES]
    # One query cache per page: a page's reruns are served only what its own first view and earlier reruns
    # cached (in the app, another page with the same query and filters could have filled it too; counting on
    # that would make a page's numbers depend on the order pages are measured in).
    caches: dict = {page: {} for page in pages}
    result["first_views"] = _first_views(cursor, ready, as_of, caches)
    result["pages"] = _page_reruns(cursor, ready, as_of, runs, budget, out, caches)

    with timed() as timing:
        run_query(cursor, "data_overview")
        database.findings()
    result["data_page"] = {"seconds": [timing.seconds], "cpu": [timing.cpu], "peak_mb": timing.peak_mb}
    _say(f"Data page first view: {timing.seconds:.1f} s")

    samples = []
    for run in Repeats(runs, budget):
        with timed() as timing:
            report = metrics_report(database, as_of)
        samples.append(timing)
        if run == 0:
            (out / "ours-report.json").write_text(json.dumps(report), encoding="utf-8")
    result["report"] = {"seconds": [s.seconds for s in samples], "cpu": [s.cpu for s in samples],
                        "peak_mb": max(s.peak_mb for s in samples)}
    _say(f"JSON report (model warm): {median(result['report']['seconds']):.2f} s")

    reason = _scores_available()
    if reason:
        result["scores"] = {"unavailable": reason}
    else:
        from dashboard import churn

        with model_step_timer() as steps, timed() as timing:
            scored = churn.score_customers(cursor)
        result["scores"] = {"seconds": [timing.seconds], "cpu": [timing.cpu], "peak_mb": timing.peak_mb,
                            "customers": len(scored.scores), "sql_steps": steps}
        _say(f"scores (fit included): {timing.seconds:.1f} s for {len(scored.scores):,} customers")
        scored_pages = [page for page in pages if page in NEEDS_SCORES and not pages[page]]
        result["first_views"].update(_first_views(cursor, scored_pages, as_of, caches))
        result["pages"].update(_page_reruns(cursor, scored_pages, as_of, runs, budget, out, caches))
    return result


def prepared_session(data_dir: str, runs: int, budget: float, out_dir: str) -> dict:
    """An app process started on exports already prepared (it reads the model snapshot): every page opened once,
    then the same reruns as ``session``. This is how the app serves after ``python -m dashboard prepare`` or
    any restart; ``session`` is the first start on new exports, which serves from the model it built in memory.
    """
    from bench.pages import available_pages

    database, as_of, cursor, build = _open_and_build(data_dir)
    if not build.get("snapshot"):
        return {"unavailable": "the process did not read a model snapshot (run prepare first)"}
    _say(f"opened from the snapshot in {build['seconds']:.2f} s (as of {as_of})")
    pages = [page for page, reason in available_pages().items() if not reason]
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    caches: dict = {page: {} for page in pages}
    first_views = _first_views(cursor, pages, as_of, caches, keep_going=True)
    served = [page for page in pages if "failed" not in first_views[page]]
    return {"as_of": as_of.isoformat(), "first_views": first_views, "backtest": _backtest_view(database, as_of),
            "pages": _page_reruns(cursor, served, as_of, runs, budget, Path(out_dir), caches)}


def _backtest_view(database, as_of) -> dict:
    """The churn page's last section: ``churn.backtest`` with the cutoff 90 days back, as the page calls it
    (through a cache keyed by data version and cutoff, so this is its cost on the first view only)."""
    from datetime import timedelta

    from dashboard import churn

    cutoff = as_of - timedelta(days=churn.RISK_HORIZON_DAYS)
    stored = churn.stored_backtest(database, cutoff) is not None
    with timed() as timing:
        try:
            result = churn.backtest(database, cutoff)
        except Exception as error:  # the page shows "No backtest: ..." instead
            return {"failed": str(error).splitlines()[0][:300]}
    _say(f"churn backtest, first view: {timing.seconds:.3f} s ({'stored by prepare' if stored else 'computed'}, "
         f"AUC {result.auc:.3f})")
    return {"seconds": [timing.seconds], "cpu": [timing.cpu], "peak_mb": timing.peak_mb, "stored": stored}


def scores(data_dir: str) -> dict:
    """Churn scores for every customer, fit included, on a freshly built model (not timed: the build)."""
    reason = _scores_available()
    if reason:
        return {"unavailable": reason}
    from dashboard import churn

    _, _, cursor, _ = _open_and_build(data_dir)
    with model_step_timer() as steps, timed() as timing:
        scored = churn.score_customers(cursor)
    return {"seconds": timing.seconds, "cpu": timing.cpu, "peak_mb": timing.peak_mb,
            "customers": len(scored.scores), "sql_steps": steps}


def pandas_cold_start(data_dir: str) -> dict:
    """The baseline's first load: read the Parquet exports into pandas and build the per-customer frame."""
    from bench import baseline

    with timed() as timing:
        model = baseline.load(Path(data_dir), with_surveys=True)
    return {"seconds": timing.seconds, "cpu": timing.cpu, "peak_mb": timing.peak_mb, "as_of": model.as_of.isoformat()}


def pandas_session(data_dir: str, runs: int, budget: float, out_dir: str, as_of: str) -> dict:
    """The baseline's reruns: every rerun reads the exports again, filters the segment and groups by."""
    from datetime import date

    from bench import baseline
    from bench.pages import filter_change

    out, as_of_date, data = Path(out_dir), date.fromisoformat(as_of), Path(data_dir)
    steps = [(page, kind) for page in baseline.PANDAS_PAGES for kind in FILTER_CHANGES]
    samples = {step: [] for step in steps}
    spent = dict.fromkeys(steps, 0.0)
    for run in range(runs):  # round-robin, as for our reruns
        for page, kind in steps:
            if run > 0 and spent[(page, kind)] >= budget:
                continue
            params = filter_change(kind, run, as_of_date)
            with timed() as timing:
                model = baseline.load(data, with_surveys=page in baseline.PAGES_NEEDING_SURVEYS)
                numbers = baseline.page_numbers(page, model, params)
            spent[(page, kind)] += timing.seconds
            samples[(page, kind)].append(timing)
            if run == 0:
                with open(out / f"pandas-{page}-{kind}.pkl", "wb") as handle:
                    pickle.dump(numbers, handle)
            del model, numbers
    result = {"pages": {}}
    for page, kind in steps:
        runs_done = samples[(page, kind)]
        result["pages"].setdefault(page, {})[kind] = {
            "seconds": [t.seconds for t in runs_done], "cpu": [t.cpu for t in runs_done],
            "peak_mb": max(t.peak_mb for t in runs_done)}
        _say(f"pandas {page}, {kind} change: {median([t.seconds for t in runs_done]):.2f} s")
    samples = []
    reset_peak_rss()
    for run in Repeats(runs, budget):
        with timed(reset_peak=False) as timing:
            model = baseline.load(data, with_surveys=True)
            report = baseline.report_numbers(model)
        samples.append(timing)
        if run == 0:
            (out / "pandas-report.json").write_text(json.dumps(report), encoding="utf-8")
        del model
    result["report"] = {"seconds": [s.seconds for s in samples], "cpu": [s.cpu for s in samples],
                        "peak_mb": peak_rss_mb()}
    return result


STEPS = {
    "cold_start": cold_start,
    "floor": floor,
    "session": session,
    "prepared_session": prepared_session,
    "scores": scores,
    "pandas_cold_start": pandas_cold_start,
    "pandas_session": pandas_session,
}


def main(argv: list[str]) -> int:
    """Run one step with its JSON arguments and print its JSON result."""
    step, arguments = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    result = STEPS[step](**arguments)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
