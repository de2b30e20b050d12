"""Churn model, scores, reasons, win-back queries, CLI and backtests: hand-made Parquet rows, formulas written
out by hand, the published MBG/NBD fit on CDNOW, and backtests on demo data and the CDNOW transaction log."""

from __future__ import annotations

import math
import re
import threading
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from scipy import integrate, optimize, special, stats

from dashboard import churn, clv, demo
from dashboard.cli import main
from dashboard.queries import declared_parameters, load_sql, run_query, sql_parameters, QUERIES_DIR
from tests.exports import write_table

CDNOW = Path(__file__).parent / "data" / "cdnow"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "churn.md"
# MBG/NBD on the CDNOW calibration summary (weeks), as estimated by BTYDplus (Platzer) and lifetimes.
CDNOW_MBGNBD = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
CHURN_QUERIES = sorted(path.stem for path in QUERIES_DIR.glob("churn_*.sql")) + sorted(
    path.stem for path in QUERIES_DIR.glob("winback_*.sql"))
NO_RULES = churn.WinbackRules().params()
ALL_SEGMENTS = {"channels": None, "regions": None, "categories": None, "tiers": None}


def nones(values):
    """Missing values as None (pandas 3 reads missing strings as NaN), so rows compare with plain lists."""
    return values.astype(object).where(values.notna(), None)


def orders(rows: list[tuple]) -> pd.DataFrame:
    """Orders from (order_id, customer_id, ordered_at, revenue[, status]) tuples."""
    frame = pd.DataFrame(
        [row if len(row) == 5 else (*row, "completed") for row in rows],
        columns=["order_id", "customer_id", "ordered_at", "revenue", "status"],
    )
    return frame.assign(ordered_at=pd.to_datetime(frame["ordered_at"]))


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_summary) -> churn.MbgNbdFit:
    return churn.fit_mbgnbd(cdnow_summary.frequency, cdnow_summary.recency, cdnow_summary["T"])


# The MBG/NBD: golden fit, the formulas evaluated directly, thin data

def test_mbgnbd_fit_is_identical_to_btydplus_on_cdnow(cdnow_fit):
    assert cdnow_fit.converged, cdnow_fit.message
    for name, value in CDNOW_MBGNBD.items():
        assert getattr(cdnow_fit, name) == pytest.approx(value, abs=5e-4), name
    assert cdnow_fit.n_customers == 2357


def direct_log_likelihood(r, alpha, a, b, x, t_x, T) -> float:
    """Batislam et al. (2007) eq. 3 with gamma and beta functions, one customer, no logs until the end."""
    beta = special.beta
    common = special.gamma(r + x) * alpha**r / special.gamma(r)
    alive = beta(a, b + x + 1) / beta(a, b) * common / (alpha + T) ** (r + x)
    dropped = beta(a + 1, b + x) / beta(a, b) * common / (alpha + t_x) ** (r + x)
    return math.log(alive + dropped)


@pytest.mark.parametrize("params", [(0.525, 6.183, 0.891, 1.614), (2.0, 30.0, 1.5, 4.0), (0.3, 2.0, 0.4, 0.9)])
def test_log_likelihood_equals_the_paper_formula(params):
    customers = [(0, 0.0, 38.86), (2, 30.43, 38.86), (1, 1.71, 38.86), (7, 35.0, 39.0), (0, 0.0, 0.0)]
    got = churn.mbgnbd_log_likelihood(params, *zip(*customers))
    expected = [direct_log_likelihood(*params, *customer) for customer in customers]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_analytic_gradient_matches_finite_differences(cdnow_summary):
    x, t_x, T, w = churn._aggregate(*churn._customer_arrays(cdnow_summary.frequency, cdnow_summary.recency,
                                                             cdnow_summary["T"]))
    objective = churn._MbgNbdObjective(x, t_x, T, w)
    for point in (np.log([0.5, 6.0, 0.9, 1.6]), np.log([1.3, 20.0, 0.3, 5.0])):
        _, gradient = objective(point)
        numeric = [(objective(point + step)[0] - objective(point - step)[0]) / 2e-6 for step in np.eye(4) * 1e-6]
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)


def test_weights_are_the_same_as_repeated_rows(cdnow_summary):
    rows = cdnow_summary.iloc[:300]
    weights = np.arange(300) % 3 + 1
    repeated = rows.loc[rows.index.repeat(weights)]
    weighted = churn.fit_mbgnbd(rows.frequency, rows.recency, rows["T"], weights)
    expanded = churn.fit_mbgnbd(repeated.frequency, repeated.recency, repeated["T"])
    np.testing.assert_allclose(weighted.params, expanded.params, rtol=1e-6)


def test_p_alive_is_below_one_for_one_time_buyers(cdnow_fit):
    r, alpha, a, b = cdnow_fit.params
    one_timer = churn.mbg_p_alive(cdnow_fit, 0, 0.0, 38.86)
    assert one_timer == pytest.approx(1 / (1 + a / b * ((alpha + 38.86) / alpha) ** r), rel=1e-12)
    assert 0 < one_timer < 1
    assert churn.mbg_p_alive(cdnow_fit, 0, 0.0, 10.0) > one_timer  # a recent one-time buyer is likelier alive


