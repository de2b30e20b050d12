"""``make bench`` / ``python -m bench``: our cold start, reruns, report, scores and validate against a pandas
baseline and the floor scan, at 1M and 10M orders; writes bench/results.md and prints its tables.

Examples::

    python -m bench                              # 1M and 10M orders, 3 runs per step (about 25 minutes today)
    python -m bench --sizes 1M --runs 5          # a quick run (about 7 minutes)
    python -m bench --sizes 100M --memory-limit 10GB --runs 1 --skip-pandas   # the documented big run
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import sys
import threading
import time
from pathlib import Path

from bench import results
from bench.child import FILTER_CHANGES
from bench.data import CACHE_DIR, ensure_exports, parse_size
from bench.measure import Repeats, load_average, median, wait_for_quiet
from bench.pages import FILTER_FREE_QUERIES, PAGE_QUERIES, page_problems
from bench.results import Row, seconds_text
from bench.runner import child_environment, run_cli, run_step

RESULTS_PATH = Path(__file__).resolve().parent / "results.md"


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class QuietGate:
    """Before each measured process, wait (up to a limit) for other work on the machine to go idle."""

    def __init__(self, max_seconds: float):
        self.max_seconds = max_seconds
        self.waited = 0.0
        self.steps = 0
        self.busy_starts = 0

    def wait(self) -> None:
        self.steps += 1
        if self.max_seconds <= 0:
            return
        waited, quiet = wait_for_quiet(self.max_seconds)
        self.waited += waited
        if not quiet:
            self.busy_starts += 1
            say(f"other work kept the machine busy for {waited:.0f} s; measuring anyway")

    def summary(self) -> str:
        if self.max_seconds <= 0:
            return "the benchmark did not wait for other work to finish (--quiet-wait 0)"
        return (f"before each of its {self.steps} processes the benchmark waited up to {self.max_seconds:g} s for "
                f"other work to go idle: {self.waited:.0f} s waited in all, {self.busy_starts} started while "
                "other work was still running")


GATE = QuietGate(0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the dashboard at 1M and 10M orders against a pandas baseline and the floor scan; "
                    "writes bench/results.md.")
    parser.add_argument("--sizes", default="1M,10M", help="orders per export, comma-separated (default 1M,10M)")
    parser.add_argument("--runs", type=int, default=3, help="runs per step; medians are reported (default 3)")
    parser.add_argument("--step-budget", type=float, default=45.0, metavar="SECONDS",
                        help="stop repeating a step once its runs took this long (at least one run; default 45)")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit for our steps and the floor, e.g. 12GB")
    parser.add_argument("--skip-pandas", action="store_true", help="no pandas baseline (for sizes it cannot hold)")
    parser.add_argument("--quiet-wait", type=float, default=60.0, metavar="SECONDS",
                        help="before each measured process, wait up to this long for other work on the machine "
                             "to go idle (default 60; 0 to never wait)")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH, help="where to write the results (Markdown)")
    args = parser.parse_args(argv)
    args.sizes = [size.strip() for size in args.sizes.split(",") if size.strip()]
    for size in args.sizes:
        parse_size(size)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def _samples(payloads: list[dict], key: str = "seconds") -> list[float]:
    return [payload[key] for payload in payloads]


def _peak(*values) -> float | None:
    values = [value for value in values if value is not None]
    return max(values) if values else None


def _cli_rows(label: str, data_dir: Path, env: dict, args, out_dir: Path, rows: list[Row], prepared: bool) -> None:
    """The commands a user runs, end to end in a fresh process: report (JSON), scores, and validate.

    ``prepared``: the exports' model snapshot exists (``python -m dashboard prepare`` ran), so a command reads
    it; otherwise snapshots are off and every command builds the model from the exports first.
    """
    when = "exports already prepared (reads the snapshot)" if prepared else "new exports (builds the model)"
    note = ("includes interpreter start, imports and opening the snapshot" if prepared
            else "includes interpreter start, imports and the cold start")
    commands = [
        (f"JSON report, CLI end to end (python -m dashboard report --format json), {when}", "report",
         ["report", "--data", str(data_dir), "--format", "json", "--out", str(out_dir / "report.json")], (0,)),
        (f"scores, CLI end to end (python -m dashboard scores), {when}", "scores",
         ["scores", "--data", str(data_dir), "--out", str(out_dir / "scores.csv")], (0,)),
    ]
    if not prepared:  # validate reads the exports' files and rows, never the model
        commands.append(("validate, CLI end to end (python -m dashboard validate)", "info",
                         ["validate", "--data", str(data_dir)], (0, 1)))
    for step, kind, arguments, ok_codes in commands:
        help_check = run_cli([arguments[0], "--help"], env)
        if help_check.returncode != 0:
            rows.append(Row(step, label, kind, unavailable=f"`python -m dashboard {arguments[0]}` does not exist yet"))
            continue
        samples, cpu, peaks, failure = [], [], [], None
        for _ in Repeats(args.runs, args.step_budget, before=GATE.wait):
            result = run_cli(arguments, env)
            if result.returncode not in ok_codes:
                failure = f"exit {result.returncode}: {(result.stderr.strip().splitlines() or ['?'])[-1][:200]}"
                break
            samples.append(result.seconds)
            cpu.append(result.cpu)
            peaks.append(result.peak_mb)
        if failure:
            rows.append(Row(step, label, kind, unavailable=f"failed ({failure})"))
        else:
            rows.append(Row(step, label, kind, ours=samples, cpu=cpu, peak_mb=max(peaks), note=note))
        say(f"{label} {arguments[0]} CLI: {seconds_text(median(samples)) if samples else failure}")
    (out_dir / "scores.csv").unlink(missing_ok=True)  # hundreds of MB at 10M; only its timing matters


def bench_size(label: str, args, env: dict) -> tuple[list[Row], dict, list[str]]:
    """Every step at one size; returns the rows, the profile and the equality-check problems."""
    data_dir, stamp = ensure_exports(label)
    orders = stamp["counts"]["orders"]
    out_dir = CACHE_DIR / "out" / label
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    say(f"{label}: {orders:,} orders, {stamp['counts']['customers']:,} customers in {data_dir}")
    rows: list[Row] = []
    profile: dict = {"orders": orders}

    floors = []
    for _ in Repeats(args.runs, args.step_budget, before=GATE.wait):
        payload, _ = run_step("floor", {"data_dir": str(data_dir), "memory_limit": args.memory_limit,
                                        "temp_dir": str(env_state(env) / "floor_tmp")}, env)
        floors.append(payload)
    floor_seconds = median(_samples(floors))
    say(f"{label} floor scan: {seconds_text(floor_seconds)}")
    floor_row = Row("floor: one DuckDB scan aggregating orders by customer (count, sum, min, max)", label, "floor",
                    ours=_samples(floors), cpu=_samples(floors, "cpu"),
                    peak_mb=_peak(*(p["peak_mb"] for p in floors)))

    say(f"{label} warm session (model build, sidebar, page reruns, Data page, report, scores)")
    GATE.wait()
    session, _ = run_step("session", {"data_dir": str(data_dir), "runs": args.runs, "budget": args.step_budget,
                                      "out_dir": str(out_dir)}, env)
    as_of = session["as_of"]
    colds = [session["build"]]
    spent = session["build"]["seconds"]
    while len(colds) < args.runs and spent < args.step_budget:
        GATE.wait()
        payload, _ = run_step("cold_start", {"data_dir": str(data_dir)}, env)
        colds.append(payload)
        spent += payload["seconds"]
    say(f"{label} cold start: {seconds_text(median(_samples(colds)))} ({len(colds)} runs)")
    profile["cold"] = colds

    pandas = None
    pandas_colds = []
    if not args.skip_pandas:
        for _ in Repeats(args.runs, args.step_budget, before=GATE.wait):
            payload, _ = run_step("pandas_cold_start", {"data_dir": str(data_dir)}, env)
            pandas_colds.append(payload)
        say(f"{label} pandas cold start: {seconds_text(median(_samples(pandas_colds)))}")
        GATE.wait()
        pandas, _ = run_step("pandas_session", {"data_dir": str(data_dir), "runs": args.runs,
                                                "budget": args.step_budget, "out_dir": str(out_dir), "as_of": as_of},
                             env)

    rows.append(floor_row)
    rows.append(Row("cold start, new exports: register sources, default as-of, build the model layer, sidebar options",
                    label,
                    "cold", ours=_samples(colds), cpu=_samples(colds, "cpu"),
                    peak_mb=_peak(*(c["peak_mb"] for c in colds)), pandas=_samples(pandas_colds) or None,
                    pandas_peak_mb=_peak(*(p["peak_mb"] for p in pandas_colds))))
    sidebar = session["sidebar"]
    rows.append(Row("sidebar, on every rerun of every page: database.default_as_of()", label, "sidebar",
                    ours=sidebar["seconds"], cpu=sidebar["cpu"], peak_mb=sidebar["peak_mb"]))
    for page, first in session.get("first_views", {}).items():
        rows.append(Row(f"{page} page: first view after the model build (builds its aggregate tables, once per "
                        "as-of date for every session)", label, "info", ours=first["seconds"], cpu=first["cpu"],
                        peak_mb=first["peak_mb"]))
    for page in PAGE_QUERIES:
        for kind in FILTER_CHANGES:
            step = f"{page} page: rerun after a {kind} change"
            if page in session["unavailable"]:
                rows.append(Row(step, label, "rerun", unavailable=session["unavailable"][page]))
                continue
            if page not in session["pages"]:
                reason = session.get("scores", {}).get("unavailable", "needs the churn scores")
                rows.append(Row(step, label, "rerun", unavailable=reason))
                continue
            measured = session["pages"][page][kind]
            rows.append(_rerun_row(step, label, measured, pandas, page, kind, sidebar))
            profile.setdefault("queries", {})[(page, kind)] = measured["queries"]
    data_page = session["data_page"]
    rows.append(Row(f"Data page, first view ({', '.join(FILTER_FREE_QUERIES['data'])} + findings)", label, "info",
                    ours=data_page["seconds"], cpu=data_page["cpu"], peak_mb=data_page["peak_mb"],
                    note="takes no filter params: a filter change is a cache hit"))
    report = session["report"]
    rows.append(Row("JSON report, model warm (report.metrics_report)", label, "report", ours=report["seconds"],
                    cpu=report["cpu"],
                    peak_mb=report["peak_mb"], pandas=(pandas or {}).get("report", {}).get("seconds"),
                    pandas_peak_mb=(pandas or {}).get("report", {}).get("peak_mb")))

    scores = session.get("scores", {})
    if "unavailable" in scores:
        rows.append(Row("scores for all customers, fit included (churn.score_customers, model warm)", label, "scores",
                        unavailable=scores["unavailable"]))
    else:
        samples, cpu, peaks = list(scores["seconds"]), list(scores["cpu"]), [scores["peak_mb"]]
        spent = sum(samples) + session["build"]["seconds"]  # another run pays a model build first
        while len(samples) < args.runs and spent < args.step_budget:
            GATE.wait()
            payload, process = run_step("scores", {"data_dir": str(data_dir)}, env)
            samples.append(payload["seconds"])
            cpu.append(payload["cpu"])
            peaks.append(payload["peak_mb"])
            spent += process.seconds
        profile["scores_sql"] = scores.get("sql_steps", {})
        rows.append(Row("scores for all customers, fit included (churn.score_customers, model warm)", label, "scores",
                        ours=samples, cpu=cpu, peak_mb=max(peaks), note=f"{scores['customers']:,} customers scored"))

    _cli_rows(label, data_dir, env, args, out_dir, rows, prepared=False)
    rows += _prepared_rows(label, data_dir, args, out_dir, pandas)
    _cli_rows(label, data_dir, child_environment(env_state(env), args.memory_limit, snapshots=True), args, out_dir,
              rows, prepared=True)
    for row in rows:
        row.floor_seconds = floor_seconds
    problems = [] if args.skip_pandas else (
        check_equal(out_dir) + [f"served from the snapshot, {problem}"
                                for problem in check_equal(out_dir / "prepared", with_report=False)])
    return rows, profile, problems


def _prepared_rows(label: str, data_dir: Path, args, out_dir: Path, pandas: dict | None) -> list[Row]:
    """``python -m dashboard prepare`` once (model, every aggregate and the scores, saved as a snapshot), then
    cold starts that read the snapshot: what a restart, or the first start after a nightly prepare, costs; and
    every page's reruns in a process started from the snapshot, as the app then serves them."""
    state = CACHE_DIR / "state"
    env = child_environment(state, args.memory_limit, snapshots=True)
    shutil.rmtree(state / "snapshots", ignore_errors=True)  # the prepare step must build and save
    GATE.wait()
    prepared = run_cli(["prepare", "--data", str(data_dir)], env)
    step = ("prepare (CLI): build the model, every page's aggregates and the churn scores, save them as a snapshot "
            "(once per new export)")
    if prepared.returncode != 0:
        reason = (prepared.stderr.strip().splitlines() or ["?"])[-1][:200]
        return [Row(step, label, "info", unavailable=f"failed (exit {prepared.returncode}: {reason})")]
    say(f"{label} prepare: {seconds_text(prepared.seconds)}")
    saved = sum(path.stat().st_size for path in (state / "snapshots").glob("model-*.duckdb"))
    rows = [Row(step, label, "info", ours=[prepared.seconds], cpu=[prepared.cpu], peak_mb=prepared.peak_mb,
                note=f"snapshot file {saved / 1e6:,.0f} MB")]
    colds = []
    for _ in Repeats(args.runs, args.step_budget, before=GATE.wait):
        payload, _ = run_step("cold_start", {"data_dir": str(data_dir)}, env)
        if not payload.get("snapshot"):
            return rows + [Row("cold start, exports already prepared", label, "cold",
                               unavailable="the start did not read the snapshot prepare saved")]
        colds.append(payload)
    say(f"{label} cold start from the snapshot: {seconds_text(median(_samples(colds)))}")
    rows.append(Row("cold start, exports already prepared: register sources, attach the model snapshot, default "
                    "as-of, sidebar options", label, "cold", ours=_samples(colds), cpu=_samples(colds, "cpu"),
                    peak_mb=_peak(*(c["peak_mb"] for c in colds))))
    say(f"{label} app process started from the snapshot (first views, page reruns)")
    GATE.wait()
    served, _ = run_step("prepared_session", {"data_dir": str(data_dir), "runs": args.runs,
                                              "budget": args.step_budget, "out_dir": str(out_dir / "prepared")}, env)
    for page in PAGE_QUERIES:
        for kind in FILTER_CHANGES:
            step = f"{page} page: rerun after a {kind} change, exports already prepared (served from the snapshot)"
            measured = served.get("pages", {}).get(page, {}).get(kind)
            if measured is None:
                rows.append(Row(step, label, "rerun", unavailable=served.get("unavailable", "not measured")))
                continue
            rows.append(_rerun_row(step, label, measured, pandas, page, kind))
    backtest = served.get("backtest") or {}
    if backtest and "failed" not in backtest:
        rows.append(Row("churn page: backtest section, first view, exports already prepared (cached after it)", label,
                        "info", ours=backtest["seconds"], cpu=backtest["cpu"], peak_mb=backtest["peak_mb"],
                        note="stored by prepare" if backtest["stored"] else "computed: not stored by prepare"))
    return rows


