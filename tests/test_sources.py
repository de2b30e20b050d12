"""The contract mechanics: where files are found, how columns are mapped and how values are read."""

from __future__ import annotations

import re
from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from dashboard.settings import PROJECT_ROOT
from dashboard.sources import CONTRACT, conversion_sql, find_table_files, register_sources
from tests.broken_exports import (
    SHOPIFY_MAPPING,
    build,
    clean_frames,
    shopify_frames,
    write_frames,
    write_parquet,
)


def register(data_dir, time_zone: str = "UTC"):
    """A fresh connection (session time zone as given) with the exports registered: (connection, catalog)."""
    con = duckdb.connect()
    con.execute(f"set TimeZone = '{time_zone}'")
    return con, register_sources(con, data_dir)


def problems(catalog) -> list[str]:
    return [finding.line() for finding in catalog.findings if finding.level != "INFO"]


def test_mapping_toml_renames_shopify_like_columns(tmp_path):
    data_dir = write_frames(tmp_path / "shop", shopify_frames())
    (data_dir / "mapping.toml").write_text(SHOPIFY_MAPPING)
    con, catalog = register(data_dir)
    assert problems(catalog) == []
    assert catalog.tables["orders"].columns["ordered_at"][0] == "Created at"
    expected = clean_frames()["orders"][["order_id", "customer_id", "ordered_at", "revenue"]]
    actual = con.execute("select order_id, customer_id, ordered_at, revenue from orders order by order_id").df()
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


def test_mapping_toml_unknown_names_are_warned_and_ignored(tmp_path):
    data_dir = write_frames(tmp_path / "shop", clean_frames())
    (data_dir / "mapping.toml").write_text('[orderz]\norder_id = "Name"\n\n[orders]\ntotal = "Total"\n')
    _, catalog = register(data_dir)
    assert problems(catalog) == [
        "WARN mapping.toml.orderz: unknown table in mapping, ignored",
        "WARN mapping.toml.orders.total: not a contract column, ignored",
    ]
    assert catalog.tables["orders"].is_usable


def test_column_names_in_another_case_are_accepted(tmp_path):
    orders = clean_frames()["orders"].rename(
        columns={"order_id": "Order_ID", "customer_id": "CUSTOMER_ID", "ordered_at": "Ordered_At", "revenue": "Revenue"}
    )
    con, catalog = register(write_frames(tmp_path / "case", {**clean_frames(), "orders": orders}))
    assert problems(catalog) == []
    assert con.execute("select order_id, revenue from orders where customer_id = 'c2' order by 1").fetchall() == [
        ("o3", 75.5), ("o4", 20.0)
    ]


def test_zone_aware_timestamps_are_converted_to_utc_and_naive_ones_taken_as_utc(tmp_path):
    """One file in Berlin time, one naive, read in a session whose own zone is New York."""
    data_dir = tmp_path / "zones"
    orders = clean_frames()["orders"]
    aware = orders.iloc[:3].assign(
        ordered_at=pd.to_datetime(["2024-01-05 11:00", "2024-07-10 14:00", "2024-01-20 09:00"])
        .tz_localize("Europe/Berlin")
    )
    write_parquet(data_dir / "orders" / "part-aware.parquet", aware)
    write_parquet(data_dir / "orders" / "part-naive.parquet", orders.iloc[3:])
    con, catalog = register(data_dir, time_zone="America/New_York")
    assert problems(catalog) == []
    assert con.execute("select order_id, ordered_at from orders order by order_id").fetchall() == [
        ("o1", datetime(2024, 1, 5, 10, 0)),  # CET is UTC+1
        ("o2", datetime(2024, 7, 10, 12, 0)),  # CEST is UTC+2
        ("o3", datetime(2024, 1, 20, 8, 0)),
        ("o4", datetime(2024, 3, 2, 9, 30)),
        ("o5", datetime(2024, 2, 1, 18, 0)),
        ("o6", datetime(2024, 4, 15, 20, 0)),
    ]