def direct_expected_purchases(fit, t, x, t_x, T) -> float:
    """Batislam et al. (2007) eq. 5 as printed (the Gaussian hypergeometric form)."""
    r, alpha, a, b = fit.params
    head = (a + b + x) / (a - 1)
    tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(r + x, b + x + 1, a + b + x,
                                                                          t / (alpha + T + t))
    return head * tail / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))


@pytest.mark.parametrize("x, t_x, T, t", [(2, 30.43, 38.86, 39), (0, 0.0, 38.86, 52), (1, 1.71, 38.86, 13),
                                          (10, 38.0, 38.86, 39), (0, 0.0, 1.0, 5)])
def test_expected_purchases_equal_the_paper_formula(cdnow_fit, x, t_x, T, t):
    got = churn.mbg_expected_purchases(cdnow_fit, t, x, t_x, T)
    assert float(got) == pytest.approx(direct_expected_purchases(cdnow_fit, t, x, t_x, T), rel=1e-8)


def test_expected_purchases_match_numerical_integration():
    """E[Y(t)] = P(alive) * E[(1 - exp(-lambda p t)) / p] over the posterior lambda ~ Gamma(r + x, alpha + T),
    p ~ Beta(a, b + x + 1): lambda integrated in closed form (its Laplace transform), p numerically."""
    fit = churn.MbgNbdFit(0.8, 20.0, 0.7, 1.2, math.nan, True, 0, "")
    for x, t_x, T, t in [(0, 0.0, 200.0, 90.0), (3, 150.0, 300.0, 90.0), (1, 5.0, 10.0, 365.0)]:
        dropout = stats.beta(fit.a, fit.b + x + 1)
        shape, scale = fit.r + x, fit.alpha + T
        integrand = lambda p: -np.expm1(-shape * np.log1p(p * t / scale)) / p * dropout.pdf(p)
        if_alive, _ = integrate.quad(integrand, 0, 1, epsabs=1e-13, epsrel=1e-11, limit=200)
        expected = churn.mbg_p_alive(fit, x, t_x, T) * if_alive
        assert float(churn.mbg_expected_purchases(fit, t, x, t_x, T)) == pytest.approx(expected, rel=1e-7)


def test_prob_no_purchase_by_hand(cdnow_fit):
    r, alpha, a, b = cdnow_fit.params
    x, t_x, T, t = 2, 30.43, 38.86, 13.0
    alive = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    expected = 1 - alive + alive * ((alpha + T) / (alpha + T + t)) ** (r + x)
    assert float(churn.mbg_prob_no_purchase(cdnow_fit, t, x, t_x, T)) == pytest.approx(expected, rel=1e-12)
    risks = churn.mbg_prob_no_purchase(cdnow_fit, [0, 13, 52, 520], x, t_x, T)
    assert risks[0] == pytest.approx(1.0) and (np.diff(risks) < 0).all() and risks[-1] > 1 - alive


def test_predicted_clv_is_the_discounted_sum_of_monthly_purchases():
    fit = churn.MbgNbdFit(0.7, 19.0, 0.8, 1.2, math.nan, True, 0, "")
    gg = clv.GammaGammaFit(4.0, 6.0, 80.0, math.nan, True, 0, 60.0, "")
    x, t_x, T, m = 2, 100.0, 300.0, 55.0
    monthly_rate = 1.1 ** (30 / 365) - 1
    steps = [min(30 * k, 365) for k in range(0, 14)]
    cumulative = [float(churn.mbg_expected_purchases(fit, s, x, t_x, T)) if s else 0.0 for s in steps]
    order_value = 4.0 * (80.0 + x * m) / (4.0 * x + 6.0 - 1)
    expected = sum((cumulative[k] - cumulative[k - 1]) * order_value / (1 + monthly_rate) ** k for k in range(1, 14))
    assert float(churn.mbg_predicted_clv(fit, gg, x, t_x, T, m)) == pytest.approx(expected, rel=1e-9)
    one_timer = float(churn.mbg_predicted_clv(fit, gg, 0, 0.0, T, 0.0))
    assert 0 < one_timer < float(churn.mbg_predicted_clv(fit, gg, 0, 0.0, 30.0, 0.0))


def plain_gamma_gamma_log_likelihood(p, q, v, x, m) -> float:
    """Note 025, eq. 1a, term by term: log density of the mean spend m of x repeat orders, summed over customers."""
    px = p * x
    return float(np.sum(special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
                        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + m * x)))