def _rerun_row(step: str, label: str, measured: dict, pandas: dict | None, page: str, kind: str,
               sidebar: dict | None = None) -> Row:
    """One page's reruns after one kind of change, next to the baseline's; plus the sidebar's median when given
    (the process that built the model runs it on every rerun; the snapshot-served one is measured without)."""
    theirs = (pandas or {}).get("pages", {}).get(page, {}).get(kind)
    ran = sum(1 for value in measured["queries"].values() if value and value > 0)
    note = f"{ran} of {len(measured['queries'])} queries ran, the others were cache hits"
    ours, cpu, peak_mb = measured["seconds"], measured["cpu"], measured["peak_mb"]
    if sidebar is not None:
        sidebar_median = median(sidebar["seconds"])
        note = (f"page queries {seconds_text(median(ours))} + sidebar {seconds_text(sidebar_median)}; " + note)
        ours = [seconds + sidebar_median for seconds in ours]
        cpu = [seconds + median(sidebar["cpu"]) for seconds in cpu]
        peak_mb = _peak(peak_mb, sidebar["peak_mb"])
    return Row(step, label, "rerun", ours=ours, cpu=cpu, peak_mb=peak_mb,
               pandas=theirs["seconds"] if theirs else None, pandas_peak_mb=theirs["peak_mb"] if theirs else None,
               note=note)


