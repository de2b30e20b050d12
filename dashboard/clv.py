"""The closed forms the churn model predicts with: BG/NBD expected purchases, Gamma-Gamma order value, CLV, AUC.

Arrays (or pandas Series) in, numpy arrays or DataFrames out; numpy, scipy and pandas only: no DuckDB, no Streamlit.
The model the app fits is the MBG/NBD (``dashboard/churn.py``: ``fit_mbgnbd``, ``fit_gamma_gamma``, ``predict``);
every MBG/NBD prediction for an active customer is the BG/NBD's with b + 1 (``churn.MbgNbdFit.as_shifted_bgnbd``),
so the hypergeometric expectation of eq. 10 below is the one implementation both use. Nothing here fits a model.

Inputs follow the usual "RFM" summary, one row per customer, as of the end of an observation window:

- ``frequency``: number of *repeat* purchases (distinct purchase days after the first one),
- ``recency``: time from the first purchase to the last one (0 when ``frequency`` is 0),
- ``T``: time from the first purchase to the end of the window (the customer's age),
- ``monetary``: average value of the repeat purchases (0 when ``frequency`` is 0; the first purchase is left out).

The formulas are unit-agnostic: ``recency``, ``T`` and every horizon ``t`` must share one time unit, and ``alpha``
(and so every prediction horizon) is in that unit. The app uses days; the CDNOW golden tests use weeks.
Only ``predicted_clv`` assumes days, because it discounts with an annual rate. Invalid input (negative counts,
recency > T, NaN, mismatched lengths) raises ValueError.

References:
- Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD Model",
  Marketing Science 24(2), 275-284 (BG/NBD; equation numbers below refer to it).
- Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
  Journal of Marketing Research 42(4), 415-430, and Fader & Hardie (2013), "The Gamma-Gamma Model of
  Monetary Value" (note 025) for the spend model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

# The churn model's fits (dashboard/churn.py): a fit on fewer customers than this is returned with
# converged=False (four parameters need more than a handful), and log-parameters are bounded to
# [-LOG_PARAM_BOUND, LOG_PARAM_BOUND] after rescaling time (or money) to order 1; a parameter that ends on a bound
# means the likelihood has no interior maximum, and the fit is flagged.
MIN_CUSTOMERS_TO_FIT = 10
LOG_PARAM_BOUND = 10.0

# Near a = 1 the closed form of eq. 10 is 0/0; it is interpolated linearly between a = 1 -/+ this.
_A_NEAR_ONE = 1e-4

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class BgNbdFit:
    """BG/NBD parameters: purchase rate lambda ~ Gamma(r, alpha), dropout probability p ~ Beta(a, b).

    What ``expected_purchases`` and ``predicted_clv`` evaluate; the app makes one from its MBG/NBD fit
    (``churn.MbgNbdFit.as_shifted_bgnbd``). ``alpha`` is in the time unit of the data it was fitted on,
    ``log_likelihood`` the total over customers, ``converged`` False when the fit should not be used (``message``).
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool
    n_customers: int
    message: str

    @property
    def params(self) -> tuple[float, float, float, float]:
        """(r, alpha, a, b)."""
        return (self.r, self.alpha, self.a, self.b)


