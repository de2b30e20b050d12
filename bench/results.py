"""The results table: one row per step and size, the targets each row is held to, and results.md."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone

from bench.data import parse_size
from bench.measure import available_memory_mb, median

TARGET_SIZE = 10_000_000  # targets are stated for 10M orders; they are checked at every size of 10M or more
FLOOR_FACTOR = 2.0
RERUN_SECONDS = 0.3
RERUN_SPEEDUP = 10.0
GROWTH_FACTOR = 1.5
SCORES_SECONDS = 60.0
REPORT_SECONDS = 5.0
COLD_REPORT_FACTOR = 0.5  # issue #17: the JSON report on new exports in at most half the pandas script's time


@dataclass
class Target:
    """One target on one row: what it asks, what was measured, and whether it holds (None: not measurable)."""

    label: str
    passed: bool | None
    measured: str


@dataclass
class Row:
    """One step at one size: our samples, the pandas baseline's, peak memory, targets and a note."""

    step: str
    size: str
    kind: str  # floor, cold, rerun, sidebar, report, scores, cli, info
    ours: list[float] | None = None
    cpu: list[float] | None = None
    pandas: list[float] | None = None
    peak_mb: float | None = None
    pandas_peak_mb: float | None = None
    note: str = ""
    unavailable: str | None = None
    targets: list[Target] = field(default_factory=list)
    floor_seconds: float | None = None

    @property
    def ours_median(self) -> float | None:
        return median(self.ours or [])

    @property
    def cpu_median(self) -> float | None:
        return median(self.cpu or [])

    @property
    def pandas_median(self) -> float | None:
        return median(self.pandas or [])

    @property
    def runs(self) -> str:
        if self.unavailable:
            return "–"
        text = str(len(self.ours or []))
        return text + (f" / {len(self.pandas)}" if self.pandas else "")

    @property
    def speedup(self) -> float | None:
        """pandas median / our median: how many times faster we are."""
        if self.ours_median and self.pandas_median:
            return self.pandas_median / self.ours_median
        return None

    @property
    def floor_ratio(self) -> float | None:
        """our median / the floor scan's median at the same size."""
        if self.ours_median is not None and self.floor_seconds:
            return self.ours_median / self.floor_seconds
        return None


def seconds_text(value: float | None) -> str:
    """``0.123 s``, ``12.3 s``, ``3 min 12 s``; ``–`` for nothing."""
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 100:
        return f"{value:.1f} s"
    return f"{int(value // 60)} min {value % 60:.0f} s"


def _times(value: float | None) -> str:
    return "–" if value is None else (f"{value:.1f}x" if value < 100 else f"{value:.0f}x")


def _memory(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1024:.1f} GB" if value >= 1024 else f"{value:.0f} MB"


def evaluate_targets(rows: list[Row]) -> None:
    """Attach the issue's targets to the rows at sizes of 10M orders or more."""
    for row in rows:
        row.targets = []
    smallest = {}
    for row in rows:
        if row.kind == "rerun" and row.ours_median is not None:
            if row.step not in smallest or parse_size(row.size) < parse_size(smallest[row.step].size):
                smallest[row.step] = row
    # The pandas script computing the report's contract metrics (from the Parquet files, in its own process) is
    # timed on the "model warm" report row; the report on new exports is held to a share of it at every size.
    pandas_report = {row.size: row.pandas_median for row in rows if row.kind == "report" and row.pandas_median}
    for row in rows:
        if row.kind == "report" and "new exports" in row.step and row.size in pandas_report:
            ratio = None if row.ours_median is None else row.ours_median / pandas_report[row.size]
            row.targets.append(Target(f"JSON report on new exports <= {COLD_REPORT_FACTOR:g}x the pandas script",
                                      None if ratio is None else ratio <= COLD_REPORT_FACTOR,
                                      "–" if ratio is None else f"{ratio:.2f}x"))
        if parse_size(row.size) < TARGET_SIZE:
            continue
        value = row.ours_median
        if row.kind == "cold":
            ratio = row.floor_ratio
            row.targets.append(Target(f"cold start <= {FLOOR_FACTOR:g}x the floor scan",
                                      None if ratio is None else ratio <= FLOOR_FACTOR, _times(ratio)))
        elif row.kind == "rerun":
            row.targets.append(Target(f"rerun median < {RERUN_SECONDS * 1000:.0f} ms",
                                      None if value is None else value < RERUN_SECONDS, seconds_text(value)))
            speedup = row.speedup
            row.targets.append(Target(f"rerun >= {RERUN_SPEEDUP:g}x faster than pandas",
                                      None if speedup is None else speedup >= RERUN_SPEEDUP,
                                      _times(speedup) if speedup is not None else "no pandas baseline"))
            base = smallest.get(row.step)
            if base is not None and base.size != row.size and value is not None:
                growth = value / base.ours_median
                row.targets.append(Target(f"rerun at {row.size} <= {GROWTH_FACTOR:g}x of {base.size}",
                                          growth <= GROWTH_FACTOR, _times(growth)))
            else:
                row.targets.append(Target(f"rerun <= {GROWTH_FACTOR:g}x of a smaller size", None,
                                          "needs a smaller size in the same run"))
        elif row.kind == "scores":
            row.targets.append(Target(f"scores < {SCORES_SECONDS:g} s",
                                      None if value is None else value < SCORES_SECONDS,
                                      seconds_text(value) if value is not None else (row.unavailable or "–")))
        elif row.kind == "report":
            row.targets.append(Target(f"JSON report < {REPORT_SECONDS:g} s",
                                      None if value is None else value < REPORT_SECONDS, seconds_text(value)))


