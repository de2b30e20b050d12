"""Local times in the model (ordered_local, submitted_local) equal pandas' time zone conversion, row by row.

The model converts UTC to local time with one time zone lookup per 15-minute slot (queries/model_local_offsets.sql)
instead of one per row. These tests put orders and survey responses on the instants where that could go wrong:
both sides of daylight-saving changes (an hour, Lord Howe's half hour), zones offset by 30 and 45 minutes, Samoa
skipping 30 December 2011, and a spread of random instants, and compare with pandas' tz_convert.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.model import Database
from dashboard.settings import load_settings
from tests.exports import write_table

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Kathmandu",
         "Pacific/Chatham", "America/St_Johns", "Pacific/Apia"]
EDGES = [
    "2024-03-10 06:59:59", "2024-03-10 07:00:00", "2024-11-03 05:59:59.999999", "2024-11-03 06:00:00",  # New York
    "2024-03-31 00:59:59", "2024-03-31 01:00:00", "2024-10-27 00:59:59", "2024-10-27 01:00:00",  # Berlin
    "2024-04-06 14:59:59", "2024-04-06 15:00:00", "2024-10-05 15:29:59", "2024-10-05 15:30:00",  # Lord Howe
    "2011-12-29 09:59:59", "2011-12-29 10:00:00", "2011-12-30 10:00:00",  # Samoa skips 30 December 2011
    "2023-12-31 23:59:59.999999", "2024-01-01 00:00:00", "2024-02-29 12:00:00",
]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("local_time")
    rng = np.random.default_rng(11)
    start = pd.Timestamp("2010-01-01").value // 1_000
    end = pd.Timestamp("2026-06-01").value // 1_000
    random_instants = pd.to_datetime(rng.integers(start, end, 3_000), unit="us")
    instants = pd.Series(list(pd.to_datetime(EDGES, format="ISO8601")) + list(random_instants))
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(instants))],
        "customer_id": [f"c{i % 400}" for i in range(len(instants))],
        "ordered_at": instants,
        "revenue": 10.0,
        "status": "paid",
    })
    surveys = pd.DataFrame({
        "response_id": [f"r{i}" for i in range(len(instants))],
        "customer_id": orders["customer_id"],
        "order_id": orders["order_id"],
        "submitted_at": instants,
        "kind": "nps",
        "score": 9,
    })
    write_table(data_dir, "orders", orders)
    write_table(data_dir, "surveys", surveys)
    return data_dir, instants


def pandas_local(instants: pd.Series, zone: str) -> pd.Series:
    return instants.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)


@pytest.mark.parametrize("zone", ZONES)
def test_model_local_times_equal_pandas_conversion(exports, tmp_path, zone):
    data_dir, instants = exports
    database = Database.open(load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path, timezone=zone))
    cursor = database.cursor(date(2026, 6, 30))
    orders = cursor.execute("select order_id, ordered_at, ordered_local from valid_orders").df()
    surveys = cursor.execute("select response_id, submitted_at, submitted_local from valid_surveys").df()
    assert len(orders) == len(instants) and len(surveys) == len(instants)
    expected = pd.DataFrame({"id": range(len(instants)), "local": pandas_local(instants, zone)})
    for frame, id_column, local_column in ((orders, "order_id", "ordered_local"),
                                           (surveys, "response_id", "submitted_local")):
        frame = frame.assign(id=frame[id_column].str[1:].astype(int)).sort_values("id").reset_index(drop=True)
        assert frame[local_column].notna().all()
        mismatched = frame[frame[local_column].astype("datetime64[us]").values
                           != expected["local"].astype("datetime64[us]").values]
        assert mismatched.empty, f"{zone}: {len(mismatched)} rows differ, e.g.\n{mismatched.head()}"


def test_default_as_of_is_the_latest_local_date(exports, tmp_path):
    """The default as-of date is the local date of the latest order, computed from the latest instants only."""
    data_dir, instants = exports
    for zone in ("Pacific/Chatham", "America/St_Johns"):
        database = Database.open(load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path, timezone=zone))
        assert database.default_as_of() == pandas_local(instants, zone).max().date()
