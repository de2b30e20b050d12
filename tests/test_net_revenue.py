"""Revenue net of refunds (queries/net_revenue.sql and the JSON report's refunds, net_revenue and net_aov keys) on a
hand-made fixture whose answers are worked out below, and against the independent pandas reference on the demo."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard import demo
from dashboard.filters import Filters, Segment
from dashboard.metrics import contract_metrics
from dashboard.queries import run_query
from tests import reference_metrics
from tests.conftest import FIXED_NOW
from tests.exports import write_table, utc, server_state

AS_OF = date(2024, 6, 30)
ALL = {"channels": None, "regions": None, "categories": None, "tiers": None}


@pytest.fixture
def refunds_dir(tmp_path):
    """Five orders of two customers (one cancelled, one after the as-of date) and six returns."""
    data_dir = tmp_path / "refunds"
    write_table(data_dir, "orders", {
        "order_id": ["o1", "o2", "o3", "o4", "o5"],
        "customer_id": ["c1", "c1", "c2", "c2", "c2"],
        "ordered_at": [utc("2024-03-01"), utc("2024-04-01"), utc("2024-03-10"), utc("2024-05-01"), utc("2024-07-05")],
        "revenue": [100.0, 60.0, 80.0, 40.0, 55.0],
        "status": ["completed", "completed", "completed", "cancelled", "completed"],
    })
    write_table(data_dir, "customers", {"customer_id": ["c1", "c2"], "acquisition_channel": ["email", "referral"]})
    write_table(data_dir, "returns", {
        "return_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
        "order_id": ["o1", "o2", "o3", "o4", "o3", "zz"],
        "customer_id": ["c1", "c1", "c2", "c2", "c2", "c2"],
        "requested_at": [utc("2024-03-05"), utc("2024-04-10"), utc("2024-03-20"), utc("2024-05-03"),
                         utc("2024-07-02"), utc("2024-04-01")],
        "reason": ["too_small", "damaged", None, "changed_mind", "damaged", "damaged"],
        "refund_amount": [100.0, 15.5, None, 40.0, 20.0, 9.0],
    })
    return data_dir


def test_net_revenue_by_hand(refunds_dir, open_database):
    cursor = open_database(refunds_dir).cursor(AS_OF)
    # Valid orders by 30 June: o1 100, o2 60, o3 80 (o4 cancelled, o5 after the as-of date): revenue 240, 3 orders.
    # Refunds subtracted: r1 100 (o1) + r2 15.50 (o2) = 115.50. Not subtracted: r3 (o3, no amount), r4 (o4 was
    # cancelled: its revenue never counted), r5 (requested after the as-of date), r6 (order zz unknown).
    row = run_query(cursor, "net_revenue", **ALL).iloc[0]
    assert (row["revenue"], row["orders"], row["refunds"], row["net_revenue"]) == (240.0, 3, 115.5, 124.5)
    assert row["net_aov"] == pytest.approx(124.5 / 3)
    assert (row["refunded_returns"], row["returns_without_amount"], row["returns_not_counted"]) == (2, 1, 2)
    assert bool(row["has_refund_amounts"])

    email = run_query(cursor, "net_revenue", **{**ALL, "channels": ["email"]}).iloc[0]
    assert (email["revenue"], email["refunds"], email["net_revenue"], email["returns_not_counted"]) == (
        160.0, 115.5, 44.5, 0)
    referral = run_query(cursor, "net_revenue", **{**ALL, "channels": ["referral"]}).iloc[0]
    assert (referral["revenue"], referral["refunds"], referral["net_revenue"]) == (80.0, 0.0, 80.0)
    assert (referral["returns_without_amount"], referral["returns_not_counted"]) == (1, 2)

    later = run_query(open_database(refunds_dir).cursor(date(2024, 7, 10)), "net_revenue", **ALL).iloc[0]
    # o5 (55) now counts; r5 (20 on o3) is now requested: 295 - 135.50.
    assert (later["revenue"], later["refunds"], later["net_revenue"]) == (295.0, 135.5, 159.5)

    metrics = contract_metrics(cursor)
    assert (metrics["refunds"], metrics["net_revenue"], metrics["net_aov"]) == (115.5, 124.5, pytest.approx(41.5))
    assert metrics["revenue"] == 240.0 and metrics["aov"] == pytest.approx(80.0)  # the existing keys keep their meaning
    reference = reference_metrics.contract_metrics(refunds_dir, AS_OF, now=FIXED_NOW)
    assert (reference["refunds"], reference["net_revenue"]) == (115.5, 124.5)


def test_without_refund_amounts_net_revenue_is_empty_not_gross(refunds_dir, open_database, tmp_path):
    returns = pd.read_parquet(refunds_dir / "returns.parquet").drop(columns=["refund_amount"])
    returns.to_parquet(refunds_dir / "returns.parquet", index=False)
    row = run_query(open_database(refunds_dir).cursor(AS_OF), "net_revenue", **ALL).iloc[0]
    assert row["revenue"] == 240.0 and not bool(row["has_refund_amounts"])
    assert pd.isna(row["refunds"]) and pd.isna(row["net_revenue"]) and pd.isna(row["net_aov"])
    (refunds_dir / "returns.parquet").unlink()
    metrics = contract_metrics(open_database(refunds_dir).cursor(AS_OF))
    assert metrics["net_revenue"] is None and metrics["refunds"] is None and metrics["revenue"] == 240.0


@pytest.mark.parametrize("filters", [Filters(), Filters(Segment(channels=("email", "referral"), tiers=("gold",)))])
def test_net_revenue_equals_pandas_on_the_demo(tmp_path, open_database, filters):
    demo.generate(tmp_path / "demo", customers=1_500, seed=4)
    database = open_database(tmp_path / "demo")
    as_of = date(2026, 6, 17)
    metrics = contract_metrics(database.cursor(as_of), filters)
    if filters == Filters():
        reference = reference_metrics.contract_metrics(tmp_path / "demo", as_of, now=FIXED_NOW)
        assert metrics["refunds"] == pytest.approx(reference["refunds"], abs=0.005)
        assert metrics["net_revenue"] == pytest.approx(reference["net_revenue"], abs=0.005)
        assert metrics["refunds"] > 0
    else:
        assert metrics["net_revenue"] <= metrics["revenue"]


def page_captions(monkeypatch, tmp_path, data_dir, page: str) -> list[str]:
    """The captions of the Overview or Repeat purchase page (the real app script, headless) as of 30 June 2024."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(data_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"), default_timeout=240)
    if page != "overview":
        at.switch_page(f"dashboard/pages/{page}.py")
    at.query_params["as_of"] = AS_OF.isoformat()
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    return [str(caption.value) for caption in at.caption]