def env_state(env: dict) -> Path:
    return Path(env["DASHBOARD_STATE_DIR"])


def check_equal(out_dir: Path, with_report: bool = True) -> list[str]:
    """Our page numbers and JSON report against the pandas baseline's, for the first run of each change.

    The baseline's results are those in out_dir's parent when out_dir has none (the snapshot-served session
    writes ours to a subfolder)."""
    from bench import baseline

    problems = []
    for page in baseline.PANDAS_PAGES:
        for kind in FILTER_CHANGES:
            ours_path, theirs_path = out_dir / f"ours-{page}-{kind}.pkl", out_dir / f"pandas-{page}-{kind}.pkl"
            if not theirs_path.is_file():
                theirs_path = out_dir.parent / theirs_path.name
            if not ours_path.is_file() or not theirs_path.is_file():
                problems.append(f"{page}, {kind}: results missing, not compared")
                continue
            ours = pickle.loads(ours_path.read_bytes())
            theirs = pickle.loads(theirs_path.read_bytes())
            for name, frame in theirs.items():
                if name not in ours:
                    problems.append(f"{page}, {kind}: we did not run {name}")
                    continue
                problems += [f"{page}, {kind}: {problem}" for problem in baseline.compare(name, ours[name], frame)]
    report_paths = out_dir / "ours-report.json", out_dir / "pandas-report.json"
    if with_report and all(path.is_file() for path in report_paths):
        ours, theirs = (json.loads(path.read_text(encoding="utf-8")) for path in report_paths)
        problems += baseline.compare_report(ours, theirs)
    elif with_report:
        problems.append("JSON report: results missing, not compared")
    return problems