def plain_gamma_gamma_fit(x, m) -> tuple[float, float, float]:
    """The same maximum found the plain way: Nelder-Mead on the written-out likelihood, no gradient, no grouping."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    used = (x > 0) & (m > 0)
    x, m = x[used], m[used]
    scale = float(np.median(m))
    result = optimize.minimize(lambda theta: -plain_gamma_gamma_log_likelihood(*np.exp(theta), x, m / scale),
                               np.zeros(3), method="Nelder-Mead",
                               options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000, "maxfev": 40_000})
    p, q, v = np.exp(result.x)
    return p, q, v * scale


def test_fast_gamma_gamma_fit_is_the_maximum_of_the_written_out_likelihood():
    summary = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    rng = np.random.default_rng(3)
    frequency = rng.integers(0, 8, 5000).astype(float)
    monetary = np.where(frequency > 0, rng.gamma(4.0, 12.0, 5000) + rng.gamma(1.0, 3.0, 5000), 0.0)
    for x, m in [(summary.x, summary.zbar), (frequency, monetary)]:
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        fast = churn.fit_gamma_gamma(x, m)
        assert fast.converged
        np.testing.assert_allclose([fast.p, fast.q, fast.v], plain_gamma_gamma_fit(x, m), rtol=1e-5)
        used = (x > 0) & (m > 0)
        assert fast.log_likelihood == pytest.approx(
            plain_gamma_gamma_log_likelihood(fast.p, fast.q, fast.v, x[used], m[used]), rel=1e-12)
        assert fast.n_customers == int(used.sum())
        assert fast.mean_monetary == pytest.approx(m[used].mean(), rel=1e-12)
    published = churn.fit_gamma_gamma(summary.x, summary.zbar)  # Fader, Hardie & Lee (2005): 6.25, 3.74, 15.44
    assert (published.p, published.q, published.v) == pytest.approx((6.25, 3.74, 15.45), abs=6e-3)


def test_fast_gamma_gamma_thin_data_is_flagged():
    assert not churn.fit_gamma_gamma([0, 0], [0.0, 0.0]).converged
    few = churn.fit_gamma_gamma([1, 2, 3], [10.0, 12.0, 9.0])
    assert not few.converged and "only 3 customer(s)" in few.message


@pytest.mark.parametrize("case, reason", [
    ([(3, 10.0, 20.0)], "only 1 customer"),
    ([(0, 0.0, float(T)) for T in range(30)], "nobody made a repeat purchase"),
    ([(0, 0.0, 0.0)] * 30, "nobody made a repeat purchase"),
])
def test_thin_data_is_flagged_not_raised(case, reason):
    fit = churn.fit_mbgnbd(*zip(*case))
    assert not fit.converged
    assert reason in fit.message


def test_invalid_input_raises():
    with pytest.raises(ValueError, match="recency must be <= T"):
        churn.fit_mbgnbd([1], [5.0], [4.0])
    with pytest.raises(ValueError, match="NaN"):
        churn.fit_mbgnbd([1, float("nan")], [1.0, 1.0], [2.0, 2.0])


# churn_features.sql on hand-made rows

FEATURE_COLUMNS = [
    "customer_id", "frequency", "recency_days", "t_days", "days_since_last_order", "monetary", "typical_gap_days",
    "first_purchased_on", "last_purchased_on", "count_orders", "revenue", "last_order_value",
    "earlier_order_mean_value",
]


@pytest.fixture
def features_dir(tmp_path):
    data_dir = tmp_path / "features"
    write_table(data_dir, "orders", orders([
        ("O1", "a", "2024-01-01 10:00", 50.0),
        ("O2", "a", "2024-01-01 15:00", 30.0),  # same day as O1: one purchase day of $80
        ("O3", "a", "2024-02-10 09:00", 40.0),
        ("O4", "a", "2024-04-10 09:00", 100.0, "Cancelled"),
        ("O5", "a", "2024-05-01 09:00", 20.0),
        ("O6", "b", "2024-06-30 23:00", 10.0),
        ("O7", "c", "2024-07-02 09:00", 25.0),  # after the as-of date: c is not a customer yet
        ("O8", "d", "2024-03-01 08:00", 60.0),
        ("O9", "d", "2024-03-01 20:00", 15.0),
        ("O10", "e", "2024-06-01 02:00", 5.0),  # 31 May 22:00 in New York
        ("O11", "e", "2024-06-01 14:00", 7.0),
    ]))
    return data_dir


def test_features_by_hand(open_database, features_dir):
    cursor = open_database(features_dir).cursor(date(2024, 6, 30))
    got = run_query(cursor, "churn_features", as_of=date(2024, 6, 30)).sort_values("customer_id", ignore_index=True)
    expected = pd.DataFrame([
        ("a", 2, 121, 181, 60, 30.0, 60.5, "2024-01-01", "2024-05-01", 4, 140.0, 20.0, 40.0),
        ("b", 0, 0, 0, 0, 0.0, None, "2024-06-30", "2024-06-30", 1, 10.0, 10.0, None),
        ("d", 0, 0, 121, 121, 0.0, None, "2024-03-01", "2024-03-01", 2, 75.0, 15.0, 60.0),
        ("e", 0, 0, 29, 29, 0.0, None, "2024-06-01", "2024-06-01", 2, 12.0, 7.0, 5.0),
    ], columns=FEATURE_COLUMNS)
    for column in ("first_purchased_on", "last_purchased_on"):
        expected[column] = pd.to_datetime(expected[column]).astype(got[column].dtype)
    expected["typical_gap_days"] = expected["typical_gap_days"].astype(float)
    expected["earlier_order_mean_value"] = expected["earlier_order_mean_value"].astype(float)
    assert list(got.columns) == FEATURE_COLUMNS
    assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12)


def test_features_count_purchase_days_in_the_company_time_zone(open_database, features_dir):
    cursor = open_database(features_dir, timezone="America/New_York").cursor(date(2024, 6, 30))
    got = run_query(cursor, "churn_features", as_of=date(2024, 6, 30)).set_index("customer_id")
    assert got.loc["e", ["frequency", "recency_days", "t_days", "days_since_last_order"]].tolist() == [1, 1, 30, 29]
    assert got.loc["e", "monetary"] == 7.0 and got.loc["e", "typical_gap_days"] == 1.0
    assert got.loc["a", "frequency"] == 2  # 05:00 and 10:00 New York time: still one day


# Scores, RFM segments and reasons on hand-made customers

REASONS_AS_OF = date(2026, 9, 30)


@pytest.fixture
def reasons_dir(tmp_path):
    data_dir = tmp_path / "reasons"
    write_table(data_dir, "orders", orders([
        ("R1a", "r1", "2026-01-01 10:00", 100.0), ("R1b", "r1", "2026-01-31 10:00", 100.0),
        ("R1c", "r1", "2026-03-02 10:00", 40.0),
        ("R2a", "r2", "2026-09-01 10:00", 100.0), ("R2b", "r2", "2026-09-11 10:00", 100.0),
        ("R2c", "r2", "2026-09-21 10:00", 40.0),
        ("R3a", "r3", "2026-09-01 10:00", 50.0), ("R3b", "r3", "2026-09-11 10:00", 50.0),
        ("R4a", "r4", "2025-09-30 10:00", 80.0),
        ("R5a", "r5", "2026-09-20 10:00", 60.0), ("R5b", "r5", "2026-09-29 10:00", 65.0),
        ("R6a", "r6", "2026-09-01 10:00", 30.0),
    ]))
    write_table(data_dir, "customers", {
        "customer_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
        "email": ["jane.doe@example.com", "r2@example.org", None, "x@y.io", "r5@example.com", "noatsign"],
        "marketing_opt_in": [True, True, False, True, None, True],
    })
    write_table(data_dir, "surveys", {
        "response_id": ["S1", "S2", "S3", "S4", "S5"],
        "customer_id": ["r1", "r3", "r5", "r6", "r1"],
        "submitted_at": pd.to_datetime(["2026-03-10 09:00", "2026-09-05 09:00", "2026-09-29 12:00",
                                        "2026-09-03 09:00", "2026-01-05 09:00"]),
        "kind": ["nps", "csat", "nps", "csat", "nps"],
        "score": [3.0, 2.0, 10.0, 2.0, 9.0],
        "comment": ["Call me on +44 20 7946 0958 or jane.doe@example.com", "", "Great", None, "ok"],
    })
    write_table(data_dir, "tickets", {
        "ticket_id": ["T1", "T2"],
        "customer_id": ["r1", "r3"],
        "opened_at": pd.to_datetime(["2026-09-09 10:00", "2026-09-12 00:00"]),
        "resolved_at": pd.to_datetime([None, "2026-09-24 00:00"]),
        "category": ["damaged_item", "delivery_delay"],
    })
    write_table(data_dir, "returns", {
        "return_id": ["X1", "X2"],
        "order_id": ["R1c", "R2c"],
        "customer_id": ["r1", "r2"],
        "requested_at": pd.to_datetime(["2026-03-05 10:00", "2026-09-25 10:00"]),
        "reason": ["wrong_item", "too_small"],
    })
    return data_dir


@pytest.fixture
def reasons_cursor(open_database, reasons_dir):
    return open_database(reasons_dir).cursor(REASONS_AS_OF)


def test_reasons_in_plain_words(reasons_cursor):
    scores = churn.score_customers(reasons_cursor).scores.set_index("customer_id")
    assert nones(scores["reasons"]).to_dict() == {
        # five reasons apply; the first three are kept
        "r1": "no order for 212 days, 7x their usual gap of 30 days; complaint about damaged_item open for 21 days; "
              "gave NPS 3 on 10 Mar 2026",
        "r2": "returned an order on 25 Sep 2026 (too_small); last order $40, 60% below their average of $100",
        # the CSAT 2 came before their last order, so it is not a reason
        "r3": "complaint about delivery_delay took 12 days to resolve",
        # the median usual gap of repeat customers (30, 10, 10, 9 days) is 10 days
        "r4": "only one order, 365 days ago (a repeat customer's usual gap is 10 days)",
        "r5": None,
        "r6": "only one order, 29 days ago (a repeat customer's usual gap is 10 days); gave CSAT 2/5 on 3 Sep 2026",
    }


def test_customer_scores_table_holds_survey_complaint_and_masked_comment(reasons_cursor):
    churn.model_info(reasons_cursor)
    table = reasons_cursor.execute(
        "select customer_id, latest_nps_category, has_open_complaint, is_marketing_opt_in, last_comment_masked "
        "from customer_scores order by customer_id"
    ).df()
    assert nones(table).values.tolist() == [
        ["r1", "detractor", True, True, "Call me on [phone] or [email]"],
        ["r2", "none", False, True, None],
        ["r3", "none", False, False, None],
        ["r4", "none", False, True, None],
        ["r5", "promoter", False, False, "Great"],
        ["r6", "none", False, True, None],
    ]


def test_rfm_scores_rank_ties_together_and_recent_customers_high(reasons_cursor):
    churn.model_info(reasons_cursor)
    table = reasons_cursor.execute(
        "select customer_id, days_since_last_order, frequency, revenue, recency_score, frequency_score, "
        "monetary_score, frequency_monetary_score, rfm_segment from customer_scores order by customer_id"
    ).df()
    # 6 customers: score = 1 + floor(5 x (customers with a strictly smaller value) / 5), capped at 5
    assert table.values.tolist() == [
        ["r1", 212, 2, 240.0, 2, 5, 5, 5, "Can't lose them"],
        ["r2", 9, 2, 240.0, 5, 5, 5, 5, "Champions"],
        ["r3", 19, 1, 100.0, 4, 3, 3, 3, "Potential loyalists"],
        ["r4", 365, 0, 80.0, 1, 1, 2, 1, "Lost"],
        ["r5", 1, 1, 125.0, 5, 3, 4, 3, "Potential loyalists"],
        ["r6", 29, 0, 30.0, 3, 1, 1, 1, "Hibernating"],
    ]


def docs_segment_table() -> dict[tuple[int, int], str]:
    """The R x FM table of docs/churn.md: rows 'R n', one column per FM score 1-5."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("| R \\ FM"):]
    mapping = {}
    for line in section.splitlines()[2:]:
        if not line.startswith("| "):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        recency = int(cells[0].removeprefix("**R ").removesuffix("**"))
        for fm, name in enumerate(cells[1:], start=1):
            mapping[(recency, fm)] = name
    return mapping