def test_hive_partitioned_nested_folders_are_one_table(tmp_path):
    data_dir = tmp_path / "hive"
    orders = clean_frames()["orders"]
    months = orders["ordered_at"].dt.month
    for month in sorted(months.unique()):
        write_parquet(data_dir / "orders" / "year=2024" / f"month={month:02d}" / "part-0.parquet",
                      orders[months == month])
    con, catalog = register(data_dir)
    assert problems(catalog) == []
    assert len(catalog.tables["orders"].files) == 4
    assert con.execute("select count(*), sum(revenue) from orders").fetchone() == (6, 310.5)
    assert [group.partition_keys for group in catalog.tables["orders"].groups] == [("year", "month")]  # read together


def test_nested_folders_without_partitions_and_bookkeeping_files(tmp_path):
    data_dir = build("bookkeeping_files", tmp_path)
    write_parquet(data_dir / "orders" / "2025" / "late" / "part-2.parquet",
                  clean_frames()["orders"].iloc[:1].assign(order_id="o7"))
    assert [path.relative_to(data_dir).as_posix() for path in find_table_files(data_dir, "orders")] == [
        "orders/2025/late/part-2.parquet", "orders/part-0.parquet", "orders/part-1.parquet"
    ]
    con, catalog = register(data_dir)
    assert problems(catalog) == []
    assert con.execute("select count(*) from orders").fetchone() == (7,)


def test_integer_and_text_ids_are_the_same_customer_across_tables(tmp_path):
    """123 (integer), 123.0 (float) and "123" (text) name one customer; orders are split int/text across files."""
    data_dir = build("mixed_types_across_files", tmp_path)
    surveys = pd.DataFrame(
        {
            "response_id": [1, 2, 3],
            "customer_id": pa.array([123.0, 456.0, float("nan")], pa.float64(), from_pandas=False),
            "submitted_at": pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-03"]),
            "kind": ["nps", "nps", "nps"],
            "score": [9, 7, 8],
        }
    )
    write_parquet(data_dir / "surveys.parquet", pa.Table.from_pandas(surveys, preserve_index=False))
    con, _ = register(data_dir)
    assert con.execute("select customer_id, count(*) from orders group by 1 order by 1").fetchall() == [
        ("123", 4), ("456", 2)
    ]
    assert con.execute(
        "select surveys.response_id, count(orders.order_id) from surveys left join orders using (customer_id) "
        "group by 1 order by 1"
    ).fetchall() == [("1", 4), ("2", 2), ("3", 0)]
    assert con.execute("select customer_id from surveys where response_id = '3'").fetchone() == (None,)
    assert con.execute("select customer_id from tickets order by ticket_id").fetchall() == [("123",), ("456",)]


def test_text_timestamps_in_several_formats_are_read_as_utc(tmp_path):
    con, catalog = register(build("ordered_at_as_text", tmp_path), time_zone="Asia/Tokyo")
    assert con.execute("select order_id, ordered_at from orders order by order_id").fetchall() == [
        ("o1", datetime(2024, 3, 1, 10, 0)),
        ("o2", datetime(2024, 3, 1, 10, 0)),  # 01/03/2024 is day first: 1 March
        ("o3", datetime(2024, 1, 20, 8, 0)),  # Z
        ("o4", datetime(2024, 3, 2, 9, 30)),  # +02:00
        ("o5", None),  # "not a date"
        ("o6", datetime(2024, 4, 15, 0, 0)),
    ]


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-03-01 10:00:00", "2024-03-01 10:00:00"), ("2024-03-01", "2024-03-01 00:00:00"),
        ("2024-03-01T10:00:00.5Z", "2024-03-01 10:00:00.5"), ("2024-03-01 10:00:00 -0500", "2024-03-01 15:00:00"),
        ("2024-03-01T10:00:00+01:00", "2024-03-01 09:00:00"), ("2024-03-01 10:00 Europe/Berlin", "2024-03-01 09:00:00"),
        ("2024-03-01 10:00 UTC", "2024-03-01 10:00:00"), ("01/03/2024 10:00", "2024-03-01 10:00:00"),
        ("01/03/2024", "2024-03-01 00:00:00"), ("03/01/2024 10:00 PM", "2024-03-01 22:00:00"),
        ("1.3.2024", "2024-03-01 00:00:00"), ("2024/03/01", "2024-03-01 00:00:00"),
        ("2024-03-01 10:00 Mars/Olympus", None), ("yesterday", None), ("", None),
    ],
)
def test_text_timestamp_conversion_ignores_the_session_zone(text, utc):
    con = duckdb.connect()
    con.execute("set TimeZone = 'Asia/Tokyo'")
    sql = conversion_sql("timestamp", "value", "VARCHAR")
    row = con.execute(f"select cast({sql} as varchar) from (select $text as value)", {"text": text}).fetchone()
    assert row == (utc,)


