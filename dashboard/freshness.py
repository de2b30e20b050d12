"""Freshness, drift and completeness: is the newest order recent, did a table shrink against the last load,
and could every file of each table be read?

The row counts of each load (one per data version), and which tables were incomplete, are remembered in
``<state_dir>/loads/<folder key>.json`` so the next load can be compared with it. Nothing is written to the
data folder.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import date, datetime
from pathlib import Path

from dashboard.findings import Finding

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


def last_complete_load(state_dir: Path, data_dir: Path, fingerprint: str, table: str) -> dict | None:
    """The last recorded load of another data version in which every file of table could be read."""
    for load in reversed(previous_loads(state_dir, data_dir)):
        if (load.get("fingerprint") != fingerprint and table in load.get("row_counts", {})
                and table not in load.get("incomplete", [])):
            return load
    return None


def incomplete_messages(catalog, state_dir: Path) -> dict[str, str]:
    """For each table some of whose files could not be read: the sentence every page, the weekly report and the
    commands show, e.g. ``orders is incomplete: orders/part-1.parquet could not be read; numbers exclude it (the
    last complete load, 2024-05-01 10:00, had 131,450 rows; 67,391 are read now)``.
    """
    messages = {}
    for table, source in catalog.tables.items():
        if not source.is_incomplete:
            continue
        files = catalog.unreadable_files_text(table)
        message = f"{table} is incomplete: {files} could not be read; numbers exclude "
        message += "it" if len(source.unreadable) == 1 else "them"
        last = last_complete_load(state_dir, catalog.data_dir, catalog.fingerprint, table)
        if last is not None:
            message += (f" (the last complete load, {last['loaded_at'][:16].replace('T', ' ')}, had "
                        f"{last['row_counts'][table]:,} rows; {source.row_count:,} are read now)")
        messages[table] = message
    return messages


def incomplete_findings(catalog, state_dir: Path) -> list[Finding]:
    """An ERROR for each incomplete table (see ``incomplete_messages``), with the rows missing against the last
    complete load when there is one."""
    findings = []
    for table, message in incomplete_messages(catalog, state_dir).items():
        last = last_complete_load(state_dir, catalog.data_dir, catalog.fingerprint, table)
        missing = None if last is None else max(last["row_counts"][table] - catalog.tables[table].row_count, 0)
        findings.append(Finding("ERROR", table, "", message.split(" is ", 1)[1], missing))
    return findings


def drift_findings_and_record(state_dir: Path, data_dir: Path, fingerprint: str, row_counts: dict[str, int],
                              warn_share: float, now: datetime, incomplete: list[str] = ()) -> list[Finding]:
    """Compare row counts with the last load of another data version, then remember this load (and which tables
    were incomplete, so a later incomplete load is compared with the last complete one).

    A WARN for each table whose rows dropped by more than ``warn_share`` (e.g. 0.2 = 20%); an incomplete table's
    drop is part of its ERROR instead (``incomplete_findings``).
    """
    with _LOCK:
        loads = previous_loads(state_dir, data_dir)
        earlier = [load for load in loads if load["fingerprint"] != fingerprint]
        findings = []
        if earlier:
            last = earlier[-1]
            for table, rows in row_counts.items():
                if table in incomplete:
                    continue
                before = last["row_counts"].get(table, 0)
                if before > 0 and rows < before * (1 - warn_share):
                    findings.append(Finding(
                        "WARN", table, "",
                        f"row count dropped {1 - rows / before:.0%} against the last load of {last['loaded_at'][:16]} "
                        f"({before:,} -> {rows:,}); the limit is {warn_share:.0%}", before - rows))
        if not any(load["fingerprint"] == fingerprint for load in loads):
            loads.append({"fingerprint": fingerprint, "loaded_at": now.isoformat(timespec="seconds"),
                          "row_counts": row_counts, "incomplete": sorted(incomplete)})
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
