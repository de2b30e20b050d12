"""The JSON report on new exports against the pandas script, both run the same way: a fresh process each.

    python -m bench.cold_report                     # 1M and 10M orders, 3 runs each
    python -m bench.cold_report --sizes 1M --runs 5

Issue #17 holds the JSON report on new exports (``python -m dashboard report --format json``, which builds the
model from the exports) to at most half the time of "a plain pandas script computing the same contract metrics".
``python -m bench`` times that script inside its pandas session: after the interpreter has started and imported
pandas, and after the page reruns of that session had already made the process's memory its own, while our
command is timed from a fresh interpreter on. On these VMs, where about half of a cold run's CPU at 10M orders is
the kernel's, most of it for memory the process touches for the first time (bench/README.md), the two are not
measured alike.

Here both are whole processes started the same way (``bench.runner.run_process``: wall time, CPU and peak RSS from
``wait4``), one after the other in each run, which one goes first alternating from run to run, each after waiting
for the machine to be quiet. The pandas script is ``python -m bench.cold_report --pandas DIR``: it reads the
Parquet exports and computes the report's contract metrics (``bench.baseline.report_numbers``, the code the main
benchmark times) and writes them as JSON. Both answers are compared (``baseline.compare_report``): a run whose
numbers differ is reported as such. Results go to bench/cold-report-results.md, one section per size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bench.data import ensure_exports
from bench.load import with_section
from bench.measure import median, wait_for_quiet
from bench.runner import PROJECT_ROOT, child_environment, run_cli, run_process

RESULTS = PROJECT_ROOT / "bench" / "cold-report-results.md"
TARGET = 0.5  # issue #17: the report on new exports in at most half the pandas script's time


def pandas_script(data_dir: Path, out: Path) -> None:
    """The pandas script: read the exports, apply the contract's rules, compute the report's numbers."""
    from bench import baseline

    model = baseline.load(data_dir, with_surveys=True)
    out.write_text(json.dumps(baseline.report_numbers(model)), encoding="utf-8")


def measure(label: str, runs: int, quiet_wait: float, scratch_root: Path | None = None) -> dict:
    """``runs`` alternating runs of our command and the pandas script on the exports of one size; their outputs
    and state folders go to a temporary folder in ``scratch_root`` (default bench/cache), removed at the end."""
    from bench import baseline

    data_dir, stamp = ensure_exports(label)
    samples: dict[str, list] = {"ours": [], "pandas": []}
    problems: list[str] = []
    not_quiet = 0  # processes started while other work still wanted the CPU (after waiting quiet_wait seconds)
    scratch_root = scratch_root or PROJECT_ROOT / "bench" / "cache"
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cold-report-", dir=scratch_root) as scratch:
        scratch = Path(scratch)
        for run in range(runs):
            for who in (("ours", "pandas") if run % 2 == 0 else ("pandas", "ours")):
                not_quiet += not wait_for_quiet(quiet_wait)[1]
                out = scratch / f"{who}-{run}.json"
                if who == "ours":
                    state = scratch / f"state-{run}"  # new exports: no snapshot, nothing built before
                    state.mkdir()
                    result = run_cli(["report", "--data", str(data_dir), "--format", "json", "--out", str(out)],
                                     child_environment(state, None))
                else:
                    result = run_process([sys.executable, "-m", "bench.cold_report", "--pandas", str(data_dir),
                                          "--out", str(out)], child_environment(scratch, None))
                if result.returncode != 0:
                    raise SystemExit(f"{who} failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")
                samples[who].append(result)
                print(f"{label} run {run + 1} {who}: {result.seconds:.1f} s", file=sys.stderr, flush=True)
            ours, theirs = (json.loads((scratch / f"{who}-{run}.json").read_text(encoding="utf-8"))
                            for who in ("ours", "pandas"))
            problems += [f"run {run + 1}: {problem}" for problem in baseline.compare_report(ours, theirs)]
    return {"label": label, "orders": stamp["counts"]["orders"], "samples": samples, "problems": problems,
            "runs": runs, "quiet_wait": quiet_wait, "not_quiet": not_quiet}


def section(result: dict) -> str:
    label, samples = result["label"], result["samples"]
    ours = median([sample.seconds for sample in samples["ours"]])
    theirs = median([sample.seconds for sample in samples["pandas"]])
    ratio = ours / theirs
    lines = [
        f"## {label}",
        "",
        f"`python -m bench.cold_report --sizes {label} --runs {result['runs']} --quiet-wait {result['quiet_wait']:g}` "
        f"on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {result['orders']:,} orders, "
        f"{len(samples['ours'])} runs of each, alternating which goes first; "
        f"{result['not_quiet']} of {2 * len(samples['ours'])} processes started while other work was still running.",
        "",
        "| run | ours: `python -m dashboard report --format json`, new exports | the pandas script |",
        "|---:|---|---|",
    ]
    for run, (mine, pandas) in enumerate(zip(samples["ours"], samples["pandas"]), start=1):
        lines.append("| " + " | ".join([str(run), *(
            f"{sample.seconds:.1f} s (CPU {sample.cpu:.1f} s, {sample.system:.1f} s of it system; peak RSS "
            f"{sample.peak_mb / 1024:.1f} GB)" for sample in (mine, pandas))]) + " |")
    verdict = "met" if ratio <= TARGET else "missed"
    lines += [
        f"| median | **{ours:.1f} s** | **{theirs:.1f} s** |",
        "",
        f"Ours / pandas, the medians: **{ratio:.2f}x** (target at most {TARGET:g}x: **{verdict}**). "
        + ("Every run's numbers equal the pandas script's." if not result["problems"]
           else "Numbers that differ: " + "; ".join(result["problems"][:10])),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_report", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,10M", help="orders per export, comma-separated (default 1M,10M)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--quiet-wait", type=float, default=60, help="seconds to wait for a quiet machine before "
                                                                     "each process (default 60)")
    parser.add_argument("--pandas", type=Path, help=argparse.SUPPRESS)  # run the pandas script on this folder
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pandas:
        pandas_script(args.pandas, args.out)
        return 0
    for label in args.sizes.split(","):
        result = measure(label.strip(), args.runs, args.quiet_wait)
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        if not text.strip():
            text = "# The JSON report on new exports against the pandas script, each in a fresh process\n\n"
        RESULTS.write_text(with_section(text, f"## {result['label']}", section(result)), encoding="utf-8")
        print(section(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