def test_rfm_segment_map_is_the_documented_table(reasons_cursor):
    churn.model_info(reasons_cursor)
    table = reasons_cursor.execute("select * from rfm_segment_map").df()
    in_sql = {(int(row.recency_score), int(row.frequency_monetary_score)): row.rfm_segment
              for row in table.itertuples()}
    assert len(in_sql) == 25
    assert in_sql == docs_segment_table()
    assert set(in_sql.values()) == set(churn.RFM_SEGMENTS)


def test_documented_score_columns_are_the_ones_returned(reasons_cursor):
    scores = churn.score_customers(reasons_cursor).scores
    assert tuple(scores.columns) == churn.SCORE_COLUMNS
    text = DOCS.read_text(encoding="utf-8")
    for column in churn.SCORE_COLUMNS + churn.EXPORT_COLUMNS:
        assert f"`{column}`" in text, f"{column} is not documented in docs/churn.md"


def test_risk_bands_and_summary(reasons_cursor):
    scores = churn.score_customers(reasons_cursor).scores
    expected_band = np.where(scores.churn_risk >= 0.7, "high", np.where(scores.churn_risk >= 0.4, "medium", "low"))
    assert (scores.risk_band == expected_band).all()
    summary = churn.risk_summary(scores)
    high = scores[scores.churn_risk >= 0.7]
    assert summary["high_risk_customers"] == len(high)
    assert summary["high_risk_revenue"] == pytest.approx(high.revenue.sum())
    assert summary["high_risk_predicted_clv"] == pytest.approx(high.predicted_clv_365d.fillna(0).sum())
    assert summary["customers"] == 6


