"""Checks and the model agree, what is usable keeps working, and nothing under the data folder changes."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from dashboard import cli
from dashboard.checks import Finding
from dashboard.metrics import contract_metrics
from tests.broken_exports import (  # noqa: F401 (fixtures)
    CASES,
    CLEAN,
    broken_export,
    clean_frames,
    open_checked,
    validate_environment,
    write_frames,
)

LATE_AS_OF = date(2024, 12, 31)


def left_out_in_total(findings: list[Finding], table: str) -> int:
    """The row count of a table's 'rows left out in total' finding (0 when there is none)."""
    counts = [f.row_count for f in findings if f.table == table and f.message.startswith("rows left out in total")]
    assert len(counts) <= 1
    return counts[0] if counts else 0


def count(database, sql: str) -> int:
    return database.connection.execute(sql).fetchone()[0]


# The exports where some or all orders are left out, and the clean one.
LEAVING_ROWS_OUT = [CLEAN] + [
    case for case in CASES if any("left out" in e.text or "no usable rows" in e.text for e in case.expected)
]


@pytest.mark.parametrize("case", LEAVING_ROWS_OUT, ids=lambda case: case.name)
def test_usable_rows_equal_raw_rows_minus_rows_reported_left_out(case, broken_export, open_checked):
    database = open_checked(broken_export(case.name))
    findings = database.findings()
    for table, source in database.catalog.tables.items():
        if not source.is_usable:
            continue
        raw, usable = database.connection.execute(
            f"select (select count(*) from raw_{table}), (select count(*) from clean_{table})"
        ).fetchone()
        assert raw == source.row_count
        if table == "orders" and usable == 0:
            assert Finding("ERROR", "orders", "", "no usable rows: every metric is empty", raw) in findings
        else:
            assert raw - usable == left_out_in_total(findings, table), table


def test_overlapping_problems_are_counted_once_in_the_total(tmp_path, open_checked):
    frames = clean_frames()
    orders = frames["orders"]
    orders["order_id"] = ["o1", None, "o3", "o3", "o5", "o6"]
    orders["customer_id"] = ["c1", None, "c2", "c2", "c3", "c3"]  # row 2: no order_id and no customer_id
    orders["ordered_at"] = orders["ordered_at"].astype(object)
    orders.loc[2, "ordered_at"] = None  # the first copy of o3 is unusable, so the second is not a duplicate
    frames["orders"] = orders
    frames["surveys"] = frames["surveys"].assign(kind=["nps", None, "csat"], score=[9, 99, 4])
    database = open_checked(write_frames(tmp_path / "overlap", frames))
    lines = sorted(finding.line() for finding in database.findings())
    assert lines == sorted([
        "WARN orders.order_id: missing order_id (null or empty), rows left out (1 rows)",
        "WARN orders.customer_id: missing customer_id (null or empty), rows left out (1 rows)",
        "WARN orders.ordered_at: missing or unreadable timestamp, rows left out (1 rows)",
        "WARN orders: rows left out in total, 4 of 6 used (2 rows)",
        "WARN surveys.kind: unknown survey kind (expected nps or csat), rows left out (1 rows)",
        "WARN surveys: rows left out in total, 2 of 3 used (1 rows)",
    ])
    assert count(database, "select count(*) from clean_orders") == 4
    assert count(database, "select count(*) from clean_orders where order_id = 'o3'") == 1


def test_open_tickets_are_kept(broken_export, open_checked):
    database = open_checked(broken_export(CLEAN.name))
    assert database.findings() == []
    assert count(database, "select count(*) from clean_tickets") == 2
    cursor = database.cursor(LATE_AS_OF)
    assert cursor.execute("select ticket_id, is_resolved from valid_tickets order by ticket_id").fetchall() == [
        ("t1", True), ("t2", False)
    ]


@pytest.mark.parametrize("name", ["empty_file", "truncated_parquet", "not_parquet", "corrupt_data_pages"])
def test_a_broken_second_file_leaves_the_first_usable(name, broken_export, open_checked):
    data_dir = broken_export(name)
    database = open_checked(data_dir)
    orders = database.catalog.tables["orders"]
    assert orders.is_usable and orders.files == [data_dir / "orders" / "part-0.parquet"]
    assert orders.row_count == 3
    cursor = database.cursor(LATE_AS_OF)
    assert cursor.execute("select order_id from valid_orders order by order_id").fetchall() == [
        ("o1",), ("o2",), ("o3",)
    ]
    assert contract_metrics(cursor)["revenue"] == 215.5


def test_a_bad_optional_table_leaves_the_orders_metrics(broken_export, open_checked):
    database = open_checked(broken_export("bad_optional_table"))
    assert not database.catalog.tables["surveys"].is_usable
    metrics = contract_metrics(database.cursor(date(2024, 6, 30)))
    assert (metrics["customers"], metrics["orders"], metrics["revenue"]) == (3, 5, 290.5)
    assert metrics["nps_responses_90d"] == 0 and metrics["nps_90d"] is None


def test_long_and_control_character_text_is_read_as_it_is(broken_export, open_checked):
    database = open_checked(broken_export("awkward_strings"))
    assert database.findings() == []
    rows = database.connection.execute(
        "select order_id, customer_id, length(channel) from clean_orders where order_id in ('o1', 'o3')"
        " order by order_id"
    ).fetchall()
    assert rows == [("o1", "c1🙂", 100_000), ("o3", "c2\x00\x1b[31m", 12)]
    assert contract_metrics(database.cursor(LATE_AS_OF))["customers"] == 3


def snapshot(folder: Path) -> dict[str, tuple]:
    """SHA-256 and mtime of every file, and the mtime of every folder, under folder."""
    if not folder.exists():
        return {}
    entries = {".": ("folder", folder.stat().st_mtime_ns)}
    for path in sorted(folder.rglob("*")):
        stat = path.stat()
        content = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        entries[path.relative_to(folder).as_posix()] = (content, stat.st_mtime_ns)
    return entries


@pytest.mark.parametrize(
    "name",
    ["clean", "corrupt_data_pages", "invalid_mapping_toml", "bookkeeping_files", "data_folder_is_a_file"],
)
def test_nothing_under_the_data_folder_changes(name, broken_export, open_checked, validate_environment, capsys):
    data_dir = broken_export(name)
    folder = data_dir if data_dir.is_dir() else data_dir.parent
    before = snapshot(folder)
    assert before
    cli.main(["validate", "--data", str(data_dir)])
    database = open_checked(data_dir)
    database.findings()
    if database.has_orders:
        contract_metrics(database.cursor(LATE_AS_OF))
    assert snapshot(folder) == before


def test_finding_lines_escape_control_characters_and_cut_long_names():
    finding = Finding("WARN", "orders", "a\nb" + "x" * 500, "value '\x1b[31m' left out\r", 1234)
    line = finding.line()
    assert line.isprintable() and "\n" not in line
    assert line.startswith("WARN orders.a\\nb" + "x" * 117 + "…: value '\\x1b[31m' left out\\r")
    assert line.endswith("(1,234 rows)")


def test_checks_never_raise_on_a_table_that_breaks_after_registration(broken_export, open_checked):
    """A file replaced after the views were made: the check reports an ERROR instead of raising."""
    data_dir = broken_export(CLEAN.name)
    database = open_checked(data_dir)
    (data_dir / "surveys.parquet").write_bytes(b"not parquet any more")
    surveys = [finding for finding in database.findings() if finding.table == "surveys"]
    assert [finding.level for finding in surveys] == ["ERROR"]
    assert surveys[0].message.startswith("cannot be checked: ")

