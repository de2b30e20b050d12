"""Timing and memory helpers shared by the parent and the child processes."""

from __future__ import annotations

import os
import resource
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


def peak_rss_mb() -> float | None:
    """This process's peak resident memory since start or the last ``reset_peak_rss`` (VmHWM), in MB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Start a new peak (Linux: write 5 to /proc/self/clear_refs); False when the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Timing:
    """Wall and CPU seconds of one timed block, and the peak RSS while it ran."""

    seconds: float = 0.0
    cpu: float = 0.0
    peak_mb: float | None = None


@contextmanager
def timed(reset_peak: bool = True):
    """Time a block: ``with timed() as timing: ...`` then ``timing.seconds``, ``timing.peak_mb``."""
    timing = Timing()
    if reset_peak:
        reset_peak_rss()
    cpu_start, started = cpu_seconds(), time.perf_counter()
    try:
        yield timing
    finally:
        timing.seconds = time.perf_counter() - started
        timing.cpu = cpu_seconds() - cpu_start
        timing.peak_mb = peak_rss_mb()


def median(values) -> float | None:
    """The median, or None for no values."""
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


@dataclass
class Repeats:
    """Runs of one step until ``runs`` are done or ``budget_seconds`` of wall time are spent (at least one)."""

    runs: int
    budget_seconds: float
    before: object = None  # called before each run, outside the budget (e.g. waiting for a quiet machine)
    spent: float = 0.0
    done: int = 0
    samples: list = field(default_factory=list)

    def __iter__(self):
        for run in range(self.runs):
            if run > 0 and self.spent >= self.budget_seconds:
                return
            if self.before is not None:
                self.before()
            started = time.perf_counter()
            yield run
            self.spent += time.perf_counter() - started
            self.done += 1


def available_memory_mb() -> float | None:
    """MemTotal of this machine in MB."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def other_runnable(samples: int = 5, interval: float = 0.2) -> float:
    """How many other threads want a CPU right now, averaged over ``samples`` readings of /proc/loadavg."""
    counts = []
    for _ in range(samples):
        try:
            with open("/proc/loadavg", encoding="ascii") as loadavg:
                running = int(loadavg.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0.0
        counts.append(running - 1)  # this process, reading
        time.sleep(interval)
    return sum(counts) / len(counts)


def wait_for_quiet(max_seconds: float, threshold: float = 0.5) -> tuple[float, bool]:
    """Wait until no other work wants the CPU (at most max_seconds); (seconds waited, whether it got quiet)."""
    started = time.perf_counter()
    while True:
        if other_runnable() < threshold:
            return time.perf_counter() - started, True
        if time.perf_counter() - started >= max_seconds:
            return time.perf_counter() - started, False
        time.sleep(3)