# Thin or odd data: a warning and a usable score

def thin_orders(case: str) -> pd.DataFrame:
    if case == "one customer":
        return orders([("O1", "c1", "2024-01-01 10:00", 10.0), ("O2", "c1", "2024-02-01 10:00", 12.0)])
    if case == "everyone bought once":
        return orders([(f"O{i}", f"c{i}", f"2024-01-{i + 1:02d} 10:00", 10.0 + i) for i in range(20)])
    return orders([(f"O{i}", f"c{i % 12}", "2024-06-30 0{}:00".format(i % 9), 10.0) for i in range(20)])


@pytest.mark.parametrize("case, reason", [
    ("one customer", "only 1 customer"),
    ("everyone bought once", "nobody made a repeat purchase"),
    ("all orders on one day", "nobody made a repeat purchase"),
])
def test_thin_data_gives_a_warning_and_a_usable_score(open_database, tmp_path, case, reason):
    write_table(tmp_path / "thin", "orders", thin_orders(case))
    result = churn.score_customers(open_database(tmp_path / "thin").cursor(date(2024, 6, 30)))
    assert result.message and reason in result.message and "recency score" in result.message
    scores = result.scores
    assert len(scores) and tuple(scores.columns) == churn.SCORE_COLUMNS
    assert scores.churn_risk.between(0, 1).all()
    assert scores.risk_band.isin(churn.RISK_BANDS).all()
    assert scores.rfm_segment.isin(churn.RFM_SEGMENTS).all()