@dataclass(frozen=True)
class GammaGammaFit:
    """Gamma-Gamma spend parameters: order value ~ Gamma(p, nu), nu ~ Gamma(q, v) (the paper's gamma is ``v``).

    ``v`` is in the currency of the data; ``mean_monetary`` is the average ``monetary`` of the fitted customers,
    used for customers without repeat purchases when the model's population mean is infinite (q <= 1).
    """

    p: float
    q: float
    v: float
    log_likelihood: float
    converged: bool
    n_customers: int
    mean_monetary: float
    message: str

    @property
    def population_mean_order_value(self) -> float:
        """E[order value] for a customer we know nothing about: p * v / (q - 1), infinite when q <= 1."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else math.inf


def _as_float_array(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN")
    return array


def _customer_arrays(frequency, recency, T, weights=None):
    """Validate and broadcast the RFM columns (and weights) into 1-d float arrays of equal length."""
    x = _as_float_array(frequency, "frequency")
    t_x = _as_float_array(recency, "recency")
    age = _as_float_array(T, "T")
    w = np.ones_like(x) if weights is None else _as_float_array(weights, "weights")
    if not (x.shape == t_x.shape == age.shape == w.shape):
        raise ValueError(f"frequency, recency, T and weights differ in shape: {x.shape}, {t_x.shape}, {age.shape}, {w.shape}")
    x, t_x, age, w = (np.ravel(v) for v in (x, t_x, age, w))
    if (x < 0).any() or (t_x < 0).any() or (w < 0).any():
        raise ValueError("frequency, recency and weights must be >= 0")
    if (t_x > age * (1 + 1e-9) + 1e-12).any():
        raise ValueError("recency must be <= T (time of the last purchase cannot be after the end of the window)")
    return x, t_x, age, w


def _group_codes(*columns: np.ndarray) -> np.ndarray:
    """One integer code per distinct combination of the columns (hash-based; no sort of the rows)."""
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        column_codes, uniques = pd.factorize(column)
        codes, _ = pd.factorize(codes * len(uniques) + column_codes)  # both factors < n rows, so no overflow
    return codes


def _distinct(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, first): a code per row for its combination of values, and the first row of each code."""
    codes = _group_codes(*columns)
    n_groups = int(codes.max()) + 1 if codes.size else 0
    first = np.full(n_groups, codes.size, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(codes.size))
    return codes, first


def _result(values: np.ndarray):
    return float(values) if np.ndim(values) == 0 else values


def _broadcast(*values) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values)))


def p_alive(fit: BgNbdFit, frequency, recency, T) -> np.ndarray:
    """P(customer is still active at T | frequency, recency, T); exactly 1 for customers without repeat purchases.

    1 / (1 + [x > 0] * a / (b + x - 1) * ((alpha + T) / (alpha + recency))^(r + x)), computed in log space.
    """
    x, t_x, age = _broadcast(frequency, recency, T)
    has_repeat = x > 0
    x_safe = np.where(has_repeat, x, 1.0)
    log_odds_dropped = (
        np.log(fit.a) - np.log(fit.b + x_safe - 1)
        + (fit.r + x) * (np.log(fit.alpha + age) - np.log(fit.alpha + t_x))
    )
    return _result(np.where(has_repeat, special.expit(-log_odds_dropped), 1.0))


