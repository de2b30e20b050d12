"""Freshness and drift: is the newest order recent, and did a table shrink against the last load?

The row counts of each load (one per data version) are remembered in ``<state_dir>/loads.json``
so the next load can be compared with it. Nothing is written to the data folder.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import date, datetime
from pathlib import Path

from dashboard.checks import Finding

_LOCK = threading.Lock()
MAX_LOADS_KEPT = 50


def freshness_findings(latest_order: date | None, today: date, stale_after_days: int) -> list[Finding]:
    """A WARN when the newest valid order is older than ``stale_after_days``."""
    if latest_order is None:
        return []
    age = (today - latest_order).days
    if age > stale_after_days:
        return [Finding("WARN", "orders", "ordered_at",
                        f"newest order is {age} days old (on {latest_order}); the limit is {stale_after_days} days: "
                        "the export may be stale")]
    return []


def findings_for_age(database) -> list[Finding]:
    """Freshness findings of an open Database (its latest order against the day it was opened)."""
    return freshness_findings(database.latest_order_date(), database.opened_at.date(),
                              database.settings.stale_after_days)


def _loads_path(state_dir: Path, data_dir: Path) -> Path:
    import hashlib

    folder_key = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(state_dir) / "loads" / f"{folder_key}.json"


def previous_loads(state_dir: Path, data_dir: Path) -> list[dict]:
    """Recorded loads of this data folder, oldest first."""
    path = _loads_path(state_dir, data_dir)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def drift_findings_and_record(state_dir: Path, data_dir: Path, fingerprint: str, row_counts: dict[str, int],
                              warn_share: float, now: datetime) -> list[Finding]:
    """Compare row counts with the last load of another data version, then remember this load.

    A WARN for each table whose rows dropped by more than ``warn_share`` (e.g. 0.2 = 20%).
    """
    with _LOCK:
        loads = previous_loads(state_dir, data_dir)
        earlier = [load for load in loads if load["fingerprint"] != fingerprint]
        findings = []
        if earlier:
            last = earlier[-1]
            for table, rows in row_counts.items():
                before = last["row_counts"].get(table, 0)
                if before > 0 and rows < before * (1 - warn_share):
                    findings.append(Finding(
                        "WARN", table, "",
                        f"row count dropped {1 - rows / before:.0%} against the last load of {last['loaded_at'][:16]} "
                        f"({before:,} -> {rows:,}); the limit is {warn_share:.0%}", before - rows))
        if not any(load["fingerprint"] == fingerprint for load in loads):
            loads.append({"fingerprint": fingerprint, "loaded_at": now.isoformat(timespec="seconds"),
                          "row_counts": row_counts})
            _write_json(_loads_path(state_dir, data_dir), loads[-MAX_LOADS_KEPT:])
        return findings


def _write_json(path: Path, value) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as handle:
            json.dump(value, handle)
        os.replace(handle.name, path)
    except OSError:
        pass  # drift tracking is best effort: a read-only state folder must not break the dashboard