def _verdict(target: Target) -> str:
    return "n/a" if target.passed is None else ("PASS" if target.passed else "FAIL")


def targets_text(row: Row) -> str:
    """``PASS <= 2x floor (1.4x); FAIL < 300 ms (2.1 s)`` for the table's targets column."""
    return "; ".join(f"{_verdict(t)}: {t.label} ({t.measured})" for t in row.targets) or "–"


def results_table(rows: list[Row]) -> str:
    """The main Markdown table."""
    lines = [
        "| step | size | ours (median) | pandas (median) | ratio (pandas / ours) | floor ratio (ours / floor) "
        "| peak memory ours / pandas | ours CPU time (median) | runs ours / pandas | targets |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if row.unavailable:
            ours = f"not available: {row.unavailable}"
        else:
            ours = seconds_text(row.ours_median)
        memory = _memory(row.peak_mb) + (f" / {_memory(row.pandas_peak_mb)}" if row.pandas_peak_mb else "")
        step = row.step + (f" — {row.note}" if row.note else "")
        lines.append(
            f"| {step} | {row.size} | {ours} | {seconds_text(row.pandas_median)} | {_times(row.speedup)} "
            f"| {_times(row.floor_ratio)} | {memory} | {seconds_text(row.cpu_median)} | {row.runs} "
            f"| {targets_text(row)} |"
        )
    return "\n".join(lines)


def targets_summary(rows: list[Row]) -> str:
    """One line per target and row it applies to, with PASS / FAIL."""
    lines = ["| target | step | size | measured | result |", "|---|---|---|---:|---|"]
    for row in rows:
        for target in row.targets:
            lines.append(f"| {target.label} | {row.step} | {row.size} | {target.measured} | {_verdict(target)} |")
    if len(lines) == 2:
        lines.append("| (no size of 10M orders or more in this run: targets not evaluated) | | | | |")
    return "\n".join(lines)


def machine_lines(load_before, load_after) -> list[str]:
    """The machine the numbers come from."""
    import duckdb
    import pandas as pd
    import pyarrow

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = available_memory_mb()

    def load_text(load):
        return "unknown" if load is None else " / ".join(f"{value:.1f}" for value in load)

    return [
        f"- CPU: {model}, {cores} cores; RAM: {_memory(memory)}; {platform.system()} {platform.release()}",
        f"- Python {sys.version.split()[0]}, DuckDB {duckdb.__version__}, pandas {pd.__version__}, "
        f"pyarrow {pyarrow.__version__}",
        f"- Load average (1/5/15 min) before the run: {load_text(load_before)}; at its end: {load_text(load_after)} "
        f"(work beyond ours on {cores} cores slows every step; CPU time is less affected than wall time)",
    ]


def code_version() -> dict:
    """The git commit, the files changed since it, and a hash of the code the steps run (dashboard/, queries/)."""
    import hashlib
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder in ("dashboard", "queries"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".sql"):
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())

    def git(*arguments) -> str:
        try:
            return subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = [line[3:] for line in git("status", "--porcelain", "--", "dashboard", "queries").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD") or "unknown", "changed": changed,
            "code_hash": digest.hexdigest()[:12]}


def code_lines(before: dict, after: dict) -> list[str]:
    """Which code was measured, and a warning when it changed while the benchmark ran."""
    changed = f" with uncommitted changes to {', '.join(before['changed'])}" if before["changed"] else ""
    lines = [f"- Code: commit {before['commit']}{changed} (dashboard/ and queries/ hash {before['code_hash']})"]
    if after["code_hash"] != before["code_hash"]:
        lines.append(f"- **Warning: dashboard/ or queries/ changed during the run** (hash {before['code_hash']} at "
                     f"start, {after['code_hash']} at the end, commit {after['commit']}): steps started at "
                     "different times may have measured different code. Run again on a quiet tree.")
    return lines


def utc_now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
