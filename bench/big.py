"""``python -m bench.big --size 100M --memory-limit 10GB``: the documented large run, the steps that matter at scale.

The full benchmark (``python -m bench``) at 100M orders takes hours: every command-line step builds the model
from the exports again, and the pandas baseline cannot hold the data. This runs, once each, what a deployment
does at that size: the floor scan, the first start on new exports, ``prepare`` (model, every aggregate, the
churn scores, the snapshot), a start from the snapshot, every page's reruns in a process started from it, and
the JSON report from the command line. Every process gets ``--memory-limit`` as DuckDB's ``memory_limit``;
its peak RSS is reported, so the table shows whether it stayed inside the limit the issue sets (16 GB).
Writes ``bench/results-<size>.md``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from bench.data import CACHE_DIR, ensure_exports
from bench.measure import median
from bench.results import seconds_text
from bench.runner import child_environment, run_cli, run_step

BENCH_DIR = Path(__file__).resolve().parent


def say(message: str) -> None:
    print(f"bench.big: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.big", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100M", help="orders in the export (default 100M)")
    parser.add_argument("--memory-limit", default="10GB", help="DuckDB memory_limit for every process (default 10GB)")
    parser.add_argument("--runs", type=int, default=3, help="reruns per page and filter change (default 3)")
    parser.add_argument("--from-snapshot", action="store_true",
                        help="keep the rows and the snapshot of the last run (same code) and run only the steps "
                             "after the start from the snapshot: the reruns served from it and the report")
    args = parser.parse_args(argv)
    from bench import results

    args.code = results.code_version()
    data_dir, stamp = ensure_exports(args.size)
    state = CACHE_DIR / f"state-{args.size}"
    if not args.from_snapshot:
        shutil.rmtree(state / "snapshots", ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    cold_env = child_environment(state, args.memory_limit)
    warm_env = child_environment(state, args.memory_limit, snapshots=True)
    out_dir = CACHE_DIR / "out" / args.size
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str]] = _previous_rows(args.size) if args.from_snapshot else []

    def record(step: str, seconds: float | None, peak_mb: float | None, note: str = "") -> None:
        peak = "–" if peak_mb is None else f"{peak_mb / 1024:.1f} GB"
        rows.append((step, seconds_text(seconds), peak + (f" ({note})" if note else "")))
        say(f"{step}: {seconds_text(seconds)}, peak {peak}")
        write(args, stamp, rows)

    if args.from_snapshot:
        return _served_and_report(args, data_dir, warm_env, out_dir, record)
    floor, _ = run_step("floor", {"data_dir": str(data_dir), "memory_limit": args.memory_limit,
                                  "temp_dir": str(state / "floor_tmp")}, cold_env)
    record("floor: one DuckDB scan aggregating orders by customer", floor["seconds"], floor["peak_mb"])
    cold, _ = run_step("cold_start", {"data_dir": str(data_dir)}, cold_env)
    record("cold start, new exports (builds the model)", cold["seconds"], cold["peak_mb"],
           f"{cold['seconds'] / floor['seconds']:.1f}x the floor")
    prepared = run_cli(["prepare", "--data", str(data_dir)], warm_env)
    if prepared.returncode != 0:
        record("prepare (CLI)", None, prepared.peak_mb, f"failed: {prepared.stderr.strip().splitlines()[-1:]}")
        return 1
    snapshot_mb = sum(path.stat().st_size for path in (state / "snapshots").glob("model-*.duckdb")) / 1e6
    warnings = [line for line in prepared.stderr.splitlines() if line.startswith("warning:")]
    record("prepare (CLI): model, every aggregate, churn scores, snapshot", prepared.seconds, prepared.peak_mb,
           f"snapshot file {snapshot_mb:,.0f} MB" + (f"; {len(warnings)} warning(s), the first: {warnings[0][:300]}"
                                                     if warnings else ""))
    restart, _ = run_step("cold_start", {"data_dir": str(data_dir)}, warm_env)
    record("cold start, exports already prepared (reads the snapshot)", restart["seconds"], restart["peak_mb"],
           f"{restart['seconds'] / floor['seconds']:.1f}x the floor")
    return _served_and_report(args, data_dir, warm_env, out_dir, record)


def _served_and_report(args, data_dir: Path, warm_env: dict, out_dir: Path, record) -> int:
    """Every page's first view and reruns in a process started from the snapshot, then the JSON report."""
    served, _ = run_step("prepared_session", {"data_dir": str(data_dir), "runs": args.runs, "budget": 1e9,
                                              "out_dir": str(out_dir / "prepared")}, warm_env)
    if "unavailable" in served:
        record("pages served from the snapshot", None, None, served["unavailable"])
        return 1
    for page, first in served.get("first_views", {}).items():
        if "failed" in first:
            record(f"{page} page: first view, served from the snapshot", None, None, f"failed: {first['failed']}")
        else:
            record(f"{page} page: first view, served from the snapshot", first["seconds"][0], first["peak_mb"])
    backtest = served.get("backtest", {})
    if "failed" in backtest:
        record("churn page: backtest section, first view", None, None, f"failed: {backtest['failed']}")
    elif backtest:
        record("churn page: backtest section, first view", backtest["seconds"][0], backtest["peak_mb"],
               "stored by prepare" if backtest["stored"] else "computed: not stored by prepare")
    for page, kinds in served.get("pages", {}).items():
        for kind, measured in kinds.items():
            record(f"{page} page: rerun after a {kind} change, served from the snapshot",
                   median(measured["seconds"]), measured["peak_mb"], f"median of {len(measured['seconds'])}")
    report = run_cli(["report", "--data", str(data_dir), "--format", "json", "--out", str(out_dir / "report.json")],
                     warm_env)
    record("JSON report, CLI end to end, exports already prepared", report.seconds if report.returncode == 0 else None,
           report.peak_mb, "" if report.returncode == 0 else f"exit {report.returncode}")
    return 0


def _previous_rows(size: str) -> list[tuple[str, str, str]]:
    """The table rows of the last results-<size>.md (what --from-snapshot keeps)."""
    path = BENCH_DIR / f"results-{size}.md"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    table = [line for line in lines if line.startswith("| ") and not line.startswith("| step |")]
    return [tuple(cell.strip() for cell in line.strip("|").split(" | ", 2)) for line in table]


def write(args, stamp: dict, rows: list[tuple[str, str, str]]) -> None:
    """bench/results-<size>.md, rewritten after every step so a stopped run keeps what it measured."""
    from bench import results
    from bench.measure import load_average

    counts = stamp["counts"]
    lines = [f"# Benchmark at {args.size} orders", "",
             f"`python -m bench.big --size {args.size} --memory-limit {args.memory_limit}"
             f"{' --from-snapshot' if args.from_snapshot else ''}` on "
             f"{results.utc_now_text()}: {counts['orders']:,} orders, {counts['customers']:,} customers. "
             "One run per step (see bench/big.py for what each step is).", "", "Machine:", "",
             *results.machine_lines(load_average(), load_average()), *results.code_lines(args.code, args.code),
             *([f"- `--from-snapshot`: the rows up to the start from the snapshot are kept from the run before, "
                f"on the same dashboard/ and queries/ hash"] if args.from_snapshot else []),
             "", "| step | time | peak memory (RSS) |", "|---|---:|---|",
             *[f"| {step} | {time} | {peak} |" for step, time, peak in rows]]
    (BENCH_DIR / f"results-{args.size}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