def test_text_revenue_is_read_as_a_number(tmp_path):
    con, _ = register(build("revenue_as_text", tmp_path))
    assert con.execute("select revenue from orders order by order_id").fetchall() == [
        (1234.5,), (12.0,), (None,), (1234.5,), (-15.0,), (7.0,)
    ]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12.5", 12.5), (" -3 ", -3.0), ("1e3", 1000.0), ("$1,234.50", 1234.5), ("€12", 12.0),
        ("1.234,50 €", 1234.5), ("12,50", 12.5), ("1,234", 1234.0), ("USD 1,234,567.8", 1234567.8),
        ("(15.00)", -15.0), ("-$7", -7.0), ("n/a", None), ("", None), ("NaN", None), ("inf", None),
        ("1-2", None),
    ],
)
def test_text_number_conversion(text, number):
    con = duckdb.connect()
    sql = conversion_sql("number", "value", "VARCHAR")
    assert con.execute(f"select {sql} from (select $text as value)", {"text": text}).fetchone() == (number,)


@pytest.mark.parametrize(
    ("value", "source_type", "expected"),
    [
        (123, "BIGINT", "123"), (123.0, "DOUBLE", "123"), (12.5, "DOUBLE", "12.5"), (" 123 ", "VARCHAR", "123"),
        ("123.0", "VARCHAR", "123"), ("A-7", "VARCHAR", "A-7"), ("", "VARCHAR", None), (float("nan"), "DOUBLE", None),
    ],
)
def test_id_conversion(value, source_type, expected):
    con = duckdb.connect()
    sql = conversion_sql("id", "value", source_type)
    row = con.execute(f"select {sql} from (select cast($value as {source_type}) as value)", {"value": value})
    assert row.fetchone() == (expected,)


def test_registering_never_writes_and_missing_folder_gives_empty_views(tmp_path):
    con, catalog = register(tmp_path / "nowhere")
    assert [finding.line() for finding in catalog.findings] == [
        f"ERROR data: data folder {tmp_path / 'nowhere'} does not exist"
    ]
    assert con.execute("select count(*) from orders").fetchone() == (0,)
    assert not (tmp_path / "nowhere").exists()


def test_the_data_contract_doc_lists_every_table_and_column_as_the_code_does():
    text = (PROJECT_ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    documented = {}
    for table, body in re.findall(r"^### (\w+): .*?\n(.*?)(?=^#)", text, flags=re.M | re.S):
        rows = re.findall(r"^\| `(\w+)` \| (\w+) \| (yes|no) \|", body, flags=re.M)
        documented[table] = [(column, kind, required == "yes") for column, kind, required in rows]
    assert documented == {
        name: [(column, kind, column in spec.required_columns) for column, kind in spec.columns.items()]
        for name, spec in CONTRACT.items()
    }
    assert "`orders` is required. The other tables are optional" in text
    assert [name for name, spec in CONTRACT.items() if spec.is_required] == ["orders"]


def test_a_table_whose_files_all_fail_is_unusable_not_missing(tmp_path):
    data_dir = build("not_parquet", tmp_path)
    (data_dir / "orders" / "part-0.parquet").write_bytes(b"")
    con, catalog = register(data_dir)
    orders = catalog.tables["orders"]
    assert not orders.is_usable and orders.location == "orders/"
    assert [path.name for path in orders.files] == ["part-0.parquet", "part-1.parquet"]
    lines = [finding.line() for finding in catalog.findings]
    assert lines[0] == "ERROR orders: file orders/part-0.parquet is empty (0 bytes), skipped"
    assert lines[1].startswith("ERROR orders: file orders/part-1.parquet is not readable Parquet, skipped: ")
    assert len(lines) == 2
    assert con.execute("select count(*) from orders").fetchone() == (0,)