def test_order_value_model_failing_falls_back_to_each_customers_own_mean(cdnow_summary):
    """Every repeat purchase worth exactly $50: the Gamma-Gamma has no interior maximum."""
    features = pd.DataFrame({
        "frequency": cdnow_summary.frequency, "recency_days": cdnow_summary.recency, "t_days": cdnow_summary["T"],
        "monetary": np.where(cdnow_summary.frequency > 0, 50.0, 0.0),
        "days_since_last_order": cdnow_summary["T"] - cdnow_summary.recency,
        "revenue": 50.0 * (cdnow_summary.frequency + 1),
    })
    predictions, info = churn.predict(features)
    assert info.method == "MBG/NBD" and "order-value model could not be fitted" in info.message
    assert (predictions.expected_order_value == 50.0).all()
    assert predictions.predicted_clv_365d.notna().all() and (predictions.predicted_clv_365d > 0).all()


def test_a_fit_that_all_but_knows_the_dropout_chance_still_predicts_orders_and_value(open_database, tmp_path):
    """200 customers over one year: the MBG/NBD's a and b come out in the thousands. The expected purchases' closed
    form overflowed there, and 159 of the 198 customers had no expected orders and none a predicted value (empty
    cells on the churn page, in the scores CSV and the win-back list). Each must now have them (their values
    against an independent integration over the Beta: tests/test_clv.py)."""
    demo.generate(tmp_path / "data", customers=200, seed=5, years=1.0)
    database = open_database(tmp_path / "data")
    as_of = database.default_as_of()
    result = churn.score_customers(database.cursor(as_of))
    model, scores = result.model, result.scores
    assert model.method == "MBG/NBD" and model.a > 1000 and model.b > 1000  # the case itself
    assert len(scores) > 150
    for column in ("expected_orders_90d", "expected_orders_365d", "predicted_value_90d", "predicted_clv_365d"):
        assert scores[column].notna().all() and np.isfinite(scores[column]).all(), column
    assert (scores["expected_orders_365d"] >= scores["expected_orders_90d"]).all()


def test_no_customers_yet_gives_an_empty_table_and_a_message(open_database, tmp_path):
    write_table(tmp_path / "later", "orders", orders([("O1", "c1", "2024-01-01 10:00", 10.0)]))
    result = churn.score_customers(open_database(tmp_path / "later").cursor(date(2023, 6, 30)))
    assert result.scores.empty and tuple(result.scores.columns) == churn.SCORE_COLUMNS
    assert "No customer" in result.message


def test_rebuilding_the_model_gives_the_same_scores_to_the_last_bit(open_database, tmp_path):
    """The demo's orders are four files (one per year) that DuckDB's threads read in parallel, so the order in
    which a customer's revenue is added up changes from run to run. A float sum's last bit depends on that order
    and the fitted spend model amplified it to the 8th digit: a model rebuilt from the same export (after a
    damaged snapshot, on another machine) wrote a different scores file. Money is summed exactly instead."""
    demo.generate(tmp_path / "data", customers=300, seed=21)
    assert len(list((tmp_path / "data" / "orders").rglob("*.parquet"))) > 1
    runs = [churn.score_customers(open_database(tmp_path / "data").cursor(date(2026, 11, 15))).scores
            for _ in range(6)]
    assert len(runs[0]) > 200 and runs[0]["predicted_clv_365d"].notna().all()
    for run in runs[1:]:
        assert_frame_equal(runs[0], run, check_exact=True)