def _beta_mean_purchases(A, B, k, s) -> np.ndarray:
    """E[(1 - (1 + s p)^-k) / p] for p ~ Beta(A, B): expected purchases of an active customer (see below).

    Closed form (Euler-transformed eq. 10): (A+B-1)/(A-1) * [1 - (1+s)^(1-A) 2F1(A+B-1-k, A-1; A+B-1; s/(1+s))].
    The argument s/(1+s) stays in [0, 1) and the 2F1 stays of order 1 however large x or t are, unlike the
    paper's form, whose 2F1 overflows while its prefactor underflows. Two removable singularities are avoided:
    A+B-1 < 1 by splitting Beta(A, B) into its mixture of Beta(A, B+1) and Beta(A+1, B); A = 1 by interpolating
    between A = 1 -/+ 1e-4 (error ~ 1e-8 relative).

    The 2F1 stays of order 1 while the dropout Beta's A is moderate. A fit with a very large A (a and b in the
    thousands: almost no evidence of dropout, so p is all but known, as on a small sample of one year) makes it
    grow like (1+s)^(A-1) and overflow while (1+s)^(1-A) underflows: their product, and so the result, would be
    NaN (no expected orders nor value for those customers). Those entries are integrated over the Beta instead
    (``_quadrature_mean_purchases``).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is a non-finite entry, integrated below
        out = _beta_mean_purchases_closed(A, B, k, s)
    failed = ~np.isfinite(out)
    if failed.any():
        A, B, k, s = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A, B, k, s)))
        out[failed] = _quadrature_mean_purchases(A[failed], B[failed], k[failed], s[failed])
    return out


QUADRATURE_NODES = 96
QUADRATURE_SPREAD = 12.0  # standard deviations either side of the Beta's mean


def _quadrature_mean_purchases(A, B, k, s) -> np.ndarray:
    """E[(1 - (1 + s p)^-k) / p] for p ~ Beta(A, B) by Gauss-Legendre quadrature over the mean +/- 12 standard
    deviations (clipped to (0, 1)), the Beta density computed in log space: for the large A and B where the closed
    form overflows, the Beta is concentrated and nearly normal, so this window holds all but ~1e-30 of it and 96
    nodes integrate the smooth integrand to about 1e-12 (tests/test_clv.py checks it against the closed form and
    against scipy's adaptive integration)."""
    A, B, k, s = (np.asarray(v, dtype=float) for v in (A, B, k, s))
    mean = A / (A + B)
    spread = QUADRATURE_SPREAD * np.sqrt(A * B / ((A + B) ** 2 * (A + B + 1)))
    tiny = np.finfo(float).tiny ** 0.25
    low = np.clip(mean - spread, tiny, 1.0 - tiny)[:, None]
    high = np.clip(mean + spread, tiny, 1.0 - tiny)[:, None]
    nodes, weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    p = low + (high - low) * (nodes + 1.0) / 2.0
    log_density = (A - 1.0)[:, None] * np.log(p) + (B - 1.0)[:, None] * np.log1p(-p)
    density = np.exp(log_density - log_density.max(axis=1, keepdims=True)) * weights
    purchases = -np.expm1(-k[:, None] * np.log1p(s[:, None] * p)) / p
    return (density * purchases).sum(axis=1) / density.sum(axis=1)


def _beta_mean_purchases_closed(A, B, k, s) -> np.ndarray:
    A, B, k, s = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A, B, k, s)))
    out = np.empty(A.shape)
    small_c = A + B - 1 < 1
    if small_c.any():
        A_s, B_s, k_s, s_s = A[small_c], B[small_c], k[small_c], s[small_c]
        out[small_c] = (
            B_s / (A_s + B_s) * _beta_mean_purchases_closed(A_s, B_s + 1, k_s, s_s)
            + A_s / (A_s + B_s) * _beta_mean_purchases_closed(A_s + 1, B_s, k_s, s_s)
        )
    near_one = ~small_c & (np.abs(A - 1) < _A_NEAR_ONE)
    if near_one.any():
        A_n, B_n, k_n, s_n = A[near_one], B[near_one], k[near_one], s[near_one]
        below = _closed_form_mean_purchases(np.full_like(A_n, 1 - _A_NEAR_ONE), B_n, k_n, s_n)
        above = _closed_form_mean_purchases(np.full_like(A_n, 1 + _A_NEAR_ONE), B_n, k_n, s_n)
        share_above = (A_n - (1 - _A_NEAR_ONE)) / (2 * _A_NEAR_ONE)
        out[near_one] = (1 - share_above) * below + share_above * above
    regular = ~small_c & ~near_one
    out[regular] = _closed_form_mean_purchases(A[regular], B[regular], k[regular], s[regular])
    return out


def _closed_form_mean_purchases(A, B, k, s) -> np.ndarray:
    c = A + B - 1
    log_1ps = np.log1p(s)
    hyp = special.hyp2f1(c - k, A - 1, c, s / (1 + s))
    shrink = np.exp(-(A - 1) * log_1ps)
    # 1 - shrink * hyp, written so the A -> 1 part (1 - shrink) keeps its precision
    return c * (-np.expm1(-(A - 1) * log_1ps) - shrink * (hyp - 1)) / (A - 1)


def _purchases_if_alive(fit: BgNbdFit, t, x, age) -> np.ndarray:
    """Expected purchases in (T, T + t] of a customer known to be active at T, on each distinct (x, T, t)."""
    t, x, age = _broadcast(t, x, age)
    flat = [v.ravel() for v in (t, x, age)]
    codes, first = _distinct(*flat)
    t_u, x_u, age_u = (v[first] for v in flat)
    return _purchases_if_alive_distinct(fit, t_u, x_u, age_u)[codes].reshape(t.shape)