@pytest.mark.parametrize("page", ["overview", "repeat"])
def test_the_overview_and_repeat_pages_show_net_beside_gross(refunds_dir, monkeypatch, tmp_path, page):
    """The fixture's numbers as the pages show them: $240.00 gross, $124.50 net of $115.50 on 2 returns, average
    order $80.00 gross and $41.50 net, 1 return without an amount; without amounts or returns, they say so."""
    line = next(text for text in page_captions(monkeypatch, tmp_path, refunds_dir, page)
                if text.startswith("Revenue to date"))
    assert line == ("Revenue to date **\\$240.00** gross, average order \\$80.00; net of refunds **\\$124.50** "
                    "(\\$115.50 refunded on 2 returns), average order \\$41.50 net. 1 return without an amount "
                    "not subtracted.")
    returns = pd.read_parquet(refunds_dir / "returns.parquet").drop(columns=["refund_amount"])
    returns.to_parquet(refunds_dir / "returns.parquet", index=False)
    line = next(text for text in page_captions(monkeypatch, tmp_path / "no-amounts", refunds_dir, page)
                if text.startswith("Revenue to date"))
    assert "Net of refunds: unknown, the returns export carries no refund amount" in line
    (refunds_dir / "returns.parquet").unlink()
    captions = page_captions(monkeypatch, tmp_path / "no-returns", refunds_dir, page)
    assert "No returns exported: add `returns` to the data folder to see revenue net of refunds." in captions
    assert not any(text.startswith("Revenue to date") for text in captions)
