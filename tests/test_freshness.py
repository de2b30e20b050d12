"""Freshness and drift: stale exports and shrinking tables are reported by validate and the Data page."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from dashboard import cli
from dashboard.model import Database
from dashboard.settings import load_settings
from tests.exports import write_table


def orders(count: int, last_day: str) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": [f"O{i}" for i in range(count)],
        "customer_id": [f"C{i % 7}" for i in range(count)],
        "ordered_at": pd.date_range(end=pd.Timestamp(last_day), periods=count, freq="h"),
        "revenue": [10.0] * count,
    })


def test_validate_warns_when_the_newest_order_is_older_than_the_limit(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    write_table(tmp_path / "old", "orders", orders(20, "2020-05-01 12:00"))
    monkeypatch.setenv("DASHBOARD_STALE_AFTER_DAYS", "30")
    assert cli.main(["validate", "--data", str(tmp_path / "old")]) == 0
    out = capsys.readouterr().out
    assert "WARN orders.ordered_at: newest order is" in out and "the limit is 30 days" in out


def test_fresh_exports_give_no_freshness_warning(tmp_path):
    write_table(tmp_path / "fresh", "orders", orders(20, "2026-11-21 12:00"))
    settings = load_settings(environ={}, data_dir=tmp_path / "fresh", state_dir=tmp_path / "state")
    database = Database.open(settings, now=datetime(2026, 11, 22, 9, 0))
    assert not [f for f in database.findings() if "newest order" in f.message]


def test_a_table_that_shrinks_against_the_last_load_is_reported(tmp_path):
    data_dir = tmp_path / "exports"
    settings = load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path / "state", row_drop_warn_share=0.2)
    write_table(data_dir, "orders", orders(100, "2026-11-21 12:00"))
    first = Database.open(settings, now=datetime(2026, 11, 22))
    assert not [f for f in first.findings() if "dropped" in f.message]
    write_table(data_dir, "orders", orders(90, "2026-11-21 12:00"))  # -10%: within the limit
    second = Database.open(settings, now=datetime(2026, 11, 22))
    assert not [f for f in second.findings() if "dropped" in f.message]
    write_table(data_dir, "orders", orders(50, "2026-11-21 12:00"))  # -44% against the last load (90)
    third = Database.open(settings, now=datetime(2026, 11, 22))
    drops = [f for f in third.findings() if "dropped" in f.message]
    assert len(drops) == 1 and drops[0].table == "orders" and drops[0].row_count == 40
    assert "90 -> 50" in drops[0].message and "44%" in drops[0].message
    assert list(data_dir.rglob("*")) == [data_dir / "orders.parquet"]  # nothing written next to the exports