def _purchases_if_alive_distinct(fit: BgNbdFit, t, x, age) -> np.ndarray:
    # Given active at T: lambda ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x), and
    # E[purchases in t | lambda, p] = (1 - exp(-lambda p t)) / p; integrating lambda out gives (1 - (1+s p)^-k) / p.
    return _beta_mean_purchases(fit.a, fit.b + x, fit.r + x, t / (fit.alpha + age))


def expected_purchases(fit: BgNbdFit, t, frequency, recency, T) -> np.ndarray:
    """E[number of purchases in (T, T + t] | frequency, recency, T] (eq. 10); ``t`` in the data's time unit.

    With frequency = recency = T = 0 this is the unconditional E[X(t)] of a new customer (eq. 9).
    The hypergeometric part depends only on (frequency, T, t) and is computed once per distinct combination.
    """
    t, x, t_x, age = _broadcast(t, frequency, recency, T)
    if (t < 0).any():
        raise ValueError("t must be >= 0")
    return _result(np.asarray(p_alive(fit, x, t_x, age)) * _purchases_if_alive(fit, t, x, age))


def typical_purchase_gap(frequency, recency, T) -> float:
    """A positive "usual time between orders" for ``recency_score``, in the data's time unit.

    The median over repeat customers of recency / frequency (their average gap). Without repeat customers, the
    median T of customers with T > 0 (nobody came back within that time, so the gap is at least that long);
    if every T is 0, 1.0 (every customer then has 0 days since the last order, and scores 0 whatever the gap).
    """
    x, t_x, age, _ = _customer_arrays(frequency, recency, T)
    repeat = (x > 0) & (t_x > 0)
    if repeat.any():
        return float(np.median(t_x[repeat] / x[repeat]))
    if (age > 0).any():
        return float(np.median(age[age > 0]))
    return 1.0


def recency_score(days_since_last, typical_gap: float) -> np.ndarray:
    """Fallback churn score in [0, 1) when the model cannot be fitted: 1 - exp(-days_since_last / typical_gap).

    It is the probability that a customer who orders at random (Poisson) once per ``typical_gap`` would have
    ordered again by now: 0 right after an order, 0.63 one typical gap later, 0.95 after three. Any time unit,
    as long as both arguments share it. Example: ``recency_score([0, 30, 90], 30)`` -> [0, 0.632, 0.950].
    """
    gap = float(typical_gap)
    if not (math.isfinite(gap) and gap > 0):
        raise ValueError(f"typical_gap must be a positive number, got {typical_gap!r}")
    elapsed = _as_float_array(days_since_last, "days_since_last")
    if (elapsed < 0).any():
        raise ValueError("days_since_last must be >= 0")
    return _result(-np.expm1(-elapsed / gap))


def expected_order_value(fit: GammaGammaFit, frequency, monetary) -> np.ndarray:
    """E[value of a future order | frequency, monetary] = p (v + x m) / (p x + q - 1) (note 025, eq. 5).

    A weighted average of the population mean p v / (q - 1) and the customer's own mean m, with more weight on m
    the more repeat orders x there are. Customers with x = 0 get the population mean, or ``fit.mean_monetary``
    when that is infinite (q <= 1); where p x + q <= 1 (a flagged fit) the customer's own ``monetary`` is used.
    """
    x, m = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(frequency, monetary))
    has_repeat = x > 0
    population_mean = fit.population_mean_order_value
    if not math.isfinite(population_mean):
        population_mean = fit.mean_monetary
    denominator = fit.p * x + fit.q - 1
    finite = has_repeat & (denominator > 0)  # p x + q <= 1 only in a flagged fit: the posterior mean is infinite
    own = fit.p * (fit.v + x * m) / np.where(finite, denominator, 1.0)
    return _result(np.where(finite, own, np.where(has_repeat, m, population_mean)))


