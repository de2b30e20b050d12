"""A corpus of broken exports, written on demand into small folders (no binaries are committed).

``CLEAN`` writes an export that gives no finding at all. Every entry of ``CASES`` starts from it, breaks
one thing, and says which lines ``python -m dashboard validate`` must print and with what exit code.
Tests import the ``broken_export``, ``validate_environment`` and ``open_checked`` fixtures from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

LONG_TEXT = "x" * 100_000
# The corpus is dated 2024; freshness (tests/test_freshness.py) would call every export stale.
NEVER_STALE = 1_000_000


def clean_frames() -> dict[str, pd.DataFrame]:
    """Six small tables that follow the contract: every id known, every time in 2024, every score in range."""
    return {
        "orders": pd.DataFrame(
            {
                "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
                "customer_id": ["c1", "c1", "c2", "c2", "c3", "c3"],
                "ordered_at": pd.to_datetime(
                    ["2024-01-05 10:00", "2024-02-10 12:00", "2024-01-20 08:00",
                     "2024-03-02 09:30", "2024-02-01 18:00", "2024-04-15 20:00"]
                ),
                "revenue": [100.0, 40.0, 75.5, 20.0, 60.0, 15.0],
                "status": ["completed", "completed", "completed", "Cancelled", "completed", None],
                "channel": ["email", "email", "paid_social", "paid_social", "referral", "referral"],
            }
        ),
        "customers": pd.DataFrame(
            {
                "customer_id": ["c1", "c2", "c3"],
                "acquisition_channel": ["email", "paid_social", "referral"],
                "marketing_opt_in": [True, False, True],
            }
        ),
        "surveys": pd.DataFrame(
            {
                "response_id": ["s1", "s2", "s3"],
                "customer_id": ["c1", "c2", "c3"],
                "submitted_at": pd.to_datetime(["2024-02-11", "2024-03-05", "2024-04-16"]),
                "kind": ["nps", "NPS", "csat"],
                "score": [9, 6, 4],
                "comment": ["great", None, "ok"],
            }
        ),
        "tickets": pd.DataFrame(
            {
                "ticket_id": ["t1", "t2"],
                "customer_id": ["c1", "c2"],
                "opened_at": pd.to_datetime(["2024-02-12 09:00", "2024-03-06 10:00"]),
                # t2 is still open: an open ticket is a usable ticket.
                "resolved_at": pd.to_datetime(["2024-02-13 17:00", None]),
                "category": ["delivery", "billing"],
            }
        ),
        "returns": pd.DataFrame(
            {
                "return_id": ["r1"],
                "order_id": ["o1"],
                "customer_id": ["c1"],
                "requested_at": pd.to_datetime(["2024-01-15"]),
                "reason": ["too small"],
                "refund_amount": [100.0],
            }
        ),
        "campaigns": pd.DataFrame(
            {
                "campaign_id": ["k1", "k1", "k1"],
                "customer_id": ["c1", "c2", "c3"],
                "group": ["treatment", "treatment", "holdout"],
                "sent_at": pd.to_datetime(["2024-02-20 09:00"] * 3),
                "offer": ["10% off", "10% off", None],
            }
        ),
    }


def write_parquet(path: Path, data: pd.DataFrame | pa.Table, **options) -> Path:
    """Write a DataFrame or Arrow table as one Parquet file (parent folders created)."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **options)
    return path