def profile_text(label: str, profile: dict) -> list[str]:
    """Where the time goes at one size: cold start parts and model steps, page queries, scores' SQL."""
    lines = [f"### {label} ({profile['orders']:,} orders)", ""]
    colds = profile.get("cold", [])
    if colds:
        lines += ["Cold start, median over runs:", "", "| part | median |", "|---|---:|"]
        for part in colds[0]["parts"]:
            lines.append(f"| {part} | {seconds_text(median([c['parts'][part] for c in colds]))} |")
        for step in colds[0]["model_steps"]:
            lines.append(f"| &nbsp;&nbsp;model step `queries/{step}.sql` | "
                         f"{seconds_text(median([c['model_steps'].get(step) for c in colds]))} |")
        lines.append("")
    queries = profile.get("queries", {})
    if queries:
        lines += ["Page queries on a rerun, median seconds per query (segment change / date-range change):", "",
                  "| page | query | segment | date range |", "|---|---|---:|---:|"]
        for page in PAGE_QUERIES:
            names = list(dict.fromkeys(name for kind in FILTER_CHANGES for name in queries.get((page, kind), {})))
            for name in names:
                values = [queries.get((page, kind), {}).get(name) for kind in FILTER_CHANGES]
                lines.append(f"| {page} | `{name}` | {' | '.join(seconds_text(v) for v in values)} |")
        lines.append("")
    if profile.get("scores_sql"):
        lines += ["SQL files run by the scores step: " + ", ".join(
            f"`{name}` {seconds_text(value)}" for name, value in profile["scores_sql"].items()), ""]
    return lines


