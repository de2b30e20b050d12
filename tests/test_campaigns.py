"""Campaigns: the order rates, lift and 95% interval on a hand-made export, against an independent pandas
computation and an independently written Newcombe interval; the demo's planted effects recovered; a list exported
with a holdout measured; the JSON report's campaigns key; the contract's campaigns table checked."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest

from dashboard import campaigns, churn, demo, formatting, winback
from dashboard.cli import main
from tests.exports import write_table

AS_OF = date(2024, 6, 30)
APP = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "streamlit_app.py")


def independent_newcombe(x1, n1, x2, n2, level=0.95):
    """Newcombe's method 10 written from the paper: each Wilson limit is a root of
    (p - phat)^2 = z^2 p (1 - p) / n, found with numpy's polynomial roots."""
    z = stats.norm.ppf(1 - (1 - level) / 2)

    def wilson(x, n):
        phat = x / n
        # (1 + z^2/n) p^2 - (2 phat + z^2/n) p + phat^2 = 0
        roots = np.sort(np.roots([1 + z * z / n, -(2 * phat + z * z / n), phat * phat]).real)
        return roots[0], roots[1]

    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = wilson(x1, n1), wilson(x2, n2)
    delta = p1 - p2
    return delta - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), delta + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


@pytest.mark.parametrize("x1, n1, x2, n2, low, high", [
    (56, 70, 48, 80, 0.0524, 0.3339),  # Newcombe (1998), table II, examples (a) to (d)
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
])
def test_newcombe_interval_reproduces_the_published_examples(x1, n1, x2, n2, low, high):
    assert campaigns.newcombe_interval(x1, n1, x2, n2) == pytest.approx((low, high), abs=5e-5)
    assert campaigns.newcombe_interval(x1, n1, x2, n2) == pytest.approx(independent_newcombe(x1, n1, x2, n2),
                                                                        abs=1e-9)


@pytest.fixture
def campaign_dir(tmp_path):
    """Orders of 300 customers and two campaigns: A (sent 1 Mar, 200 customers, 20% holdout) and B (sent 20 Jun,
    its 30-day window not over by 30 Jun), plus traps: a duplicate member, a bad group, a cancelled order."""
    rng = np.random.default_rng(4)
    customers = [f"c{i:03d}" for i in range(300)]
    rows = []
    for index, customer in enumerate(customers):
        rows.append((f"F{index}", customer, pd.Timestamp("2023-06-01 12:00") + pd.Timedelta(days=int(index % 200)),
                     40.0, "completed", None))
        for order in range(int(rng.integers(0, 4))):
            day = pd.Timestamp("2024-03-01") + pd.Timedelta(days=int(rng.integers(-20, 110)), hours=int(rng.integers(0, 24)))
            rows.append((f"R{index}-{order}", customer, day, float(rng.integers(10, 90)),
                         "cancelled" if rng.random() < 0.1 else "completed",
                         float(rng.choice([0.0, 0.1, 0.25]))))
    orders = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "revenue", "status", "discount"])
    write_table(tmp_path / "data", "orders", orders)
    members = pd.DataFrame({
        "campaign_id": ["A"] * 200 + ["B"] * 50,
        "customer_id": customers[:200] + customers[200:250],
        "group": np.where(np.arange(250) % 5 == 0, "Holdout", "treatment"),
        "sent_at": [pd.Timestamp("2024-03-01 09:00")] * 200 + [pd.Timestamp("2024-06-20 09:00")] * 50,
        "channel": "email", "offer": "10% off",
    })
    traps = pd.DataFrame({"campaign_id": ["A", "A"], "customer_id": ["c001", "c299"], "group": ["holdout", "control"],
                          "sent_at": [pd.Timestamp("2024-03-05 09:00")] * 2, "channel": "email", "offer": None})
    write_table(tmp_path / "data", "campaigns", pd.concat([members, traps]))
    return tmp_path / "data", orders, members