def write_frames(data_dir: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """Each frame as ``<table>.parquet`` under data_dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        write_parquet(data_dir / f"{table}.parquet", frame)
    return data_dir


def write_clean(data_dir: Path) -> Path:
    """The clean export: no ERROR, no WARN, no INFO."""
    return write_frames(data_dir, clean_frames())


def _with_orders(data_dir: Path, orders: pd.DataFrame | None = None, **others: pd.DataFrame) -> Path:
    """The clean export with some tables replaced."""
    frames = clean_frames()
    if orders is not None:
        frames["orders"] = orders
    frames.update(others)
    return write_frames(data_dir, frames)


def _orders_in_two_files(data_dir: Path) -> tuple[Path, Path]:
    """The clean export with orders split into ``orders/part-0.parquet`` (o1-o3) and ``part-1`` (o4-o6)."""
    frames = clean_frames()
    orders = frames.pop("orders")
    write_frames(data_dir, frames)
    first = write_parquet(data_dir / "orders" / "part-0.parquet", orders.iloc[:3])
    second = write_parquet(data_dir / "orders" / "part-1.parquet", orders.iloc[3:])
    return first, second


def missing_required_column(data_dir: Path) -> Path:
    return _with_orders(data_dir, clean_frames()["orders"].drop(columns=["revenue"]))


def revenue_as_text(data_dir: Path) -> Path:
    orders = clean_frames()["orders"]
    orders["revenue"] = ["$1,234.50", "€12", "n/a", "1.234,50 €", "(15.00)", " 7 "]
    return _with_orders(data_dir, orders)


def revenue_nan(data_dir: Path) -> Path:
    """NaN is a float, not a null, in files written by Spark or polars."""
    orders = pa.Table.from_pandas(clean_frames()["orders"], preserve_index=False)
    revenue = pa.array([100.0, float("nan"), 75.5, 20.0, float("inf"), 15.0], pa.float64(), from_pandas=False)
    orders = orders.set_column(orders.schema.get_field_index("revenue"), "revenue", revenue)
    _with_orders(data_dir)
    write_parquet(data_dir / "orders.parquet", orders)
    return data_dir


def ordered_at_as_text(data_dir: Path) -> Path:
    orders = clean_frames()["orders"]
    orders["ordered_at"] = ["2024-03-01 10:00:00", "01/03/2024 10:00", "2024-01-20T08:00:00Z",
                            "2024-03-02 11:30:00+02:00", "not a date", "2024-04-15"]
    return _with_orders(data_dir, orders)


def ordered_at_as_integers(data_dir: Path) -> Path:
    """Epoch seconds: read as time since 1970 (an INFO says so), so no order is lost."""
    orders = clean_frames()["orders"]
    orders["ordered_at"] = orders["ordered_at"].astype("datetime64[s]").astype("int64")
    return _with_orders(data_dir, orders)


def empty_file(data_dir: Path) -> Path:
    _, second = _orders_in_two_files(data_dir)
    second.write_bytes(b"")
    return data_dir


def truncated_parquet(data_dir: Path) -> Path:
    _, second = _orders_in_two_files(data_dir)
    content = second.read_bytes()
    second.write_bytes(content[: len(content) // 2])
    return data_dir


def not_parquet(data_dir: Path) -> Path:
    _, second = _orders_in_two_files(data_dir)
    second.write_text("order_id,customer_id,ordered_at,revenue\no4,c2,2024-03-02,20.0\n")
    return data_dir


def corrupt_data_pages(data_dir: Path) -> Path:
    """A second file whose footer is intact but whose compressed pages are garbage."""
    first, second = _orders_in_two_files(data_dir)
    rows = 3_000
    many = pd.DataFrame(
        {
            "order_id": [f"x{i}" for i in range(rows)],
            "customer_id": [f"c{i % 3 + 1}" for i in range(rows)],
            "ordered_at": pd.Timestamp("2024-05-01") + pd.to_timedelta(range(rows), unit="min"),
            "revenue": [float(i) for i in range(rows)],
        }
    )
    write_parquet(second, many, compression="snappy")
    content = bytearray(second.read_bytes())
    content[100:3_000] = b"\xab" * 2_900
    second.write_bytes(bytes(content))
    return data_dir


def zero_row_table(data_dir: Path) -> Path:
    surveys = clean_frames()["surveys"].iloc[:0]
    return _with_orders(data_dir, surveys=surveys)


def zero_row_orders(data_dir: Path) -> Path:
    write_parquet(data_dir / "orders.parquet", clean_frames()["orders"].iloc[:0])
    return data_dir


def mixed_types_across_files(data_dir: Path) -> Path:
    """revenue double in one file and text in the other; customer_id an integer in one, text in the other."""
    frames = clean_frames()
    frames.pop("orders")
    frames["customers"] = pd.DataFrame({"customer_id": ["123", "456"]})
    frames["surveys"] = frames["surveys"].assign(customer_id=["123", "456", "123"])
    frames["tickets"] = frames["tickets"].assign(customer_id=[123, 456])
    frames["returns"] = frames["returns"].assign(customer_id=["123"])
    write_frames(data_dir, frames)
    orders = clean_frames()["orders"]
    first = orders.iloc[:3].assign(customer_id=[123, 123, 456], revenue=[100.0, 40.0, 75.5])
    second = orders.iloc[3:].assign(customer_id=["456", "123", "123"], revenue=["20.00", "$60", "15"])
    write_parquet(data_dir / "orders" / "part-0.parquet", first)
    write_parquet(data_dir / "orders" / "part-1.parquet", second)
    return data_dir


def column_missing_from_one_file(data_dir: Path) -> Path:
    """orders/part-1.parquet has no revenue column: its rows are read without revenue and left out."""
    _, second = _orders_in_two_files(data_dir)
    write_parquet(second, clean_frames()["orders"].iloc[3:].drop(columns=["revenue"]))
    return data_dir


def duplicate_and_null_order_id(data_dir: Path) -> Path:
    orders = clean_frames()["orders"]
    orders["order_id"] = ["o1", "o1", "o3", None, "o5", "o6"]
    return _with_orders(data_dir, orders)


def null_customer_id(data_dir: Path) -> Path:
    orders = clean_frames()["orders"]
    orders.loc[5, "customer_id"] = None
    return _with_orders(data_dir, orders)


def negative_revenue(data_dir: Path) -> Path:
    orders = clean_frames()["orders"]
    orders.loc[1, "revenue"] = -40.0
    return _with_orders(data_dir, orders)


def timestamps_out_of_range(data_dir: Path) -> Path:
    orders = clean_frames()["orders"]
    orders.loc[1, "ordered_at"] = pd.Timestamp("2099-01-01")
    orders.loc[3, "ordered_at"] = pd.Timestamp("1970-01-01")
    return _with_orders(data_dir, orders)


def survey_scores_out_of_range(data_dir: Path) -> Path:
    surveys = clean_frames()["surveys"]
    surveys["kind"] = ["nps", "nps", "csat"]
    surveys["score"] = [11, -1, 4]
    return _with_orders(data_dir, surveys=surveys)


def unknown_survey_kind(data_dir: Path) -> Path:
    surveys = clean_frames()["surveys"]
    surveys.loc[2, "kind"] = "ces"
    return _with_orders(data_dir, surveys=surveys)


def awkward_strings(data_dir: Path) -> Path:
    """Emoji ids, control characters and 100 KB text in values: read as they are, no finding."""
    orders = clean_frames()["orders"]
    orders["customer_id"] = ["c1🙂", "c1🙂", "c2\x00\x1b[31m", "c2\x00\x1b[31m", "c3", "c3"]
    orders["channel"] = [LONG_TEXT, "email\r\n", "paid_social\t", "🛒", None, "referral"]
    surveys = clean_frames()["surveys"]
    surveys["customer_id"] = ["c1🙂", "c2\x00\x1b[31m", "c3"]
    surveys["comment"] = [LONG_TEXT, "line one\nline two", "\x07bell"]
    customers = clean_frames()["customers"].assign(customer_id=["c1🙂", "c2\x00\x1b[31m", "c3"])
    tickets = clean_frames()["tickets"].assign(customer_id=["c1🙂", "c2\x00\x1b[31m"])
    returns = clean_frames()["returns"].assign(customer_id=["c1🙂"])
    return _with_orders(data_dir, orders, surveys=surveys, customers=customers, tickets=tickets, returns=returns)


CONTROL_COLUMN = "note\x1b[31m\nINJECTED"


def control_characters_in_column_name(data_dir: Path) -> Path:
    """A column whose name carries a newline and an escape sequence, typed differently in two files."""
    first, second = _orders_in_two_files(data_dir)
    orders = clean_frames()["orders"]
    write_parquet(first, orders.iloc[:3].assign(**{CONTROL_COLUMN: [1, 2, 3]}))
    write_parquet(second, orders.iloc[3:].assign(**{CONTROL_COLUMN: ["a", "b", "c"]}))
    return data_dir


def invalid_mapping_toml(data_dir: Path) -> Path:
    write_clean(data_dir)
    (data_dir / "mapping.toml").write_text("[orders\norder_id = Name\n")
    return data_dir


def shopify_frames() -> dict[str, pd.DataFrame]:
    """The clean orders as a Shopify-like export: its column names, local times with an offset, totals as text."""
    frames = clean_frames()
    orders = frames["orders"]
    orders["ordered_at"] = (orders["ordered_at"] - pd.Timedelta(hours=5)).dt.strftime("%Y-%m-%d %H:%M:%S -0500")
    orders["revenue"] = orders["revenue"].map("{:.2f}".format)
    frames["orders"] = orders.rename(
        columns={"order_id": "Name", "customer_id": "Customer ID", "ordered_at": "Created at", "revenue": "Total"}
    )
    return frames


SHOPIFY_MAPPING = """\
[orders]
order_id = "Name"
customer_id = "Customer ID"
ordered_at = "Created at"
revenue = "Total"
"""


def mapping_to_missing_column(data_dir: Path) -> Path:
    write_frames(data_dir, shopify_frames())
    (data_dir / "mapping.toml").write_text(SHOPIFY_MAPPING.replace('"Total"', '"Total Price"'))
    return data_dir


def missing_data_folder(data_dir: Path) -> Path:
    return data_dir / "does-not-exist"


def data_folder_is_a_file(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "exports.parquet"
    write_parquet(path, clean_frames()["orders"])
    return path


def unreadable_data_folder(data_dir: Path) -> Path:
    """The clean export behind chmod 000 (root reads it anyway: see ``permissions_are_enforced``)."""
    write_clean(data_dir)
    data_dir.chmod(0)
    return data_dir


def permissions_are_enforced(path: Path) -> bool:
    """True when a chmod 000 folder really cannot be listed (not when running as root)."""
    try:
        os.listdir(path)
    except PermissionError:
        return True
    return False


def orphan_activity(data_dir: Path) -> Path:
    """Surveys, tickets and returns of a customer (c9) who has no order."""
    frames = clean_frames()
    surveys = pd.concat([frames["surveys"], frames["surveys"].iloc[[0]].assign(response_id="s9", customer_id="c9")])
    tickets = pd.concat([frames["tickets"], frames["tickets"].iloc[[0]].assign(ticket_id="t9", customer_id="c9")])
    returns = pd.concat([frames["returns"], frames["returns"].iloc[[0]].assign(return_id="r9", customer_id="c9")])
    return _with_orders(data_dir, surveys=surveys, tickets=tickets, returns=returns)


def bad_optional_table(data_dir: Path) -> Path:
    """surveys without its score column: surveys is not used, orders still are."""
    return _with_orders(data_dir, surveys=clean_frames()["surveys"].drop(columns=["score"]))


def bookkeeping_files(data_dir: Path) -> Path:
    """Spark's _SUCCESS, an unfinished _temporary/ write and a macOS ._ file next to real parts: all skipped."""
    first, _ = _orders_in_two_files(data_dir)
    (data_dir / "orders" / "_SUCCESS").write_bytes(b"")
    (data_dir / "orders" / "._part-0.parquet").write_bytes(b"\x00\x05\x16\x07 not parquet")
    write_parquet(data_dir / "orders" / "_temporary" / "0" / "part-9.parquet", clean_frames()["orders"])
    (data_dir / "orders" / ".hidden.parquet").write_bytes(b"")
    return data_dir


# Issue 15: real exports that broke in more ways. Each has a clean twin that must give no finding.


def half_written_file(data_dir: Path) -> Path:
    """orders/part-1.parquet cut to a third, as a partition file being rewritten while the app reads it."""
    _, second = _orders_in_two_files(data_dir)
    content = second.read_bytes()
    second.write_bytes(content[: len(content) // 3])
    return data_dir


def hive_folder_shadows_columns(data_dir: Path) -> Path:
    """Partition folders named like columns the files also have: ``customer_id=007/`` and ``revenue=0/``."""
    frames = clean_frames()
    orders = frames.pop("orders")
    write_frames(data_dir, frames)
    write_parquet(data_dir / "orders" / "customer_id=007" / "revenue=0" / "part-0.parquet", orders.iloc[:3])
    write_parquet(data_dir / "orders" / "customer_id=007" / "revenue=0" / "part-1.parquet", orders.iloc[3:])
    return data_dir


def hive_folder_adds_a_column(data_dir: Path) -> Path:
    """The clean twin: ``channel=<value>/`` folders over files without a channel column give every row its channel."""
    frames = clean_frames()
    orders = frames.pop("orders")
    write_frames(data_dir, frames)
    for channel, rows in orders.groupby("channel"):
        write_parquet(data_dir / "orders" / f"channel={channel}" / "part-0.parquet", rows.drop(columns=["channel"]))
    return data_dir


# Text amounts whose sign is written as an accounting export writes it; (text, value).
SIGNED_TEXT_AMOUNTS = [
    ("\u221212.50", -12.5),  # U+2212 MINUS SIGN
    ("\u201312.50", -12.5),  # U+2013 EN DASH
    ("$(1,234.50)", -1234.5),
    ("USD (12.00)", -12.0),
    ("12.50-", -12.5),
    ("\u2212$7", -7.0),
]


def revenue_with_written_signs(data_dir: Path) -> Path:
    orders = clean_frames()["orders"]
    orders["revenue"] = [text for text, _ in SIGNED_TEXT_AMOUNTS]
    return _with_orders(data_dir, orders)


def revenue_text_positive(data_dir: Path) -> Path:
    """The clean twin: the same shapes without a sign are positive, and give no finding."""
    orders = clean_frames()["orders"]
    orders["revenue"] = ["12.50", "$1,234.50", "USD 12.00", "1.234,50 €", "€7", "15"]
    return _with_orders(data_dir, orders)


def nps_as_fraction_text(data_dir: Path) -> Path:
    """Scores written "9/10" and "4/5"; "3/5" on an NPS answer and "7/8" are not scores of that survey."""
    surveys = pd.DataFrame(
        {
            "response_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
            "customer_id": ["c1", "c2", "c3", "c1", "c2", "c3"],
            "submitted_at": pd.to_datetime(["2024-02-11", "2024-03-05", "2024-04-16", "2024-02-12", "2024-03-06",
                                            "2024-04-17"]),
            "kind": ["nps", "nps", "csat", "nps", "nps", "csat"],
            "score": ["9/10", "0/10", "4/5", " 10 / 10 ", "3/5", "7/8"],
        }
    )
    return _with_orders(data_dir, surveys=surveys)


def nps_as_plain_text(data_dir: Path) -> Path:
    """The clean twin: scores as plain text numbers."""
    surveys = clean_frames()["surveys"].assign(score=["9", "6", "4"])
    return _with_orders(data_dir, surveys=surveys)


BIG_ID = 2**60  # beyond 2**53: a float cannot hold every integer here


def ids_beyond_float_precision(data_dir: Path) -> Path:
    """100 customers with int64 ids beyond 2**53 in one file; beside it, a float64 file with small ids and one that
    is a float exactly (2**60, the first big id): read on its own, each file's ids keep every digit."""
    frames = clean_frames()
    write_frames(data_dir, {**frames, "orders": frames["orders"].iloc[:0]})
    (data_dir / "orders.parquet").unlink()
    count = 100
    big = pd.DataFrame(
        {
            "order_id": [f"b{i}" for i in range(count)],
            "customer_id": pa.array([BIG_ID + i for i in range(count)], pa.int64()),
            "ordered_at": pd.Timestamp("2024-05-01") + pd.to_timedelta(range(count), unit="h"),
            "revenue": [10.0] * count,
            "status": ["completed"] * count,
            "channel": ["email"] * count,
        }
    )
    small = clean_frames()["orders"].assign(customer_id=[1.0, 1.0, 2.0, 2.0, 3.0, float(BIG_ID)])
    write_parquet(data_dir / "orders" / "part-0.parquet", pa.Table.from_pandas(big, preserve_index=False))
    write_parquet(data_dir / "orders" / "part-1.parquet", small)
    for table, ids in (("customers", ["1", "2", "3"]), ("surveys", ["1", "2", "3"]), ("tickets", ["1", "2"]),
                       ("returns", ["1"])):
        write_parquet(data_dir / f"{table}.parquet", frames[table].assign(customer_id=ids))
    return data_dir


def ids_int_and_float_within_precision(data_dir: Path) -> Path:
    """The clean twin: int64 ids in one file, the same ids as float64 in the other (all below 2**53)."""
    frames = clean_frames()
    orders = frames.pop("orders")
    write_frames(data_dir, {**frames, "customers": frames["customers"].assign(customer_id=["1", "2", "3"]),
                            "surveys": frames["surveys"].assign(customer_id=["1", "2", "3"]),
                            "tickets": frames["tickets"].assign(customer_id=["1", "2"]),
                            "returns": frames["returns"].assign(customer_id=["1"])})
    write_parquet(data_dir / "orders" / "part-0.parquet", orders.iloc[:3].assign(customer_id=[1, 1, 2]))
    write_parquet(data_dir / "orders" / "part-1.parquet", orders.iloc[3:].assign(customer_id=[2.0, 3.0, 3.0]))
    return data_dir


def mapping_same_source_twice(data_dir: Path) -> Path:
    """mapping.toml maps order_id and customer_id to the same column: every order would be its own customer."""
    frames = shopify_frames()
    write_frames(data_dir, frames)
    (data_dir / "mapping.toml").write_text(SHOPIFY_MAPPING.replace('customer_id = "Customer ID"',
                                                                   'customer_id = "Name"'))
    return data_dir


def mapping_with_bom(data_dir: Path) -> Path:
    """A mapping.toml saved with a UTF-8 byte order mark (as Windows editors do): read like any other."""
    write_frames(data_dir, shopify_frames())
    (data_dir / "mapping.toml").write_bytes("\ufeff".encode() + SHOPIFY_MAPPING.encode())
    return data_dir


def no_usable_order(data_dir: Path) -> Path:
    """Every order timestamp unreadable: the orders file is read, but no order can be used."""
    orders = clean_frames()["orders"]
    orders["ordered_at"] = ["soon", "later", "?", "-", "n/a", "unknown"]
    return _with_orders(data_dir, orders)


def revenue_as_a_list(data_dir: Path) -> Path:
    """revenue is a list of line amounts, not a number."""
    orders = pa.Table.from_pandas(clean_frames()["orders"], preserve_index=False)
    revenue = pa.array([[100.0], [40.0], [75.5], [20.0], [60.0], [15.0]], pa.list_(pa.float64()))
    orders = orders.set_column(orders.schema.get_field_index("revenue"), "revenue", revenue)
    _with_orders(data_dir)
    write_parquet(data_dir / "orders.parquet", orders)
    return data_dir


def _timestamp_column(values: list, unit: str = "us") -> pa.Array:
    """Timestamps as epoch integers of unit, so values DuckDB cannot hold can be written."""
    return pa.array(values, pa.int64()).cast(pa.timestamp(unit))


def date_beyond_duckdb_range(data_dir: Path) -> Path:
    """One ticket resolved in the year 303139 (milliseconds; beyond DuckDB's timestamps), one order too."""
    far = (303_139 - 1970) * 31_556_952_000  # milliseconds to the year 303139 (average Gregorian years)
    tickets = pa.Table.from_pandas(clean_frames()["tickets"], preserve_index=False)
    resolved = _timestamp_column([int(pd.Timestamp("2024-02-13 17:00").value // 10**6), far], "ms")
    tickets = tickets.set_column(tickets.schema.get_field_index("resolved_at"), "resolved_at", resolved)
    orders = pa.Table.from_pandas(clean_frames()["orders"], preserve_index=False)
    ordered = clean_frames()["orders"]["ordered_at"].astype("datetime64[ms]").astype("int64").tolist()
    ordered[1] = far
    orders = orders.set_column(orders.schema.get_field_index("ordered_at"), "ordered_at",
                               _timestamp_column(ordered, "ms"))
    _with_orders(data_dir)
    write_parquet(data_dir / "tickets.parquet", tickets)
    write_parquet(data_dir / "orders.parquet", orders)
    return data_dir


def dates_in_milliseconds(data_dir: Path) -> Path:
    """The clean twin: millisecond timestamps within range."""
    tickets = pa.Table.from_pandas(clean_frames()["tickets"], preserve_index=False)
    resolved = tickets.column("resolved_at").cast(pa.timestamp("ms"))
    tickets = tickets.set_column(tickets.schema.get_field_index("resolved_at"), "resolved_at", resolved)
    _with_orders(data_dir)
    write_parquet(data_dir / "tickets.parquet", tickets)
    return data_dir


def nested_columns(data_dir: Path) -> Path:
    """channel a list, the survey comment a struct, and a duplicated order id the checks must still find."""
    orders = pa.Table.from_pandas(clean_frames()["orders"].assign(order_id=["o1", "o1", "o3", "o4", "o5", "o6"]),
                                  preserve_index=False)
    channel = pa.array([["email"], ["email"], ["paid_social"], [], None, ["referral", "email"]], pa.list_(pa.string()))
    orders = orders.set_column(orders.schema.get_field_index("channel"), "channel", channel)
    surveys = pa.Table.from_pandas(clean_frames()["surveys"], preserve_index=False)
    comment = pa.array([{"text": "great", "lang": "en"}, None, {"text": "ok", "lang": "en"}],
                       pa.struct([("text", pa.string()), ("lang", pa.string())]))
    surveys = surveys.set_column(surveys.schema.get_field_index("comment"), "comment", comment)
    _with_orders(data_dir)
    write_parquet(data_dir / "orders.parquet", orders)
    write_parquet(data_dir / "surveys.parquet", surveys)
    return data_dir


def struct_ids(data_dir: Path) -> Path:
    """tickets.customer_id is a struct: the table cannot be used, and the finding says why."""
    tickets = pa.Table.from_pandas(clean_frames()["tickets"], preserve_index=False)
    ids = pa.array([{"id": "c1"}, {"id": "c2"}], pa.struct([("id", pa.string())]))
    tickets = tickets.set_column(tickets.schema.get_field_index("customer_id"), "customer_id", ids)
    _with_orders(data_dir)
    write_parquet(data_dir / "tickets.parquet", tickets)
    return data_dir


def files_of_one_table_that_do_not_read_together(data_dir: Path) -> Path:
    """A stray file beside year= folders, partition depth that changes, epoch seconds beside timestamps."""
    frames = clean_frames()
    orders = frames.pop("orders")
    write_frames(data_dir, frames)
    write_parquet(data_dir / "orders" / "year=2024" / "month=01" / "part-0.parquet", orders.iloc[[0, 2]])
    write_parquet(data_dir / "orders" / "year=2024" / "part-0.parquet", orders.iloc[[1, 4]])
    epoch = orders.iloc[[3]].assign(ordered_at=orders.iloc[[3]]["ordered_at"].astype("datetime64[s]").astype("int64"))
    write_parquet(data_dir / "orders" / "year=2024" / "month=03" / "part-0.parquet", epoch)
    write_parquet(data_dir / "orders" / "stray.parquet", orders.iloc[[5]])
    return data_dir


def invalid_utf8_in_comment(data_dir: Path) -> Path:
    """One survey comment holds bytes that are not UTF-8 (a Latin-1 'é' written as is)."""
    surveys = pa.Table.from_pandas(clean_frames()["surveys"], preserve_index=False)
    raw = pa.array([b"great", None, b"caf\xe9 was ok"], pa.binary()).view(pa.string())
    surveys = surveys.set_column(surveys.schema.get_field_index("comment"), "comment", raw)
    _with_orders(data_dir)
    write_parquet(data_dir / "surveys.parquet", surveys)
    return data_dir


def non_ascii_comment(data_dir: Path) -> Path:
    """The clean twin: valid UTF-8 with accents and emoji."""
    surveys = clean_frames()["surveys"].assign(comment=["café était très bien 🙂", None, "ok"])
    return _with_orders(data_dir, surveys=surveys)


def epoch_seconds_beyond_2262(data_dir: Path) -> Path:
    """ordered_at as epoch seconds; one is in the year 2300 (beyond what nanoseconds can hold)."""
    orders = clean_frames()["orders"]
    seconds = orders["ordered_at"].astype("datetime64[s]").astype("int64").tolist()
    seconds[1] = int((pd.Timestamp("2262-04-12") - pd.Timestamp("1970-01-01")).total_seconds()) + 38 * 365 * 86_400
    orders["ordered_at"] = seconds
    return _with_orders(data_dir, orders)


def boolean_revenue(data_dir: Path) -> Path:
    """revenue exported as true/false (a 'paid' flag mapped by mistake)."""
    orders = clean_frames()["orders"]
    orders["revenue"] = [True, True, False, True, True, False]
    return _with_orders(data_dir, orders)


def repeated_header_row(data_dir: Path) -> Path:
    """One file of text columns (a CSV converted as is) repeats its header as a row."""
    frames = clean_frames()
    orders = frames.pop("orders")
    write_frames(data_dir, frames)
    text = orders.astype({"ordered_at": str, "revenue": str})
    write_parquet(data_dir / "orders" / "part-0.parquet", text.iloc[:3])
    header = pd.DataFrame([{column: column for column in text.columns}])
    write_parquet(data_dir / "orders" / "part-1.parquet", pd.concat([header, text.iloc[3:]], ignore_index=True))
    return data_dir


# Customer ids that are e-mail addresses and phone numbers (issue 15, point 15).
CONTACT_DETAIL_IDS = {"c1": "ana.lima@example.com", "c2": "+44 20 7946 0958"}


def customer_ids_are_contact_details(data_dir: Path) -> Path:
    """c1's id is an e-mail address and c2's a phone number, in every table; c3 keeps an ordinary id."""
    frames = clean_frames()
    for frame in frames.values():
        frame["customer_id"] = frame["customer_id"].map(lambda value: CONTACT_DETAIL_IDS.get(value, value))
    return write_frames(data_dir, frames)


def with_contact_detail_ids(source_dir: Path, data_dir: Path, share: int = 3) -> Path:
    """A copy of an export (the demo) in which every ``share``-th customer's id is an e-mail address and the next
    one's a phone number, consistently in every table."""
    def relabel(value):
        if value is None:
            return None
        digits = "".join(char for char in value if char.isdigit())
        number = int(digits or sum(map(ord, value)))
        if number % share == 0:
            return f"{value.lower()}@example.com"
        if number % share == 1:
            return f"+44 20 {number:08d}"  # one phone number per id, so no two customers merge
        return value

    for path in sorted(source_dir.rglob("*.parquet")):
        target = data_dir / path.relative_to(source_dir)
        table = pq.read_table(path)
        if "customer_id" in table.column_names:
            ids = [relabel(value) for value in table.column("customer_id").to_pylist()]
            index = table.schema.get_field_index("customer_id")
            table = table.set_column(index, "customer_id", pa.array(ids, pa.string()))
        write_parquet(target, table)
    return data_dir


@dataclass(frozen=True)
class Expect:
    """A line validate must print: ``<level> <where>: ...<text>... (<rows> rows)`` (rows None: no count)."""

    level: str
    where: str
    text: str
    rows: int | None = None

    def matches(self, line: str) -> bool:
        if not line.startswith(f"{self.level} {self.where}: ") or self.text not in line:
            return False
        has_count = line.endswith(" rows)")
        return line.endswith(f"({self.rows:,} rows)") if self.rows is not None else not has_count


@dataclass(frozen=True)
class BrokenExport:
    """One broken export: how to write it, the exact lines validate prints (in any order), the exit code."""

    name: str
    build: Callable[[Path], Path]
    expected: tuple[Expect, ...]
    exit_code: int


def _left_out(table: str, used: int, total: int) -> Expect:
    return Expect("WARN", table, f"rows left out in total, {used} of {total} used", total - used)


CLEAN = BrokenExport("clean", write_clean, (), 0)

# Without orders/part-1.parquet, c3 has no order left, so c3's survey is reported (c3 has no ticket or return),
# and orders is incomplete (issue 15, point 1).
_UNREADABLE_SECOND_FILE = "file orders/part-1.parquet is not readable Parquet, skipped: "
_ORPHAN_OF_SECOND_FILE = Expect("WARN", "surveys.customer_id", "customer has no usable order (rows kept)", 1)
_LOST_SECOND_FILE = (
    _ORPHAN_OF_SECOND_FILE,
    Expect("ERROR", "orders", "incomplete: orders/part-1.parquet could not be read; numbers exclude it"),
)
# When no order is usable, every survey, ticket and return is of a customer without one.
_NO_USABLE_ORDER_ORPHANS = (
    Expect("WARN", "surveys.customer_id", "customer has no usable order (rows kept)", 3),
    Expect("WARN", "tickets.customer_id", "customer has no usable order (rows kept)", 2),
    Expect("WARN", "returns.customer_id", "customer has no usable order (rows kept)", 1),
)

CASES = [
    BrokenExport(
        "missing_required_column", missing_required_column,
        (Expect("ERROR", "orders.revenue", "required column missing from orders.parquet; table not used", 6),),
        1,
    ),
    BrokenExport(
        "revenue_as_text", revenue_as_text,
        (
            Expect("WARN", "orders.revenue", "values in column 'revenue' (VARCHAR) cannot be read as a number, "
                   "e.g. 'n/a'; rows left out", 1),
            Expect("WARN", "orders.revenue", "missing or unreadable revenue, rows left out", 1),
            Expect("WARN", "orders.revenue", "negative revenue (kept as a refund adjustment)", 1),
            _left_out("orders", 5, 6),
        ),
        0,
    ),
    BrokenExport(
        "revenue_nan", revenue_nan,
        (
            Expect("WARN", "orders.revenue", "values in column 'revenue' (DOUBLE) cannot be read as a number", 2),
            Expect("WARN", "orders.revenue", "missing or unreadable revenue, rows left out", 2),
            _left_out("orders", 4, 6),
        ),
        0,
    ),
    BrokenExport(
        "ordered_at_as_text", ordered_at_as_text,
        (
            Expect("WARN", "orders.ordered_at", "values in column 'ordered_at' (VARCHAR) cannot be read as a "
                   "timestamp, e.g. 'not a date'; rows left out", 1),
            Expect("WARN", "orders.ordered_at", "missing or unreadable timestamp, rows left out", 1),
            _left_out("orders", 5, 6),
        ),
        0,
    ),
    BrokenExport("ordered_at_as_integers", ordered_at_as_integers, (), 0),
    BrokenExport(
        "empty_file", empty_file,
        (Expect("ERROR", "orders", "file orders/part-1.parquet is empty (0 bytes), skipped"), *_LOST_SECOND_FILE),
        1,
    ),
    # Issue 15, point 1: a file cut short makes its table incomplete (an ERROR; report, scores, prepare refuse).
    BrokenExport(
        "half_written_file", half_written_file,
        (Expect("ERROR", "orders", _UNREADABLE_SECOND_FILE), *_LOST_SECOND_FILE),
        1,
    ),
    BrokenExport(
        "truncated_parquet", truncated_parquet,
        (Expect("ERROR", "orders", _UNREADABLE_SECOND_FILE), *_LOST_SECOND_FILE),
        1,
    ),
    BrokenExport(
        "not_parquet", not_parquet,
        (Expect("ERROR", "orders", _UNREADABLE_SECOND_FILE), *_LOST_SECOND_FILE),
        1,
    ),
    BrokenExport(
        "corrupt_data_pages", corrupt_data_pages,
        (Expect("ERROR", "orders", _UNREADABLE_SECOND_FILE), *_LOST_SECOND_FILE),
        1,
    ),
    BrokenExport(
        "zero_row_table", zero_row_table,
        (Expect("WARN", "surveys", "file surveys.parquet has no rows"),),
        0,
    ),
    BrokenExport(
        "zero_row_orders", zero_row_orders,
        (
            Expect("WARN", "orders", "file orders.parquet has no rows"),
            Expect("ERROR", "orders", "no usable rows: every metric is empty", 0),
        ),
        1,
    ),
    BrokenExport(
        "mixed_types_across_files", mixed_types_across_files,
        (
            Expect("WARN", "orders.customer_id", "files have different types for column 'customer_id': "
                   "number in orders/part-0.parquet; text in orders/part-1.parquet"),
            Expect("WARN", "orders.revenue", "files have different types for column 'revenue': "
                   "number in orders/part-0.parquet; text in orders/part-1.parquet"),
        ),
        0,
    ),
    BrokenExport(
        "column_missing_from_one_file", column_missing_from_one_file,
        (
            Expect("WARN", "orders.revenue", "column 'revenue' missing from orders/part-1.parquet, read as empty", 3),
            Expect("WARN", "orders.revenue", "missing or unreadable revenue, rows left out", 3),
            _left_out("orders", 3, 6),
            _ORPHAN_OF_SECOND_FILE,
        ),
        0,
    ),
    BrokenExport(
        "duplicate_and_null_order_id", duplicate_and_null_order_id,
        (
            Expect("WARN", "orders.order_id", "missing order_id (null or empty), rows left out", 1),
            Expect("WARN", "orders.order_id", "duplicate values, later copies left out", 1),
            _left_out("orders", 4, 6),
        ),
        0,
    ),
    BrokenExport(
        "null_customer_id", null_customer_id,
        (
            Expect("WARN", "orders.customer_id", "missing customer_id (null or empty), rows left out", 1),
            _left_out("orders", 5, 6),
        ),
        0,
    ),
    BrokenExport(
        "negative_revenue", negative_revenue,
        (Expect("WARN", "orders.revenue", "negative revenue (kept as a refund adjustment)", 1),),
        0,
    ),
    BrokenExport(
        "timestamps_out_of_range", timestamps_out_of_range,
        (
            Expect("WARN", "orders.ordered_at", "timestamp in the future, rows left out", 1),
            Expect("WARN", "orders.ordered_at", "timestamp before 1990, rows left out", 1),
            _left_out("orders", 4, 6),
        ),
        0,
    ),
    BrokenExport(
        "survey_scores_out_of_range", survey_scores_out_of_range,
        (
            Expect("WARN", "surveys.score", "NPS score missing or outside 0-10, rows left out", 2),
            _left_out("surveys", 1, 3),
        ),
        0,
    ),
    BrokenExport(
        "unknown_survey_kind", unknown_survey_kind,
        (
            Expect("WARN", "surveys.kind", "unknown survey kind (expected nps or csat), rows left out", 1),
            _left_out("surveys", 2, 3),
        ),
        0,
    ),
    BrokenExport("awkward_strings", awkward_strings, (), 0),
    BrokenExport(
        "control_characters_in_column_name", control_characters_in_column_name,
        (
            Expect("WARN", "orders.note\\x1b[31m\\nINJECTED", "files have different types for column "
                   "'note\\x1b[31m\\nINJECTED': number in orders/part-0.parquet; text in orders/part-1.parquet"),
        ),
        0,
    ),
    BrokenExport(
        "invalid_mapping_toml", invalid_mapping_toml,
        (Expect("ERROR", "mapping.toml", "cannot be read, column mapping ignored: "),),
        1,
    ),
    BrokenExport(
        "mapping_to_missing_column", mapping_to_missing_column,
        (
            Expect("ERROR", "orders.revenue", "mapping.toml maps it to column 'Total Price', which orders.parquet "
                   "does not have; table not used", 6),
        ),
        1,
    ),
    BrokenExport(
        "missing_data_folder", missing_data_folder,
        (Expect("ERROR", "data", "does-not-exist does not exist"),),
        1,
    ),
    BrokenExport(
        "data_folder_is_a_file", data_folder_is_a_file,
        (Expect("ERROR", "data", "exports.parquet is not a folder"),),
        1,
    ),
    BrokenExport(
        "orphan_activity", orphan_activity,
        (
            Expect("WARN", "surveys.customer_id", "customer has no usable order (rows kept)", 1),
            Expect("WARN", "tickets.customer_id", "customer has no usable order (rows kept)", 1),
            Expect("WARN", "returns.customer_id", "customer has no usable order (rows kept)", 1),
        ),
        0,
    ),
    BrokenExport(
        "bad_optional_table", bad_optional_table,
        (Expect("ERROR", "surveys.score", "required column missing from surveys.parquet; table not used", 3),),
        1,
    ),
    BrokenExport("bookkeeping_files", bookkeeping_files, (), 0),
    # Issue 15, point 3: amounts whose sign is written as accounting exports write it are negative.
    BrokenExport(
        "revenue_with_written_signs", revenue_with_written_signs,
        (Expect("WARN", "orders.revenue", "negative revenue (kept as a refund adjustment)", 6),),
        0,
    ),
    BrokenExport("revenue_text_positive", revenue_text_positive, (), 0),
    # Point 4: "9/10" is 9 on an NPS survey, "4/5" is 4 on a CSAT one; a fraction on another scale is no score.
    BrokenExport(
        "nps_as_fraction_text", nps_as_fraction_text,
        (
            Expect("WARN", "surveys.score", "values in column 'score' (VARCHAR) cannot be read as a score (a number; "
                   "n/10 on an NPS survey, n/5 on a CSAT one), e.g. '3/5'; read as empty", 2),
            Expect("WARN", "surveys.score", "NPS score missing or outside 0-10, rows left out", 1),
            Expect("WARN", "surveys.score", "CSAT score missing or outside 1-5, rows left out", 1),
            _left_out("surveys", 4, 6),
        ),
        0,
    ),
    BrokenExport("nps_as_plain_text", nps_as_plain_text, (), 0),
    # Point 6: two contract columns mapped to one source column is an ERROR naming both.
    BrokenExport(
        "mapping_same_source_twice", mapping_same_source_twice,
        (Expect("ERROR", "orders", "mapping.toml maps order_id and customer_id to the same column 'Name': one "
                "column cannot be both, so neither is read; table not used", 6),),
        1,
    ),
    # Point 12: a mapping.toml with a byte order mark is read.
    BrokenExport("mapping_with_bom", mapping_with_bom, (), 0),
    # Point 7: orders read, but not one usable: validate says why (and report, scores, prepare refuse).
    BrokenExport(
        "no_usable_order", no_usable_order,
        (
            Expect("WARN", "orders.ordered_at", "values in column 'ordered_at' (VARCHAR) cannot be read as a "
                   "timestamp, e.g. '-'; rows left out", 6),
            Expect("WARN", "orders.ordered_at", "missing or unreadable timestamp, rows left out", 6),
            Expect("ERROR", "orders", "no usable rows: every metric is empty", 6),
            *_NO_USABLE_ORDER_ORPHANS,
        ),
        1,
    ),
    BrokenExport(
        "revenue_as_a_list", revenue_as_a_list,
        (Expect("ERROR", "orders.revenue", "column 'revenue' (DOUBLE[]) holds lists, not a number; table not used",
                6),),
        1,
    ),
    # Point 9: a list or struct where a scalar is expected: that column is left out, every other check still runs.
    BrokenExport(
        "nested_columns", nested_columns,
        (
            Expect("WARN", "orders.channel", "column 'channel' (VARCHAR[]) holds lists, not text, read as empty", 6),
            Expect("WARN", "surveys.comment", "column 'comment' (STRUCT(\"text\" VARCHAR, lang VARCHAR)) holds "
                   "structs (nested fields), not text, read as empty", 3),
            Expect("WARN", "orders.order_id", "duplicate values, later copies left out", 1),
            _left_out("orders", 5, 6),
        ),
        0,
    ),
    # Point 12: boolean revenue and struct ids say what is wrong.
    BrokenExport(
        "boolean_revenue", boolean_revenue,
        (Expect("ERROR", "orders.revenue", "column 'revenue' (BOOLEAN) holds true/false, not a number; "
                "table not used", 6),),
        1,
    ),
    # Point 2: a partition folder named like a column of the files never replaces the files' values.
    BrokenExport(
        "hive_folder_shadows_columns", hive_folder_shadows_columns,
        (
            Expect("WARN", "orders.customer_id", "partition folder orders/customer_id=007/ is named like the files' "
                   "own column 'customer_id': the files' values are read, not the folder's"),
            Expect("WARN", "orders.revenue", "partition folder orders/customer_id=007/revenue=0/ is named like the "
                   "files' own column 'revenue': the files' values are read, not the folder's"),
        ),
        0,
    ),
    BrokenExport("hive_folder_adds_a_column", hive_folder_adds_a_column, (), 0),
    # Point 5: ids beyond 2**53 keep every digit; a float id that big is reported.
    BrokenExport(
        "ids_beyond_float_precision", ids_beyond_float_precision,
        (Expect("WARN", "orders.customer_id", "ids in column 'customer_id' stored as floats are 2^53 or more, beyond "
                "the whole numbers a float holds exactly: they may not match the same ids stored as integers or "
                "text (rows kept)", 1),),
        0,
    ),
    BrokenExport("ids_int_and_float_within_precision", ids_int_and_float_within_precision, (), 0),
    # Point 8: a date beyond what DuckDB holds costs its row (or its value), not the file.
    BrokenExport(
        "date_beyond_duckdb_range", date_beyond_duckdb_range,
        (
            Expect("WARN", "orders.ordered_at", "values in column 'ordered_at' of orders.parquet are dates beyond "
                   "the years 1-9999 (e.g. year 303139), read as empty", 1),
            Expect("WARN", "tickets.resolved_at", "values in column 'resolved_at' of tickets.parquet are dates "
                   "beyond the years 1-9999 (e.g. year 303139), read as empty", 1),
            Expect("WARN", "orders.ordered_at", "missing or unreadable timestamp, rows left out", 1),
            _left_out("orders", 5, 6),
        ),
        0,
    ),
    BrokenExport("dates_in_milliseconds", dates_in_milliseconds, (), 0),
    # Point 10: files of one table that DuckDB cannot read together are each read on their own schema.
    BrokenExport(
        "files_of_one_table_that_do_not_read_together", files_of_one_table_that_do_not_read_together,
        (Expect("WARN", "orders.ordered_at", "files have different types for column 'ordered_at': number in "
                "orders/year=2024/month=03/part-0.parquet; timestamp in orders/stray.parquet, "
                "orders/year=2024/month=01/part-0.parquet and 1 more"),),
        0,
    ),
    # Point 11: text that is not UTF-8 costs that value, named with its column and count, not the file.
    BrokenExport(
        "invalid_utf8_in_comment", invalid_utf8_in_comment,
        (Expect("WARN", "surveys.comment", "values in column 'comment' of surveys.parquet are not UTF-8 text, "
                "read as empty", 1),),
        0,
    ),
    BrokenExport("non_ascii_comment", non_ascii_comment, (), 0),
    # Point 12: epoch seconds beyond 2262 are a date in the future, not an unreadable column; a repeated header
    # row is named as one.
    BrokenExport(
        "epoch_seconds_beyond_2262", epoch_seconds_beyond_2262,
        (
            Expect("WARN", "orders.ordered_at", "timestamp in the future, rows left out", 1),
            _left_out("orders", 5, 6),
        ),
        0,
    ),
    BrokenExport(
        "repeated_header_row", repeated_header_row,
        (
            Expect("WARN", "orders", "rows repeat the column names (a header written into the data), left out", 1),
            _left_out("orders", 6, 7),
        ),
        0,
    ),
    # Point 15: ids that are contact details read as they are (pages and downloads show pseudonyms).
    BrokenExport("customer_ids_are_contact_details", customer_ids_are_contact_details, (), 0),
    BrokenExport(
        "struct_ids", struct_ids,
        (Expect("ERROR", "tickets.customer_id", "column 'customer_id' (STRUCT(id VARCHAR)) holds structs (nested "
                "fields), not an id; table not used", 2),),
        1,
    ),
]

UNREADABLE = BrokenExport(
    "unreadable_data_folder", unreadable_data_folder,
    (Expect("ERROR", "data", "is not readable (Permission denied)"),),
    1,
)

CASES_BY_NAME = {case.name: case for case in [CLEAN, *CASES, UNREADABLE]}


def build(name: str, parent: Path) -> Path:
    """Write the named export under parent and return the path to pass as ``--data``."""
    return CASES_BY_NAME[name].build(parent / name)


@pytest.fixture
def broken_export(tmp_path):
    """Write a corpus entry by name under tmp_path and return the path to validate; permissions restored after."""
    parent = tmp_path / "exports"
    yield lambda name: build(name, parent)
    for folder in parent.glob("*"):
        folder.chmod(0o755)


@pytest.fixture
def validate_environment(tmp_path, monkeypatch):
    """The CLI reads settings from the environment: no settings file, state kept under tmp_path."""
    for variable in [name for name in os.environ if name.startswith("DASHBOARD_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_STALE_AFTER_DAYS", str(NEVER_STALE))
    return dict(os.environ)


@pytest.fixture
def open_checked(open_database):
    """``open_database`` without the freshness check, which the 2024 corpus would always fail."""
    return lambda data_dir: open_database(data_dir, stale_after_days=NEVER_STALE)
