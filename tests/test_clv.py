"""Tests of dashboard/clv.py, the closed forms the churn model predicts with: the BG/NBD expectation against Hardie's
spreadsheet, numerical integration and a simulation; the Gamma-Gamma fit the app runs (churn.fit_gamma_gamma) against
the published CDNOW estimates; order value, CLV, AUC and calibration by hand."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from scipy import integrate, special

from dashboard import churn, clv

CDNOW = Path(__file__).parent / "data" / "cdnow"
CALIBRATION_END = pd.Timestamp("1997-09-30")

# The BG/NBD maximum on CDNOW, weeks (Fader, Hardie & Lee 2005, "Counting your customers", section 5, publish
# r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4), to six digits: the parameters Hardie's spreadsheet evaluates.
CDNOW_BGNBD = clv.BgNbdFit(0.242593, 4.413532, 0.792886, 2.425753, -9582.43, True, 2357, "BG/NBD maximum on CDNOW")


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_fit() -> clv.BgNbdFit:
    return CDNOW_BGNBD


@pytest.fixture(scope="module")
def cdnow_transactions() -> pd.DataFrame:
    return pd.read_csv(
        CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None,
        names=["master_customer_id", "customer_id", "ordered_on", "cds", "amount"], dtype={"ordered_on": str},
    ).assign(ordered_on=lambda t: pd.to_datetime(t.ordered_on, format="%Y%m%d"))


def calibration_summary(transactions: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """One row per customer: frequency, recency and T in weeks, monetary = mean spend of repeat purchase days."""
    days = (
        transactions[transactions.ordered_on <= end]
        .groupby(["customer_id", "ordered_on"], as_index=False).amount.sum()
        .sort_values(["customer_id", "ordered_on"])
    )
    days["is_repeat"] = days.groupby("customer_id").cumcount() > 0
    per_customer = days.groupby("customer_id").agg(first=("ordered_on", "min"), last=("ordered_on", "max"))
    repeat = days[days.is_repeat].groupby("customer_id").amount.agg(["size", "mean"])
    return pd.DataFrame({
        "frequency": repeat["size"].reindex(per_customer.index, fill_value=0),
        "recency": (per_customer["last"] - per_customer["first"]).dt.days / 7,
        "T": (end - per_customer["first"]).dt.days / 7,
        "monetary": repeat["mean"].reindex(per_customer.index, fill_value=0.0),
    })


# Golden tests on CDNOW

def test_summaries_match_the_transaction_log(cdnow_transactions):
    rebuilt = calibration_summary(cdnow_transactions, CALIBRATION_END)
    summary = pd.read_csv(CDNOW / "cdnow_customers_summary.csv", index_col="ID")
    with_spend = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    assert len(rebuilt) == len(summary) == len(with_spend) == 2357
    assert (rebuilt.frequency.to_numpy() == summary.frequency.to_numpy()).all()
    assert (rebuilt.frequency.to_numpy() == with_spend.x.to_numpy()).all()
    assert np.abs(rebuilt.recency.to_numpy() - summary.recency.to_numpy()).max() <= 0.005 + 1e-9
    assert np.abs(rebuilt["T"].to_numpy() - summary["T"].to_numpy()).max() <= 0.005 + 1e-9
    assert np.abs(rebuilt.monetary.to_numpy() - with_spend.zbar.to_numpy()).max() <= 0.005 + 1e-9


def test_conditional_expectation_is_identical_to_hardies_spreadsheet(cdnow_fit):
    # The paper's worked example: x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks.
    assert clv.expected_purchases(cdnow_fit, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=0.0005)


def test_unconditional_expectation_is_identical_to_hardies_spreadsheet(cdnow_fit):
    # E[X(t)] of a new customer (eq. 9) is the conditional expectation at x = t_x = T = 0.
    weeks = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    published = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    np.testing.assert_allclose(clv.expected_purchases(cdnow_fit, weeks, 0, 0, 0), published, atol=0.0005)


def test_gamma_gamma_fit_is_identical_to_the_paper_on_cdnow(cdnow_transactions):
    # "RFM and CLV" reports p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat buyers.
    rebuilt = calibration_summary(cdnow_transactions, CALIBRATION_END)
    fit = churn.fit_gamma_gamma(rebuilt.frequency, rebuilt.monetary)
    assert fit.converged, fit.message
    assert fit.n_customers == 946
    assert (round(fit.p, 2), round(fit.q, 2), round(fit.v, 2)) == (6.25, 3.74, 15.44)


def test_gamma_gamma_on_the_cent_rounded_summary_is_one_cent_off_in_v():
    # The shipped summary rounds zbar to cents; that alone moves v from 15.444 to 15.448 (rounds to 15.45).
    summary = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    fit = churn.fit_gamma_gamma(summary.x, summary.zbar)
    assert fit.converged, fit.message
    assert (round(fit.p, 2), round(fit.q, 2)) == (6.25, 3.74)
    assert fit.v == pytest.approx(15.448, abs=0.0005)


# Predictions

def test_p_alive_is_one_without_repeat_purchases_and_a_probability_otherwise(cdnow_fit):
    assert clv.p_alive(cdnow_fit, 0, 0, 38.86) == 1.0
    x, t_x, T = np.meshgrid(np.arange(0, 60, 3.0), np.arange(0, 100, 5.0), np.arange(0, 100, 5.0), indexing="ij")
    valid = t_x <= T
    alive = clv.p_alive(cdnow_fit, x[valid], t_x[valid], T[valid])
    assert ((alive >= 0) & (alive <= 1)).all()
    # a recent last purchase means more likely alive
    assert clv.p_alive(cdnow_fit, 5, 35, 38) > clv.p_alive(cdnow_fit, 5, 10, 38)


CDNOW_LIKE = clv.BgNbdFit(0.243, 4.414, 0.793, 2.426, math.nan, True, 2357, "published CDNOW estimates")


@pytest.mark.parametrize("x, t_x, T, t", [(0, 0, 0, 52), (0, 0, 30, 20), (2, 10, 30, 40), (4, 28, 30, 26), (3, 5, 40, 52)])
def test_predictions_match_a_simulation_of_the_bgnbd_process(x, t_x, T, t):
    """Draw (lambda, p) from the prior, weight by the likelihood of the history, simulate the future."""
    rng = np.random.default_rng(11)
    fit, n = CDNOW_LIKE, 2_000_000
    rate = rng.gamma(fit.r, 1 / fit.alpha, n)
    dropout = rng.beta(fit.a, fit.b, n)
    log_rate_part = x * np.log(rate)
    weight_alive = np.exp(x * np.log1p(-dropout) + log_rate_part - rate * T)
    weight_dropped = np.exp(np.log(dropout) + (x - 1) * np.log1p(-dropout) + log_rate_part - rate * t_x) if x > 0 else 0.0
    weight = weight_alive + weight_dropped
    # an active customer buys at rate lambda and stops after a Geometric(p) number of purchases
    future_arrivals = rng.poisson(rate * t)
    future_purchases = np.minimum(future_arrivals, rng.geometric(dropout))

    def ratio_and_standard_error(numerator):
        estimate = numerator.sum() / weight.sum()
        return estimate, np.sqrt(((numerator - estimate * weight) ** 2).sum()) / weight.sum()

    simulated, error = ratio_and_standard_error(weight_alive * future_purchases)
    assert error < 0.02 * simulated  # the check has teeth
    assert abs(clv.expected_purchases(fit, t, x, t_x, T) - simulated) < 4 * error

    simulated, error = ratio_and_standard_error(weight_alive * 1.0)
    assert abs(clv.p_alive(fit, x, t_x, T) - simulated) < 4 * error + 1e-12


def expected_purchases_by_integration(fit, t, x, t_x, T):
    """P(alive) * E[(1 - (1 + s p)^-(r+x)) / p], p ~ Beta(a, b+x), s = t / (alpha + T); quadrature over u = p^a."""
    s, k, a, b_x = t / (fit.alpha + T), fit.r + x, fit.a, fit.b + x

    def integrand(u):
        p = u ** (1 / a)
        return -math.expm1(-k * math.log1p(s * p)) / p * (1 - p) ** (b_x - 1) / a if p > 0 else k * s / a

    value, _ = integrate.quad(integrand, 0, 1, epsabs=0, epsrel=1e-11, limit=200)
    return clv.p_alive(fit, x, t_x, T) * value / special.beta(a, b_x)


@pytest.mark.parametrize(
    "params, x, t_x, T, t",
    [
        ((0.243, 4.414, 0.793, 2.426), 2, 30.43, 38.86, 39),   # the paper's example
        ((0.5, 30.0, 1.0, 2.0), 3, 100, 400, 365),             # a = 1 exactly: 0/0 in the closed form
        ((0.5, 30.0, 1.00003, 2.0), 3, 100, 400, 365),         # a next to 1
        ((0.6, 25.0, 0.3, 0.7), 0, 0, 0, 365),                 # a + b = 1: the 2F1 has c = 0 when x = 0
        ((0.6, 25.0, 0.2, 1.1), 1, 3, 10, 730),                # a + b + x - 1 = 1.3 after the first purchase
        ((0.5, 0.5, 0.8, 3.0), 0, 0, 0, 3650),                 # t 7,300 times alpha + T
        ((0.5, 30.0, 0.8, 3.0), 200, 990, 1000, 365),          # many purchases: the paper's 2F1 overflows here
        ((2.0, 3.0, 2.5, 4.0), 5, 8, 20, 10),                  # r = 2: c - a - b of the 2F1 is an integer
    ],
)
def test_expected_purchases_match_numerical_integration(params, x, t_x, T, t):
    fit = clv.BgNbdFit(*params, math.nan, True, 1, "test")
    assert clv.expected_purchases(fit, t, x, t_x, T) == pytest.approx(
        expected_purchases_by_integration(fit, t, x, t_x, T), rel=1e-7
    )


def _mean_purchases_over_the_beta(A, B, k, s) -> float:
    """E[(1 - (1 + s p)^-k) / p] for p ~ Beta(A, B) by scipy's adaptive quadrature on the Beta's density, between
    its 1e-15 and 1 - 1e-15 quantiles (the mass outside is below what the comparison can see)."""
    from scipy import stats

    beta = stats.beta(A, B)
    value, _ = integrate.quad(lambda p: -math.expm1(-k * math.log1p(s * p)) / p * beta.pdf(p),
                              beta.ppf(1e-15), beta.isf(1e-15), epsabs=0, epsrel=1e-12, limit=200)
    return value


@pytest.mark.parametrize("x, t_x, T, t", [(0, 0, 0, 90), (1, 40, 300, 90), (12, 330, 360, 365), (3, 20, 200, 150)])
def test_expected_purchases_stay_finite_when_the_dropout_beta_is_almost_certain(x, t_x, T, t):
    """A fit with a and b in the thousands (the 200-customer, one-year demo gave a = 3268, b = 19113: p all but
    known): the closed form's 2F1 overflows while its prefactor underflows, which made the expected orders and the
    value NaN for most customers. The result must be the integral over the Beta, computed here independently."""
    fit = clv.BgNbdFit(0.2969, 6.5, 3268.31455103, 19113.39180078, math.nan, True, 1, "test")
    s = t / (fit.alpha + T)
    with np.errstate(all="ignore"):
        assert not np.isfinite(clv._beta_mean_purchases_closed(fit.a, fit.b + x, fit.r + x, s))  # the case itself
    expected = clv.p_alive(fit, x, t_x, T) * _mean_purchases_over_the_beta(fit.a, fit.b + x, fit.r + x, s)
    assert clv.expected_purchases(fit, t, x, t_x, T) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("A, B, k, s", [(200.0, 1200.0, 2.5, 3.0), (50.0, 80.0, 1.3, 0.7), (40.0, 9.0, 0.4, 12.0)])
def test_the_quadrature_agrees_with_the_closed_form_where_both_work(A, B, k, s):
    closed = clv._beta_mean_purchases_closed(A, B, k, s)
    assert np.isfinite(closed)
    assert clv._quadrature_mean_purchases([A], [B], [k], [s])[0] == pytest.approx(float(closed), rel=1e-10)
    assert float(closed) == pytest.approx(_mean_purchases_over_the_beta(A, B, k, s), rel=1e-9)


def test_expected_purchases_are_zero_at_t_zero_and_grow_with_t(cdnow_fit):
    t = np.linspace(0, 520, 53)
    for x, t_x, T in [(0, 0, 0), (2, 30.43, 38.86), (29, 38.4, 38.86), (1, 0.5, 38.86)]:
        expected = clv.expected_purchases(cdnow_fit, t, x, t_x, T)
        assert expected[0] == 0
        assert np.all(np.diff(expected) > 0)
        assert np.all(np.isfinite(expected))


def test_predictions_broadcast_over_customers_and_horizons(cdnow_fit, cdnow_summary):
    x, t_x, T = cdnow_summary.frequency, cdnow_summary.recency, cdnow_summary["T"]
    together = clv.expected_purchases(cdnow_fit, 39, x, t_x, T)
    one_by_one = [clv.expected_purchases(cdnow_fit, 39, *row) for row in zip(x[:50], t_x[:50], T[:50])]
    assert together.shape == (2357,)
    np.testing.assert_allclose(together[:50], one_by_one, rtol=1e-14)
    grid = clv.expected_purchases(cdnow_fit, np.array([[13.0], [26.0]]), x.to_numpy(), t_x.to_numpy(), T.to_numpy())
    assert grid.shape == (2, 2357)
    np.testing.assert_allclose(grid[1], clv.expected_purchases(cdnow_fit, 26.0, x, t_x, T), rtol=1e-14)


# The recency fallback

def test_recency_score_by_hand():
    np.testing.assert_allclose(
        clv.recency_score([0, 30, 90], 30), [0.0, 1 - math.exp(-1), 1 - math.exp(-3)], rtol=1e-14
    )
    with pytest.raises(ValueError):
        clv.recency_score([1.0], 0)


def test_typical_purchase_gap_by_hand():
    # repeat customers' average gaps 10, 20, 40 -> median 20; one-time buyers are ignored
    assert clv.typical_purchase_gap([1, 2, 1, 0], [10.0, 40.0, 40.0, 0.0], [50.0, 60.0, 70.0, 80.0]) == 20.0
    # nobody came back: the median age of customers with T > 0
    assert clv.typical_purchase_gap([0, 0, 0, 0], [0.0] * 4, [0.0, 10.0, 30.0, 50.0]) == 30.0
    assert clv.typical_purchase_gap([0, 0], [0.0, 0.0], [0.0, 0.0]) == 1.0


# Spend and CLV

GG = clv.GammaGammaFit(p=6.25, q=3.74, v=15.44, log_likelihood=math.nan, converged=True, n_customers=946,
                       mean_monetary=35.08, message="published CDNOW estimates")


def test_expected_order_value_by_hand():
    # note 025 eq. 5: p (v + x m) / (p x + q - 1)
    assert clv.expected_order_value(GG, 2, 30.0) == pytest.approx(6.25 * (15.44 + 60) / (12.5 + 2.74), rel=1e-14)
    assert clv.expected_order_value(GG, 0, 0.0) == pytest.approx(6.25 * 15.44 / 2.74, rel=1e-14)
    heavy_tailed = clv.GammaGammaFit(6.25, 0.8, 15.44, math.nan, False, 946, 35.08, "q <= 1")
    assert heavy_tailed.population_mean_order_value == math.inf
    assert clv.expected_order_value(heavy_tailed, 0, 0.0) == 35.08


def test_expected_order_value_shrinks_towards_the_customer_mean_with_more_orders():
    values = clv.expected_order_value(GG, np.array([1, 5, 50, 5000]), np.full(4, 100.0))
    assert np.all(np.diff(values) > 0)
    assert values[-1] == pytest.approx(100.0, rel=0.001)


def test_gamma_gamma_thin_data_is_flagged():
    fit = churn.fit_gamma_gamma([1, 0, 0], [10.0, 0.0, 0.0])
    assert not fit.converged
    assert fit.n_customers == 1
    assert "only 1 customer" in fit.message


def test_predicted_clv_by_hand():
    fit_days = clv.BgNbdFit(0.243, 4.414 * 7, 0.793, 2.426, math.nan, True, 2357, "CDNOW in days")
    x, t_x, T, m = np.array([0, 2, 7]), np.array([0.0, 213.0, 250.0]), np.array([272.0, 272.0, 260.0]), np.array([0.0, 22.35, 40.0])
    step_rate = 1.10 ** (30 / 365) - 1
    value = clv.expected_order_value(GG, x, m)
    by_hand = np.zeros(3)
    for k, (start, end) in enumerate(zip([0, 30, 60, 90], [30, 60, 90, 100]), start=1):
        purchases = clv.expected_purchases(fit_days, end, x, t_x, T) - clv.expected_purchases(fit_days, start, x, t_x, T)
        by_hand += purchases * value / (1 + step_rate) ** k
    np.testing.assert_allclose(clv.predicted_clv(fit_days, GG, x, t_x, T, m, horizon_days=100), by_hand, rtol=1e-12)
    undiscounted = clv.predicted_clv(fit_days, GG, x, t_x, T, m, horizon_days=365, annual_discount_rate=0.0)
    np.testing.assert_allclose(undiscounted, clv.expected_purchases(fit_days, 365, x, t_x, T) * value, rtol=1e-12)
    assert np.all(clv.predicted_clv(fit_days, GG, x, t_x, T, m) < undiscounted)


# Backtest helpers

@pytest.mark.parametrize(
    "scores, labels, expected",
    [
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),   # 3 of the 4 (positive, negative) pairs ordered right
        ([0.5, 0.5, 0.5, 0.2], [1, 0, 1, 0], 0.75),    # two tied pairs count 1/2 each: (1 + 0.5 + 1 + 0.5) / 4
        ([3, 3, 3, 3], [1, 0, 1, 0], 0.5),
        ([1, 2, 3, 4], [0, 0, 1, 1], 1.0),
        ([1, 2, 3, 4], [1, 1, 0, 0], 0.0),
        ([0.2, 0.2, 0.7, 0.7, 0.9], [True, False, False, True, True], 4 / 6),  # pairs: 0.5 + 0 + 1 + 0.5 + 1 + 1 = 4 of 6
    ],
)
def test_roc_auc_by_hand(scores, labels, expected):
    assert clv.roc_auc(scores, labels) == pytest.approx(expected, abs=1e-15)


def test_roc_auc_equals_counting_pairs():
    rng = np.random.default_rng(3)
    scores, labels = rng.integers(0, 5, 300), rng.integers(0, 2, 300)
    positive, negative = scores[labels == 1], scores[labels == 0]
    pairs = (positive[:, None] > negative[None, :]) + 0.5 * (positive[:, None] == negative[None, :])
    assert clv.roc_auc(scores, labels) == pytest.approx(pairs.mean(), rel=1e-14)
    assert math.isnan(clv.roc_auc([0.1, 0.2], [1, 1]))


def test_calibration_by_decile_exact_rows():
    predicted = np.arange(23, dtype=float)[::-1]  # 22, 21, ..., 0
    actual = (predicted >= 20).astype(float)
    expected = pd.DataFrame({
        "decile": np.arange(1, 11),
        "customers": [3, 3, 3, 2, 2, 2, 2, 2, 2, 2],
        "predicted_mean": [1.0, 4.0, 7.0, 9.5, 11.5, 13.5, 15.5, 17.5, 19.5, 21.5],
        "actual_mean": [0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1.0],
    })
    assert_frame_equal(clv.calibration_by_decile(predicted, actual), expected)


def test_calibration_by_decile_breaks_ties_by_position():
    actual = np.arange(5, dtype=float)
    result = clv.calibration_by_decile(np.zeros(5), actual)
    expected = pd.DataFrame({"decile": np.arange(1, 6), "customers": np.ones(5, dtype="int64"),
                             "predicted_mean": np.zeros(5), "actual_mean": actual})
    assert_frame_equal(result, expected)
    assert clv.calibration_by_decile([], []).empty