def write_results(path: Path, rows: list[Row], profiles: dict, problems: dict, drift: list[str], args,
                  load_before, load_after, elapsed: float, code_before: dict, load_during: str = "") -> str:
    """results.md: machine, targets, the table, the equality check, the profile."""
    command = "python -m bench " + " ".join(
        [f"--sizes {','.join(args.sizes)}", f"--runs {args.runs}", f"--step-budget {args.step_budget:g}"]
        + ([f"--memory-limit {args.memory_limit}"] if args.memory_limit else [])
        + (["--skip-pandas"] if args.skip_pandas else []))
    lines = [
        "# Benchmark results",
        "",
        f"`{command}` on {results.utc_now_text()}, {elapsed / 60:.0f} minutes in all. "
        "Medians over the runs shown; what each step measures is in bench/README.md.",
        "",
        "Machine:",
        "",
        *results.machine_lines(load_before, load_after),
        *([f"- Load average while the benchmark ran (its own processes count about 1-2): {load_during}"]
          if load_during else []),
        f"- Other work: {GATE.summary()}",
        *results.code_lines(code_before, results.code_version()),
        "",
        "## Targets",
        "",
        "Checked at every size of 10M orders or more (the issue states them for 10M on this 2-core machine).",
        "",
        results.targets_summary(rows),
        "",
        "## All steps",
        "",
        results.results_table(rows),
        "",
        "Page reruns are the sidebar's median plus the page's queries (both run on every rerun); "
        "ratio = pandas median / ours; floor ratio = ours / the floor scan at the same size.",
        "",
        "## Same numbers as pandas",
        "",
    ]
    for label, size_problems in problems.items():
        if args.skip_pandas:
            lines.append(f"- {label}: not checked (--skip-pandas)")
        elif size_problems:
            lines.append(f"- {label}: **MISMATCH** — " + "; ".join(size_problems[:20]))
        else:
            lines.append(f"- {label}: every page number the baseline computes and the JSON report equal ours, "
                         "both in the process that built the model and in the one served from the snapshot "
                         "(floats within 1e-9 relative)")
    if drift:
        lines += ["", "Page queries the bench cannot run as the page does (bench/pages.py): " + "; ".join(drift)]
    lines += ["", "## Where the time goes", ""]
    for label, profile in profiles.items():
        lines += profile_text(label, profile)
    text = "\n".join(lines).rstrip() + "\n"
    path.write_text(text, encoding="utf-8")
    return text