def test_scores_are_built_once_when_two_threads_ask_at_once(open_database, reasons_dir):
    database = open_database(reasons_dir)
    database.cursor(REASONS_AS_OF)  # the model layer first, so both threads race for the scores only
    results, errors = [], []

    def score():
        cursor = database.cursor(REASONS_AS_OF)
        try:
            results.append(churn.score_customers(cursor).scores)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            cursor.close()

    threads = [threading.Thread(target=score) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 4 and all(frame.equals(results[0]) for frame in results)
    cursor = database.cursor(REASONS_AS_OF)
    assert cursor.execute("select count(*) from churn_model").fetchall() == [(1,)]


# Win-back queries

def winback(cursor, rules: churn.WinbackRules, **extra) -> pd.DataFrame:
    params = {**rules.params(), **ALL_SEGMENTS, "show_pii": False, "limit": None, "offset": 0,
              "opted_in_only": False, **extra}
    return run_query(cursor, "winback_segment", **params)


def test_winback_rules_filter_with_bound_parameters(reasons_cursor):
    churn.model_info(reasons_cursor)
    table = reasons_cursor.execute("select * from customer_scores").df()
    cases = [
        (churn.WinbackRules(), table),
        (churn.WinbackRules(segments=("Potential loyalists",)), table[table.rfm_segment == "Potential loyalists"]),
        (churn.WinbackRules(min_days_since_last_order=19, max_days_since_last_order=212),
         table[table.days_since_last_order.between(19, 212)]),
        (churn.WinbackRules(min_revenue=80.0, max_revenue=125.0), table[table.revenue.between(80, 125)]),
        (churn.WinbackRules(nps_categories=("detractor", "promoter")),
         table[table.latest_nps_category.isin(["detractor", "promoter"])]),
        (churn.WinbackRules(has_open_complaint=False, is_marketing_opt_in=True),
         table[~table.has_open_complaint & table.is_marketing_opt_in]),
        (churn.WinbackRules(segments=("' or 1=1 --",)), table.iloc[0:0]),
        (churn.WinbackRules(risk_bands=("high",)), table[table.risk_band == "high"]),
        (churn.WinbackRules(complaint_categories=("delivery_delay", "billing")),
         table[table.complaint_categories.map(lambda cats: hasattr(cats, "__len__") and "delivery_delay" in cats)]),
    ]
    macro_arguments = ", ".join(f"${name}" for name in list(churn.WinbackRules().params())[:15])
    for rules, expected in cases:
        got = winback(reasons_cursor, rules)
        assert sorted(got.customer_id) == sorted(expected.customer_id), rules
        # The rules' macro applied to every row of customer_scores (not through the win-back aggregates) selects
        # the same customers.
        params = {name: value for name, value in rules.params().items() if f"${name}" in macro_arguments}
        by_macro = reasons_cursor.execute(
            f"select customer_id from customer_scores where winback_rules_match({macro_arguments}, null, null, null, "
            "lifecycle_state, risk_band, rfm_segment, recency_score, frequency_monetary_score, days_since_last_order, "
            "revenue, latest_nps_category, has_open_complaint, has_complained, complaint_categories, has_returned, "
            "is_marketing_opt_in, null, null, null, null)", params).df()
        assert sorted(by_macro.customer_id) == sorted(expected.customer_id), rules
        summary = run_query(reasons_cursor, "winback_summary", **rules.params(), **ALL_SEGMENTS)
        assert summary.customers.iloc[0] == len(expected)
        assert summary.revenue.iloc[0] == pytest.approx(expected.revenue.sum())


def test_winback_page_is_sorted_by_revenue_with_total_matches_and_masked_emails(reasons_cursor):
    """Six customers: too few for a model, so no value at stake, and the list is by lifetime revenue."""
    info = churn.model_info(reasons_cursor)
    assert info.method == churn.FALLBACK_METHOD
    page = winback(reasons_cursor, churn.WinbackRules(), limit=2, offset=0)
    assert page.customer_id.tolist() == ["r1", "r2"]  # $240 each, ties by id
    assert page.total_matches.tolist() == [6, 6]
    assert page.email.tolist() == ["j***@example.com", "r***@example.org"]
    everyone = winback(reasons_cursor, churn.WinbackRules()).set_index("customer_id").sort_index()
    assert everyone.email.isna().tolist() == [False, False, True, False, False, True]  # r3 none, r6 has no '@'
    shown = winback(reasons_cursor, churn.WinbackRules(), show_pii=True, limit=1)
    assert shown.email.tolist() == ["jane.doe@example.com"]


def test_winback_file_name_and_csv():
    rules = churn.WinbackRules(risk_bands=("high",), segments=("At risk",))
    assert rules.file_name(date(2026, 11, 15)) == "winback-high-risk-at-risk-2026-11-15.csv"
    assert churn.WinbackRules(states=("slipping", "one_time"), has_complained=False,
                              complaint_categories=("delivery_delay",)).slug() == (
        "slipping-one-time-never-complained-complaint-delivery-delay")
    assert churn.WinbackRules().slug() == "all"
    assert churn.WinbackRules(segments=("Can't lose them",), min_days_since_last_order=90, min_revenue=100.0,
                              is_marketing_opt_in=True).slug() == "cant-lose-them-90-plus-days-value-100-plus-opted-in"


@pytest.mark.parametrize("name", CHURN_QUERIES)
def test_every_churn_query_declares_the_parameters_it_uses(name):
    sql = load_sql(name)
    assert declared_parameters(sql) == sql_parameters(sql), name
    assert re.search(r"^-- Grain: ", sql, re.MULTILINE), name


# Command line

@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    monkeypatch.delenv("DASHBOARD_SHOW_PII", raising=False)
    monkeypatch.delenv("DASHBOARD_TIMEZONE", raising=False)
    return monkeypatch


def test_scores_cli_writes_the_documented_columns_without_email(cli_env, reasons_dir, reasons_cursor, tmp_path,
                                                                capsys):
    out = tmp_path / "out" / "scores.csv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["scores", "--data", str(reasons_dir), "--as-of", REASONS_AS_OF.isoformat(), "--out", str(out)]) == 0
    # no Python warning raised at a line of the dashboard's code (DuckDB warned, at dashboard/queries.py, that Arrow
    # from a DB-API result copies the rows once more, and the warning reached the command's stderr)
    code = Path(churn.__file__).resolve().parent
    ours = [f"{w.filename}:{w.lineno}: {w.message}" for w in caught if Path(w.filename).resolve().is_relative_to(code)]
    assert not ours, ours
    written = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert tuple(written.columns) == churn.EXPORT_COLUMNS
    assert written.customer_id.tolist() == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert "wrote churn scores of 6 customers" in capsys.readouterr().err
    # the file holds score_customers' values at the same as-of date (the CLI reads them as Arrow, the app as a
    # DataFrame); dates are days
    expected = churn.score_customers(reasons_cursor).scores.set_index("customer_id")
    written = written.set_index("customer_id")
    for column in churn.EXPORT_COLUMNS[1:]:
        for customer, value in expected[column].items():
            text = written.loc[customer, column]
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                assert text == "", (customer, column)
            elif column == "expected_next_order_on":
                assert text == pd.Timestamp(value).strftime("%Y-%m-%d"), (customer, text)
            elif isinstance(value, (bool, np.bool_)):
                assert text == str(bool(value)).lower(), (customer, column)
            elif isinstance(value, str):
                assert text == value, (customer, column)
            else:
                assert float(text) == pytest.approx(float(value), rel=1e-12), (customer, column)


def test_scores_cli_adds_email_only_when_pii_display_is_on(cli_env, reasons_dir, tmp_path):
    cli_env.setenv("DASHBOARD_SHOW_PII", "1")
    out = tmp_path / "scores.csv"
    assert main(["scores", "--data", str(reasons_dir), "--as-of", "2026-09-30", "--out", str(out)]) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["customer_id", "email", *churn.EXPORT_COLUMNS[1:]]
    assert written.email.iloc[0] == "jane.doe@example.com"


def test_scores_cli_errors_are_one_line(cli_env, reasons_dir, tmp_path, capsys):
    assert main(["scores", "--data", str(reasons_dir), "--out", str(reasons_dir / "scores.csv")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: refusing to write") and error.count("\n") == 1
    assert main(["scores", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "s.csv")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_backtest_cli_prints_the_table(cli_env, tmp_path, capsys):
    demo.generate(tmp_path / "demo", customers=3000, seed=7)
    assert main(["backtest", "--data", str(tmp_path / "demo"), "--cutoff", "2026-08-17"]) == 0
    printed = capsys.readouterr().out
    model = re.search(r"churn_risk \(MBG/NBD\)\s+(0\.\d{3})", printed)
    baseline = re.search(r"recency baseline \(days since last order\)\s+(0\.\d{3})", printed)
    assert model and baseline, printed
    assert "outcomes 2026-08-18 .. 2026-11-15 (90 days)" in printed
    assert len(re.findall(r"^\s+\d+\s+[\d,]+\s+\d\.\d{3}\s+\d\.\d{3}$", printed, re.MULTILINE)) == 10
    assert main(["backtest", "--data", str(tmp_path / "demo"), "--cutoff", "2026-10-01"]) == 2
    assert "ends on 2026-12-30, but the latest order is on 2026-11-15" in capsys.readouterr().err


# Backtests: the churn risk must rank better than days since the last order

def test_backtest_beats_recency_on_demo_data(open_database, tmp_path):
    demo.generate(tmp_path / "demo", customers=20_000, seed=7)
    result = churn.backtest(open_database(tmp_path / "demo"), date(2026, 8, 17), 90)
    assert result.method == "MBG/NBD" and result.message is None
    assert result.n_customers > 15_000
    assert result.auc > result.baseline_auc + 0.02, (result.auc, result.baseline_auc)
    assert len(result.calibration) == 10
    assert result.predicted_orders == pytest.approx(result.actual_orders, rel=0.2)


@pytest.fixture(scope="module")
def cdnow_exports(tmp_path_factory) -> Path:
    """The CDNOW transaction log as an orders export: one order per line, at midnight UTC."""
    log = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None, dtype={"customer_id": str, "day": str},
                      names=["master_id", "customer_id", "day", "cds", "amount"])
    data_dir = tmp_path_factory.mktemp("cdnow")
    write_table(data_dir, "orders", pd.DataFrame({
        "order_id": [f"L{index}" for index in range(len(log))],
        "customer_id": log["customer_id"],
        "ordered_at": pd.to_datetime(log["day"], format="%Y%m%d"),
        "revenue": log["amount"],
    }))
    return data_dir


def test_backtest_beats_recency_on_cdnow(open_database, cdnow_exports):
    """Calibration period of the papers (39 weeks, to 1997-09-30), the product's 90-day horizon."""
    result = churn.backtest(open_database(cdnow_exports), date(1997, 9, 30), 90)
    assert result.n_customers == 2357 and result.method == "MBG/NBD"
    assert result.auc > result.baseline_auc, (result.auc, result.baseline_auc)
    # the fit on the transaction log is the published one, in days (7 x 6.183 weeks)
    cursor = open_database(cdnow_exports).cursor(date(1997, 9, 30))
    info = churn.model_info(cursor)
    assert (info.r, info.alpha / 7, info.a, info.b) == pytest.approx((0.525, 6.183, 0.891, 1.614), abs=2e-3)
