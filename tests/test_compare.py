"""Segment comparison: each column equals what the single-segment pages show for that segment, the new revenue
per customer curve and the pooled retention equal pandas on the model's rows, the intervals are the textbook
ones, the URL holds the comparison, and an orders-only export says "not exported" instead of 0."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import compare, demo, figures
from dashboard import segments as segment_specs
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests.conftest import FIXED_NOW
from tests.segments import in_segment
from tests.exports import server_state

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
SEGMENTS = [{"tier": ("gold",)}, {"tier": ("silver",)}, {"channel": ("referral",), "region": ("Europe", "UK")}, {}]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    demo_dir = root / "demo"
    demo.generate(demo_dir, customers=2_500, seed=19)
    orders_only = root / "orders_only"
    orders_only.mkdir()
    shutil.copytree(demo_dir / "orders", orders_only / "orders")
    return {"demo": demo_dir, "orders_only": orders_only}


@pytest.fixture(scope="module")
def cursor(exports, tmp_path_factory):
    settings = load_settings(environ={}, data_dir=exports["demo"], state_dir=tmp_path_factory.mktemp("state"))
    return Database.open(settings, now=FIXED_NOW).cursor()


def runner(cursor):
    return lambda name, **params: run_query(cursor, name, **params)


def values(comparison, metric: str) -> dict:
    rows = comparison.summary[comparison.summary["metric"] == metric]
    return {row["segment"]: row for row in rows.to_dict("records")}


def test_each_column_equals_the_single_segment_queries(cursor):
    comparison = compare.compare_segments(runner(cursor), SEGMENTS, {"surveys": True, "tickets": True})
    assert list(comparison.labels.values()) == ["A · Tier: Gold", "B · Tier: Silver",
                                                "C · Channel: Referral; Region: Europe, UK", "D · All customers"]
    for letter, segment in zip("ABCD", SEGMENTS):
        params = segment_specs.filters(segment).params()  # what a page runs with this segment in the sidebar
        kpis = run_query(cursor, "kpis", **params).iloc[0]
        second = run_query(cursor, "second_order_rate_90d", **params).iloc[0]
        satisfaction = run_query(cursor, "satisfaction_90d", **params).iloc[0]
        care = run_query(cursor, "care_repeat_rates", **params).set_index(["care_dimension", "care_group"])
        assert values(comparison, "customers")[letter]["value"] == kpis["customers"] > 0
        assert values(comparison, "repeat_rate")[letter]["value"] == pytest.approx(kpis["repeat_rate"], abs=1e-12)
        assert values(comparison, "second_order_rate_90d")[letter]["value"] == pytest.approx(
            second["second_order_rate_90d"], abs=1e-12)
        assert values(comparison, "nps_90d")[letter]["value"] == pytest.approx(satisfaction["nps_90d"], abs=1e-9)
        assert values(comparison, "csat_90d")[letter]["value"] == pytest.approx(satisfaction["csat_90d"], abs=1e-12)
        for group in ("resolved", "unresolved"):
            row, expected = values(comparison, f"repurchase_after_{group}")[letter], care.loc[("ticket", group)]
            assert row["n"] == expected["anchor_orders"]
            if expected["anchor_orders"] == 0:
                assert row["value"] is None and row["note"] == "none to measure"
                continue
            assert row["value"] == pytest.approx(expected["repurchase_rate_90d"], abs=1e-12)
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((expected["ci_low"], expected["ci_high"]), abs=1e-9)
            assert row["n"] == expected["anchor_orders"]


def test_intervals_are_wilson_newcombe_and_normal(cursor):
    comparison = compare.compare_segments(runner(cursor), SEGMENTS[:2], {"surveys": True, "tickets": True})
    gold, silver = values(comparison, "repeat_rate")["A"], values(comparison, "repeat_rate")["B"]
    low, high = figures.wilson_interval(round(gold["value"] * gold["n"]), gold["n"], compare.Z)
    assert (gold["ci_low"], gold["ci_high"]) == pytest.approx((float(low), float(high)))
    difference = comparison.differences.set_index(["metric", "segment"]).loc[("repeat_rate", "B")]
    expected_low = (silver["value"] - gold["value"]) - math.sqrt(
        (silver["value"] - silver["ci_low"]) ** 2 + (gold["ci_high"] - gold["value"]) ** 2)
    assert difference["difference"] == pytest.approx(silver["value"] - gold["value"])
    assert difference["ci_low"] == pytest.approx(expected_low)
    z = compare.Z
    assert compare.nps_interval(50, 20, 100) == pytest.approx((30.0, 30 - z * 100 * math.sqrt((0.7 - 0.09) / 100),
                                                               30 + z * 100 * math.sqrt((0.7 - 0.09) / 100)))
    days = pd.DataFrame({"days_to_second_order": [1, 2, 3, 10], "customers": [1, 1, 1, 1]})
    assert compare.median_days(days)[0] == 2.5 and compare.median_days(days)[3] == 4


def model_frames(cursor):
    summary = cursor.execute("select * from customer_summary").df()
    orders = cursor.execute("select customer_id, ordered_local, revenue from valid_orders").df()
    as_of = cursor.execute("select as_of from model_info").fetchone()[0]
    return summary, orders, as_of


@pytest.mark.parametrize("segment", [{}, {"tier": ("gold",)}, {"channel": ("referral", "email")}])
def test_revenue_per_customer_by_month_equals_pandas(cursor, segment):
    summary, orders, as_of = model_frames(cursor)
    members = in_segment(summary, {segment_specs.SEGMENT_KEYS[key][0]: list(v) for key, v in segment.items()})
    orders = orders[orders["customer_id"].isin(members["customer_id"])].copy()
    orders["month"] = pd.to_datetime(orders["ordered_local"]).dt.to_period("M")
    cohort = orders.groupby("customer_id")["month"].min()
    orders["k"] = [(month - cohort[customer]).n for month, customer in zip(orders["month"], orders["customer_id"])]
    as_of_month = pd.Period(as_of, "M")
    last_day_of_month = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).month != pd.Timestamp(as_of).month
    last_complete = {customer: (as_of_month - month).n - (0 if last_day_of_month else 1)
                     for customer, month in cohort.items()}
    ours = run_query(cursor, "revenue_per_customer_by_month", **segment_specs.params(segment))
    assert len(ours) == max(last_complete.values()) + 1
    for row in ours.itertuples():
        k = row.months_since_first_order
        customers = [customer for customer, last in last_complete.items() if last >= k]
        totals = orders[orders["customer_id"].isin(customers) & (orders["k"] <= k)].groupby("customer_id")[
            "revenue"].sum().reindex(customers, fill_value=0.0)
        assert row.customers == len(customers)
        assert row.revenue_per_customer == pytest.approx(totals.mean(), rel=1e-9)
        assert row.revenue_sd == pytest.approx(totals.std(ddof=1), rel=1e-6)
        assert row.ci_low == pytest.approx(totals.mean() - 1.96 * totals.std(ddof=1) / np.sqrt(len(customers)),
                                           rel=1e-6)


def test_pooled_retention_equals_pandas(cursor):
    comparison = compare.compare_segments(runner(cursor), [{"tier": ("gold",)}, {}], {"surveys": True,
                                                                                      "tickets": True})
    summary, orders, as_of = model_frames(cursor)
    orders["month"] = pd.to_datetime(orders["ordered_local"]).dt.to_period("M")
    cohort = orders.groupby("customer_id")["month"].min()
    orders["k"] = [(month - cohort[customer]).n for month, customer in zip(orders["month"], orders["customer_id"])]
    as_of_month = pd.Period(as_of, "M")
    last_day_of_month = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).month != pd.Timestamp(as_of).month
    ours = comparison.retention[comparison.retention["segment"] == "B"].set_index("months_since_first_order")
    for k in (1, 3, 12):
        complete = [c for c, month in cohort.items() if (as_of_month - month).n - (0 if last_day_of_month else 1) >= k]
        active = orders[orders["customer_id"].isin(complete) & (orders["k"] == k)]["customer_id"].nunique()
        assert ours.loc[k, "customers"] == len(complete)
        assert ours.loc[k, "retention_rate"] == pytest.approx(active / len(complete), rel=1e-12)


def test_orders_only_export_says_not_exported(exports, tmp_path):
    settings = load_settings(environ={}, data_dir=exports["orders_only"], state_dir=tmp_path / "state")
    cursor = Database.open(settings, now=FIXED_NOW).cursor()
    # without a customers table the channel is the first order's sales channel
    comparison = compare.compare_segments(runner(cursor), [{"channel": ("web",)}, {"channel": ("app",)}],
                                          {"surveys": False, "tickets": False})
    for metric in ("nps_90d", "csat_90d", "repurchase_after_resolved", "repurchase_after_unresolved"):
        for row in values(comparison, metric).values():
            assert row["value"] is None and row["note"] == "not exported"
    assert values(comparison, "repeat_rate")["A"]["value"] is not None
    assert comparison.care.empty


def test_two_to_four_segments(cursor):
    with pytest.raises(ValueError, match="compare 2 to 4 segments, not 1"):
        compare.compare_segments(runner(cursor), [{}], {})
    with pytest.raises(ValueError, match="not 5"):
        compare.compare_segments(runner(cursor), [{}] * 5, {})


def test_tokens_from_a_url_are_read_strictly():
    assert segment_specs.from_tokens(["tier:gold", "channel:email", "tier:gold", "colour:red", "'; drop", "tier:"]) \
        == {"channel": ("email",), "tier": ("gold",)}
    assert segment_specs.overlap({"tier": ("gold",)}, {"channel": ("email",)})
    assert not segment_specs.overlap({"tier": ("gold",)}, {"tier": ("silver",), "channel": ("email",)})


def open_compare(monkeypatch, tmp_path, data_dir, params: dict) -> AppTest:
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(data_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("dashboard/pages/compare.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def table_cell(at: AppTest, metric_label: str, column: str) -> str:
    table = at.dataframe[0].value.set_index("Metric")  # side by side; the differences are the second table
    return table.loc[metric_label, column]


def test_the_url_holds_the_comparison_and_matches_the_repeat_and_satisfaction_pages(exports, monkeypatch, tmp_path):
    at = open_compare(monkeypatch, tmp_path, exports["demo"],
                      {"compare_n": "3", "compare_a": "Tier: Gold", "compare_b": ["Tier: Silver"],
                       "compare_c": ["Channel: Referral", "Region: Europe"]})
    assert not at.exception, [item.value for item in at.exception]
    assert at.segmented_control(key="compare_n").value == "3"
    assert at.multiselect(key="compare_a").value == ["tier:gold"]
    assert at.multiselect(key="compare_c").value == ["channel:referral", "region:Europe"]
    assert [metric.label for metric in at.metric] == ["A · Tier: Gold", "B · Tier: Silver",
                                                      "C · Channel: Referral; Region: Europe"]
    gold_repeat = table_cell(at, "Repeat rate (2+ orders)", "A · Tier: Gold")
    gold_nps = table_cell(at, "NPS (90 days)", "A · Tier: Gold")

    # the same segment on the single-segment pages, through the sidebar
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(exports["demo"]))
    repeat = AppTest.from_file(APP, default_timeout=180)
    repeat.switch_page("dashboard/pages/repeat.py")
    repeat.query_params["tier"] = "gold"
    repeat.run()
    shown = [metric.value for metric in repeat.metric if metric.label == "Repeat rate"][0]
    assert gold_repeat.startswith(f"{shown} (")
    satisfaction = AppTest.from_file(APP, default_timeout=180)
    satisfaction.switch_page("dashboard/pages/satisfaction.py")
    satisfaction.query_params["tier"] = "gold"
    satisfaction.run()
    shown = [metric.value for metric in satisfaction.metric if metric.label == "NPS, last 90 days"][0]
    assert gold_nps.startswith(f"{shown} (")

    # a picker changed by hand recomputes the column (the browser writes it to the URL: AppTest has no frontend)
    at.multiselect(key="compare_b").set_value(["tier:none"]).run()
    assert "B · Tier: No tier" in [metric.label for metric in at.metric]
    assert not at.exception


def test_the_page_on_an_orders_only_export_and_with_an_empty_segment(exports, monkeypatch, tmp_path):
    at = open_compare(monkeypatch, tmp_path, exports["orders_only"],
                      {"compare_a": "Channel: Web shop", "compare_b": "Channel: App"})
    assert not at.exception, [item.value for item in at.exception]
    assert table_cell(at, "NPS (90 days)", "A · Channel: Web shop") == "not exported"
    assert table_cell(at, "Bought again ≤ 90 days after a resolved complaint", "B · Channel: App") == \
        "not exported"
    assert table_cell(at, "Repeat rate (2+ orders)", "A · Channel: Web shop").endswith("%), n=" + table_cell(
        at, "Customers", "A · Channel: Web shop"))
    assert any("Support tickets were not exported" in info.value for info in at.info)
    assert any("Surveys were not exported" in info.value for info in at.info)


def test_the_page_on_an_empty_orders_table_explains_itself(monkeypatch, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    schema = pa.schema([("order_id", pa.string()), ("customer_id", pa.string()),
                        ("ordered_at", pa.timestamp("us", tz="UTC")), ("revenue", pa.float64())])
    pq.write_table(schema.empty_table(), empty_dir / "orders.parquet")
    at = open_compare(monkeypatch, tmp_path, empty_dir, {"compare_a": "Tier: Gold"})
    assert not at.exception
    assert any("orders export is missing, unusable or empty" in error.value for error in at.error)
