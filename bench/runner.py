"""Run a step in a fresh process and measure it from outside: wall time, CPU time, peak RSS (wait4)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ProcessResult:
    """One finished child: its wall seconds, CPU seconds and peak RSS (MB), exit code and output."""

    seconds: float
    cpu: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str
    system: float = 0.0  # of ``cpu``, the seconds spent in the kernel (page faults, reading files)

    @property
    def payload(self) -> dict:
        """The JSON object a ``bench.child`` step printed on its last line."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if self.returncode != 0 or not lines:
            raise RuntimeError(f"step failed (exit {self.returncode}): {self.stderr.strip()[-800:]}")
        return json.loads(lines[-1])


def child_environment(state_dir: Path, memory_limit: str | None, snapshots: bool = False) -> dict:
    """The environment of every child: no settings file, our state folder, the memory limit if any.

    Model snapshots are off unless asked for: a step then builds from the exports, as the first start on a new
    export does; the steps that measure a start on exports already prepared turn them on.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("DASHBOARD_")}
    env["DASHBOARD_SETTINGS"] = str(state_dir / "no-settings-file.toml")  # absent: defaults only
    env["DASHBOARD_STATE_DIR"] = str(state_dir)
    env["DASHBOARD_MODEL_SNAPSHOTS"] = "1" if snapshots else "0"
    if memory_limit:
        env["DASHBOARD_MEMORY_LIMIT"] = memory_limit
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_process(argv: list[str], env: dict, timeout: float | None = None, show_stderr: bool = False) -> ProcessResult:
    """Run argv to completion; its own peak RSS and CPU come from wait4 on its pid (not RUSAGE_CHILDREN,
    which keeps the maximum over every child so far)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=None if show_stderr else subprocess.PIPE, text=True, start_new_session=True)
    timer = None
    if timeout:
        timer = threading.Timer(timeout, lambda: os.killpg(process.pid, signal.SIGKILL))
        timer.daemon = True
        timer.start()
    stderr_chunks: list[str] = []
    reader = None
    if not show_stderr:
        reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()), daemon=True)
        reader.start()
    stdout = process.stdout.read()
    if reader:
        reader.join()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if timer:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return ProcessResult(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode,
                         stdout, "".join(stderr_chunks), usage.ru_stime)


def run_step(step: str, arguments: dict, env: dict, timeout: float | None = None) -> tuple[dict, ProcessResult]:
    """Run ``python -m bench.child STEP`` and return its JSON result and the process measurements."""
    argv = [sys.executable, "-m", "bench.child", step, json.dumps(arguments)]
    result = run_process(argv, env, timeout=timeout, show_stderr=True)
    return result.payload, result


def run_cli(arguments: list[str], env: dict, timeout: float | None = None) -> ProcessResult:
    """Run ``python -m dashboard ARGS`` end to end (interpreter start and imports included)."""
    return run_process([sys.executable, "-m", "dashboard", *arguments], env, timeout=timeout)