class LoadSampler:
    """The 1-minute load average every 15 s while the benchmark runs: how busy the machine was."""

    def __init__(self, every: float = 15.0):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.is_set():
            load = load_average()
            if load is not None:
                self.samples.append(load[0])
            self._stop.wait(every)

    def summary(self) -> str:
        if not self.samples:
            return "not sampled"
        ordered = sorted(self.samples)
        return (f"min {ordered[0]:.1f}, median {median(ordered):.1f}, max {ordered[-1]:.1f} over "
                f"{len(ordered)} samples")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    GATE.max_seconds = args.quiet_wait
    started = time.perf_counter()
    sampler = LoadSampler()
    load_before = load_average()
    code_before = results.code_version()
    state_dir = CACHE_DIR / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    env = child_environment(state_dir, args.memory_limit)
    drift = page_problems()
    for problem in drift:
        say(f"warning: {problem}")
    rows, profiles, problems = [], {}, {}
    for label in args.sizes:
        try:
            size_rows, profiles[label], problems[label] = bench_size(label, args, env)
        except Exception as error:  # keep the sizes already measured; say what broke
            say(f"{label} failed: {type(error).__name__}: {error}")
            rows.append(Row("benchmark run", label, "info", unavailable=f"failed: {type(error).__name__}: {error}"))
            problems[label] = [f"the run failed before the comparison: {error}"]
            continue
        rows += size_rows
        for problem in problems[label]:
            say(f"{label} MISMATCH: {problem}")
        results.evaluate_targets(rows)  # written after every size, so a later failure keeps these
        write_results(args.out, rows, profiles, problems, drift, args, load_before, load_average(),
                      time.perf_counter() - started, code_before, sampler.summary())
    results.evaluate_targets(rows)
    text = write_results(args.out, rows, profiles, problems, drift, args, load_before, load_average(),
                         time.perf_counter() - started, code_before, sampler.summary())
    print(text)
    say(f"wrote {args.out} in {(time.perf_counter() - started) / 60:.1f} minutes")
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