def predicted_clv(
    bgnbd_fit: BgNbdFit,
    gg_fit: GammaGammaFit,
    frequency,
    recency,
    T,
    monetary,
    horizon_days: float = 365,
    annual_discount_rate: float = 0.10,
    step_days: float = 30,
) -> np.ndarray:
    """Discounted expected spend over the next ``horizon_days`` (time unit: days, unlike the rest of the module).

    CLV = sum_{k=1..K} (E[Y(t_k)] - E[Y(t_{k-1})]) * E[order value] / (1 + d)^k, where t_k = min(k * step_days,
    horizon_days), K = ceil(horizon_days / step_days), E[Y(t)] is ``expected_purchases`` (eq. 10),
    E[order value] is ``expected_order_value``, and the per-step rate d = (1 + annual_discount_rate)^(step_days / 365) - 1
    (0.786 % a month for the defaults). Purchases in a step are discounted to the end of that step.
    """
    if not (horizon_days > 0 and step_days > 0):
        raise ValueError("horizon_days and step_days must be > 0")
    if not annual_discount_rate > -1:
        raise ValueError("annual_discount_rate must be > -1")
    x, t_x, age, m = _broadcast(frequency, recency, T, monetary)
    alive = np.asarray(p_alive(bgnbd_fit, x, t_x, age))
    order_value = np.asarray(expected_order_value(gg_fit, x, m))
    step_rate = (1.0 + annual_discount_rate) ** (step_days / DAYS_PER_YEAR) - 1.0
    n_steps = math.ceil(horizon_days / step_days - 1e-12)
    codes, first = _distinct(x.ravel(), age.ravel())  # the 2F1 part depends on (frequency, T) only
    x_u, age_u = x.ravel()[first], age.ravel()[first]
    discounted_purchases = np.zeros(first.size)
    previous = np.zeros(first.size)
    for k in range(1, n_steps + 1):
        cumulative = _purchases_if_alive_distinct(bgnbd_fit, min(k * step_days, horizon_days), x_u, age_u)
        discounted_purchases += (cumulative - previous) / (1.0 + step_rate) ** k
        previous = cumulative
    return _result(alive * discounted_purchases[codes].reshape(x.shape) * order_value)


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve, P(score of a random positive > score of a random negative), ties counting 1/2.

    Rank-based (Mann-Whitney U with average ranks for ties); NaN when all labels are equal.
    Example: ``roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])`` -> 0.75.
    """
    score = np.ravel(_as_float_array(scores, "scores"))
    label = np.ravel(np.asarray(labels))
    if score.shape != label.shape:
        raise ValueError(f"scores and labels differ in shape: {score.shape}, {label.shape}")
    if not np.isin(label, [0, 1]).all():
        raise ValueError("labels must be 0/1 or boolean")
    positive = label.astype(bool)
    n_positive = int(positive.sum())
    n_negative = positive.size - n_positive
    if n_positive == 0 or n_negative == 0:
        return math.nan
    from scipy import stats  # here: importing scipy.stats takes about a second, which every command paid

    ranks = stats.rankdata(score)  # average ranks for ties
    u_statistic = ranks[positive].sum() - n_positive * (n_positive + 1) / 2.0
    return float(u_statistic / (n_positive * n_negative))


def calibration_by_decile(predicted, actual) -> pd.DataFrame:
    """Mean predicted vs mean actual per decile of ``predicted``: one row per non-empty decile, 1 = lowest.

    Deciles are ``ntile(10)`` over predicted ascending, ties broken by input position, so the result is
    deterministic and sizes differ by at most one (the lower deciles get the extra customers, like SQL ntile).
    Columns: decile, customers, predicted_mean, actual_mean.
    """
    predicted_values = np.ravel(_as_float_array(predicted, "predicted"))
    actual_values = np.ravel(_as_float_array(actual, "actual"))
    if predicted_values.shape != actual_values.shape:
        raise ValueError(f"predicted and actual differ in shape: {predicted_values.shape}, {actual_values.shape}")
    order = np.argsort(predicted_values, kind="stable")
    rows = []
    for decile, members in enumerate(np.array_split(order, 10), start=1):
        if members.size:
            rows.append((decile, members.size, predicted_values[members].mean(), actual_values[members].mean()))
    frame = pd.DataFrame(rows, columns=["decile", "customers", "predicted_mean", "actual_mean"])
    return frame.astype({"decile": "int64", "customers": "int64", "predicted_mean": "float64", "actual_mean": "float64"})