def pandas_rates(orders: pd.DataFrame, members: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per campaign x group x window, from the rows: customers, who ordered (not cancelled, by the as-of day)."""
    valid = orders[(orders.status != "cancelled") & (orders.ordered_at < pd.Timestamp(as_of) + pd.Timedelta(days=1))]
    rows = []
    for window in (30, 60, 90):
        for (campaign, group), part in members.assign(group=members.group.str.lower()).groupby(["campaign_id", "group"]):
            joined = part.merge(valid, on="customer_id")
            hit = joined[(joined.ordered_at > joined.sent_at)
                         & (joined.ordered_at <= joined.sent_at + pd.Timedelta(days=window))]
            rows.append({"campaign_id": campaign, "group": group, "window_days": window, "customers": len(part),
                         "ordered": hit.customer_id.nunique(), "revenue": hit.revenue.sum()})
    return pd.DataFrame(rows)


def test_lift_and_interval_match_an_independent_computation(open_database, campaign_dir, tmp_path):
    data_dir, orders, members = campaign_dir
    cursor = open_database(data_dir).cursor(AS_OF)
    table = campaigns.lift_table(campaigns.campaign_outcomes(cursor))
    expected = pandas_rates(orders, members, AS_OF)
    a = table[table.campaign_id == "A"].set_index("window_days")
    for window in (30, 60, 90):
        rows = expected[(expected.campaign_id == "A") & (expected.window_days == window)].set_index("group")
        treated, held = rows.loc["treatment"], rows.loc["holdout"]
        row = a.loc[window]
        assert (row.treatment_customers, row.holdout_customers) == (160, 40)  # the traps changed nothing
        assert row.treatment_rate == pytest.approx(treated.ordered / treated.customers, abs=1e-12)
        assert row.holdout_rate == pytest.approx(held.ordered / held.customers, abs=1e-12)
        assert row.lift == pytest.approx(treated.ordered / 160 - held.ordered / 40, abs=1e-12)
        assert (row.lift_ci_low, row.lift_ci_high) == pytest.approx(
            independent_newcombe(treated.ordered, 160, held.ordered, 40), abs=1e-9)
        assert row.treatment_revenue_per_customer == pytest.approx(treated.revenue / 160)
        assert row.is_complete
    assert a.loc[90].verdict.startswith(("No measurable effect", "Holdout too small", "Worked", "Backfired"))
    b = table[table.campaign_id == "B"]
    assert not b.is_complete.any() and b.treatment_rate.isna().all()
    assert b.verdict.str.startswith("Not over yet").all()


def test_discounts_given_are_the_list_price_share(open_database, campaign_dir, tmp_path):
    data_dir, orders, members = campaign_dir
    cursor = open_database(data_dir).cursor(AS_OF)
    outcomes = campaigns.campaign_outcomes(cursor)
    row = outcomes[(outcomes.campaign_id == "A") & (outcomes.campaign_group == "treatment")
                   & (outcomes.window_days == 60)].iloc[0]
    treated = members[(members.campaign_id == "A") & (members.group == "treatment")]
    joined = treated.merge(orders[orders.status != "cancelled"], on="customer_id")
    hit = joined[(joined.ordered_at > joined.sent_at) & (joined.ordered_at <= joined.sent_at + pd.Timedelta(days=60))]
    given = (hit.revenue * hit.discount.fillna(0) / (1 - hit.discount.fillna(0))).sum()
    assert row.discount_given == pytest.approx(given) and given > 0


def test_a_small_holdout_says_it_is_too_small():
    outcomes = pd.DataFrame({
        "campaign_id": ["X", "X"], "campaign_group": ["treatment", "holdout"], "window_days": [90, 90],
        "first_sent_at": [pd.Timestamp("2024-01-01")] * 2, "last_sent_at": [pd.Timestamp("2024-01-01")] * 2,
        "window_end_at": [pd.Timestamp("2024-03-31")] * 2, "is_complete": [True, True],
        "customers": [900, 20], "customers_ordered": [300, 2], "orders": [400, 2], "revenue": [9000.0, 60.0],
        "discount_given": [100.0, 0.0], "channel": ["email"] * 2, "offer": [None, None],
    })
    row = campaigns.lift_table(outcomes).iloc[0]
    assert row.is_too_small and row.verdict.startswith("Holdout too small to tell: only 20 customers")
    inconclusive = outcomes.assign(customers=[900, 60], customers_ordered=[300, 15])
    row = campaigns.lift_table(inconclusive).iloc[0]
    assert row.is_too_small and row.verdict.startswith("Holdout too small to tell: 60 customers can only show")
    bigger = outcomes.assign(customers=[9000, 1000], customers_ordered=[3000, 200])
    row = campaigns.lift_table(bigger).iloc[0]
    assert not row.is_too_small and row.verdict.startswith("Worked: +13.3 points")


def test_the_demos_planted_effects_are_recovered(open_database, tmp_path):
    demo.generate(tmp_path / "demo", customers=20_000, seed=7)
    cursor = open_database(tmp_path / "demo").cursor(date(2026, 11, 15))
    table = campaigns.lift_table(campaigns.campaign_outcomes(cursor))
    ninety = table[table.window_days == 90].set_index("campaign_id")
    assert set(ninety.index) == {"winback-2026-03", "second-order-2026-06"}
    worked, flat = ninety.loc["winback-2026-03"], ninety.loc["second-order-2026-06"]
    assert worked.lift_ci_low > 0 and worked.verdict.startswith("Worked")
    assert flat.lift_ci_low < 0 < flat.lift_ci_high and flat.verdict.startswith("No measurable effect")
    assert not worked.is_too_small and not flat.is_too_small
    assert worked.treatment_discount_given > 0


def test_a_list_exported_with_a_holdout_is_measured(open_database, tmp_path):
    demo.generate(tmp_path / "demo", customers=2_000, seed=3)
    database = open_database(tmp_path / "demo")
    cursor = database.cursor(date(2026, 8, 1))
    request = winback.ListRequest(date(2026, 8, 1), churn.WinbackRules(states=("slipping", "lapsed")),
                                  options=winback.ExportOptions(holdout_share=0.2, seed=5))
    export = winback.build_export(cursor, request, show_pii=False, opt_in_known=True)
    winback.record_campaign(tmp_path / "state", export, "tester", "UTC")
    later = database.cursor(date(2026, 11, 15))  # 106 days later: the 90-day window is over
    table = campaigns.lift_table(campaigns.campaign_outcomes(later))
    row = table[(table.campaign_id == request.campaign_id) & (table.window_days == 90)].iloc[0]
    assert (row.treatment_customers, row.holdout_customers) == (export.exported, len(export.holdout))
    assert row.sent_at == pd.Timestamp("2026-08-02") and row.is_complete
    orders = later.execute("select customer_id, ordered_at from valid_orders where ordered_at > '2026-08-02' "
                           "and ordered_at <= '2026-10-31'").df()
    ordered = set(orders.customer_id)
    assert row.treatment_ordered == len(set(export.treatment.customer_id) & ordered)
    assert row.holdout_ordered == len(set(export.holdout.customer_id) & ordered)
    early = campaigns.lift_table(campaigns.campaign_outcomes(database.cursor(date(2026, 9, 15))))
    early = early[early.campaign_id == request.campaign_id].set_index("window_days")
    assert early.loc[30].is_complete and not early.loc[60].is_complete and not early.loc[90].is_complete
    assert early.loc[90].verdict == "Not over yet: the window ends on 31 Oct 2026."


def test_json_report_has_the_campaigns_key(monkeypatch, tmp_path):
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "none.toml"))
    demo.generate(tmp_path / "demo", customers=3_000, seed=7)
    out = tmp_path / "report.json"
    assert main(["report", "--data", str(tmp_path / "demo"), "--format", "json", "--out", str(out)]) == 0
    entries = json.loads(out.read_text())["campaigns"]
    assert [entry["campaign_id"] for entry in entries] == ["winback-2026-03", "second-order-2026-06"]
    for entry in entries:
        assert list(entry) == ["campaign_id", "sent_at", "treatment_customers", "holdout_customers", "window_days",
                               "treatment_rate", "holdout_rate", "lift", "lift_ci_low", "lift_ci_high"]
        assert entry["window_days"] == 90 and 0 <= entry["treatment_rate"] <= 1
        assert entry["lift"] == pytest.approx(entry["treatment_rate"] - entry["holdout_rate"], abs=2e-6)
        assert entry["lift_ci_low"] < entry["lift"] < entry["lift_ci_high"]
    assert entries[0]["sent_at"] == "2026-03-31T10:00:00Z"


def test_campaigns_page_shows_each_campaign_and_its_verdict(monkeypatch, tmp_path):
    demo.generate(tmp_path / "demo", customers=8_000, seed=7)  # since the planted departures 3,000 hold 48 in a holdout
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(tmp_path / "demo"))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "none.toml"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("dashboard/pages/campaigns.py")
    at.run()
    assert not at.exception and not at.error
    # The page's lifts are the JSON report's 90-day lifts (computed from the same rows; the pandas check of the lift
    # itself is test_lift_and_interval_match_an_independent_computation).
    from dashboard.model import Database
    from dashboard.settings import load_settings

    database = Database.open(load_settings(environ={}, data_dir=tmp_path / "demo", state_dir=tmp_path / "report"))
    report = campaigns.campaign_report(database.cursor())
    assert [m.value for m in at.metric if m.label == "Lift"] == [f"{100 * row['lift']:+.1f} pts" for row in report]
    verdicts = [element.value for element in (*at.success, *at.info, *at.warning)]
    assert any(text.startswith("Worked") for text in verdicts), verdicts
    assert any(text.startswith("No") and "zero" in text for text in verdicts), verdicts  # the offer that does nothing
    assert "campaign_lift" in {element.key for element in at.get("plotly_chart")}


def test_campaigns_page_without_campaigns_says_how_to_get_them(monkeypatch, tmp_path):
    demo.generate(tmp_path / "demo", customers=500, seed=7)
    (tmp_path / "demo" / "campaigns.parquet").unlink()
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(tmp_path / "demo"))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "none.toml"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("dashboard/pages/campaigns.py")
    at.run()
    assert not at.exception
    assert any("No campaign to measure yet" in info.value and "No campaigns table was exported" in info.value
               for info in at.info)

    # The page's outcomes are cached (a rerun does not read every order again), until a list is recorded: one
    # exported with a holdout while the app runs is measured on the next rerun.
    from dashboard.model import Database
    from dashboard.settings import load_settings

    database = Database.open(load_settings(environ={}, data_dir=tmp_path / "demo", state_dir=tmp_path / "other"))
    request = winback.ListRequest(date(2026, 8, 1), churn.WinbackRules(states=("slipping", "lapsed")),
                                  options=winback.ExportOptions(holdout_share=0.2, seed=5))
    export = winback.build_export(database.cursor(date(2026, 8, 1)), request, show_pii=False, opt_in_known=True)
    at.run()
    assert any("No campaign to measure yet" in info.value for info in at.info), "nothing recorded yet: still empty"
    winback.record_campaign(tmp_path / "state", export, "tester", "UTC")
    at.run()
    assert not at.exception and not any("No campaign to measure yet" in info.value for info in at.info)
    assert any(request.campaign_id in markdown.value for markdown in at.markdown)
    treated = [m.value for m in at.metric if m.label == "Treatment ordered within 90 days"]
    app_state = Database.open(load_settings(environ={}, data_dir=tmp_path / "demo", state_dir=tmp_path / "state"))
    expected = campaigns.lift_table(campaigns.campaign_outcomes(app_state.cursor()))
    expected = expected[(expected.campaign_id == request.campaign_id) & (expected.window_days == 90)].iloc[0]
    assert treated == [formatting.rate(expected.treatment_rate)]


def test_campaign_rows_that_cannot_be_used_are_reported(open_database, campaign_dir):
    data_dir, _, _ = campaign_dir
    findings = {(f.table, f.column, f.message) for f in open_database(data_dir).findings() if f.table == "campaigns"}
    assert ("campaigns", "group", "group is not treatment or holdout, rows left out") in findings
    assert ("campaigns", "customer_id", "customer listed twice in one campaign, later copies left out") in findings


def test_a_campaign_that_changed_nothing_shows_no_arrow(monkeypatch, tmp_path):
    """Treatment and holdout alike (everyone orders once for $50 after the send): revenue per customer is $0.00
    over the holdout's, which the card says without an up arrow (Streamlit draws one, green, for any text but "0")."""
    from streamlit.proto.Metric_pb2 import Metric as MetricProto

    customers = [f"c{index:03d}" for index in range(120)]
    orders = pd.DataFrame({  # and someone else's order in July, so that the 90 days after the send are over
        "order_id": [f"F{index}" for index in range(120)] + [f"R{index}" for index in range(120)] + ["L"],
        "customer_id": customers * 2 + ["z999"],
        "ordered_at": [pd.Timestamp("2023-06-01 12:00")] * 120 + [pd.Timestamp("2024-03-11 12:00")] * 120
        + [pd.Timestamp("2024-07-15 12:00")],
        "revenue": 50.0,
    })
    write_table(tmp_path / "data", "orders", orders)
    write_table(tmp_path / "data", "campaigns", pd.DataFrame({
        "campaign_id": "A", "customer_id": customers, "group": ["holdout" if index % 2 else "treatment"
                                                                 for index in range(120)],
        "sent_at": pd.Timestamp("2024-03-01 09:00"), "channel": "email", "offer": "10% off"}))
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "none.toml"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("dashboard/pages/campaigns.py")
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    cards = [metric.proto for metric in at.metric if metric.label == "Revenue per customer"]
    assert cards, [metric.label for metric in at.metric]
    assert cards[0].delta == "$0.00 vs holdout"
    assert cards[0].direction == MetricProto.MetricDirection.NONE
    assert cards[0].color == MetricProto.MetricColor.GRAY
