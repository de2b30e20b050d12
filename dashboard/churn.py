"""The purchase/dropout model, its fit, the per-customer scores and their backtest.

The model is the MBG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of
models for customer base analysis", International Journal of Research in Marketing 24(3), 201-209): the
BG/NBD (Fader, Hardie & Lee 2005) with one change, a customer may also drop out right after the *first*
purchase. The plain BG/NBD gives every one-time buyer P(alive) = 1, however long ago they bought; the MBG/NBD
does not, and it backtests better on both our demo exports and CDNOW (docs/churn.md has the numbers).
Time is in days throughout.

``score_customers(cursor)`` fits the model on ``queries/churn_features.sql`` at the cursor's as-of date,
stores one row per customer in the DuckDB table ``customer_scores`` of that as-of's model schema (once,
thread-safe) and returns the scores. ``backtest(database, cutoff)`` fits at a past date and compares the
predictions with what happened next. No Streamlit import: the CLI, the report and the app share this code.
"""

from __future__ import annotations

import math
import re
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import special

from dashboard import clv, formatting, graph, lifecycle, queries, seasonality
from dashboard.filters import Segment
from dashboard.model import STAGED_ROW, cutoff_for

RISK_HORIZON_DAYS = 90
CLV_HORIZON_DAYS = 365
ANNUAL_DISCOUNT_RATE = 0.10
HIGH_RISK = 0.7
MEDIUM_RISK = 0.4
RISK_BANDS = ("high", "medium", "low")
# Reasons: overdue when the time since the last order is at least this many typical gaps; a complaint is slow
# when it took longer than this many days; the order value is falling when the last order is at least this
# share below the mean of the earlier ones.
OVERDUE_GAP_RATIO = 2.0
SLOW_RESOLUTION_DAYS = 7.0
FALLING_VALUE_SHARE = 0.4
MAX_REASONS = 3
RFM_SEGMENTS = (
    "Champions", "Loyal", "Potential loyalists", "New", "Promising", "Needs attention", "At risk",
    "Can't lose them", "Hibernating", "Lost",
)
NPS_CATEGORIES = ("promoter", "passive", "detractor", "none")
SCORE_COLUMNS = (
    "customer_id", "lifecycle_state", "rfm_segment", "recency_days", "frequency", "monetary", "p_alive",
    "expected_next_order_on", "is_overdue", "expected_orders_90d", "expected_orders_365d", "churn_risk", "risk_band",
    "predicted_value_90d", "predicted_clv_365d", "value_if_active_365d", "value_at_stake_365d", "revenue", "reasons",
)
# Columns of `python -m dashboard scores` (email follows customer_id when PII display is on).
EXPORT_COLUMNS = (
    "customer_id", "lifecycle_state", "rfm_segment", "recency_days", "frequency", "monetary", "p_alive",
    "expected_next_order_on", "is_overdue", "expected_orders_90d", "expected_orders_365d", "churn_risk",
    "predicted_value_90d", "predicted_clv_365d", "value_at_stake_365d", "revenue", "reasons",
)

_LOG_PARAM_BOUND = clv.LOG_PARAM_BOUND
_AT_BOUND = _LOG_PARAM_BOUND - 1e-3
_GRADIENT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class MbgNbdFit:
    """MBG/NBD parameters: purchase rate lambda ~ Gamma(r, alpha) (alpha in days), dropout p ~ Beta(a, b).

    ``converged`` is False when the fit should not be used; ``message`` says why.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool
    n_customers: int
    message: str
    is_thin: bool = False  # too little data for any fit (few customers, no repeat purchase, T = 0 everywhere)
    at_bound: bool = False  # the likelihood's maximum lies on a parameter bound (a limiting model)

    @property
    def params(self) -> tuple[float, float, float, float]:
        """(r, alpha, a, b)."""
        return (self.r, self.alpha, self.a, self.b)

    def as_shifted_bgnbd(self) -> clv.BgNbdFit:
        """The BG/NBD with b + 1: it shares every prediction of an active customer with this model (see below)."""
        return clv.BgNbdFit(self.r, self.alpha, self.a, self.b + 1.0, self.log_likelihood, self.converged,
                            self.n_customers, self.message)


def _customer_arrays(frequency, recency, T, weights=None):
    """Validated 1-d float arrays; ValueError on NaN, negative values, recency > T or mismatched lengths."""
    arrays = []
    for name, values in (("frequency", frequency), ("recency", recency), ("T", T)):
        array = np.ravel(np.asarray(values, dtype=float))
        if np.isnan(array).any():
            raise ValueError(f"{name} contains NaN")
        arrays.append(array)
    x, t_x, age = arrays
    w = np.ones_like(x) if weights is None else np.ravel(np.asarray(weights, dtype=float))
    if not (x.shape == t_x.shape == age.shape == w.shape):
        raise ValueError("frequency, recency, T and weights differ in length")
    if (x < 0).any() or (t_x < 0).any() or (w < 0).any() or np.isnan(w).any():
        raise ValueError("frequency, recency and weights must be >= 0")
    if (t_x > age * (1 + 1e-9) + 1e-12).any():
        raise ValueError("recency must be <= T (time of the last purchase cannot be after the end of the window)")
    return x, t_x, age, w


def mbgnbd_log_likelihood(params, frequency, recency, T, weights=None) -> np.ndarray:
    """Per-customer MBG/NBD log-likelihood, times ``weights`` (Batislam et al. 2007, eq. 3):

    L = B(a, b+x+1)/B(a, b) * G(r+x) a^r / (G(r) (alpha+T)^(r+x))
      + B(a+1, b+x)/B(a, b) * G(r+x) a^r / (G(r) (alpha+t_x)^(r+x)),
    the second term (dropped out right after the last purchase) present for every x, including x = 0.
    ``params`` is (r, alpha, a, b) or an ``MbgNbdFit``.
    """
    r, alpha, a, b = params.params if isinstance(params, MbgNbdFit) else (float(v) for v in params)
    x, t_x, age, w = _customer_arrays(frequency, recency, T, weights)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    alive = special.betaln(a, b + x + 1) - special.betaln(a, b) - (r + x) * np.log(alpha + age)
    dropped = special.betaln(a + 1, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + t_x)
    return w * (common + np.logaddexp(alive, dropped))


class _MbgNbdObjective:
    """Mean negative log-likelihood and its gradient in log-parameters, on aggregated rows.

    Terms that depend on frequency alone are computed once per distinct frequency, terms in T or recency once
    per distinct value, so one evaluation is a few passes over the distinct (frequency, recency, T) rows.
    """

    def __init__(self, x, t_x, age, w):
        self.x_values, self.x_index = np.unique(x, return_inverse=True)
        self.age_values, self.age_index = np.unique(age, return_inverse=True)
        self.t_x_values, self.t_x_index = np.unique(t_x, return_inverse=True)
        self.w = w
        self.total_weight = float(w.sum())
        self.weight_by_x = np.bincount(self.x_index, weights=w, minlength=len(self.x_values))

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        xv, ix, w = self.x_values, self.x_index, self.w
        log_age = np.log(alpha + self.age_values)[self.age_index]
        log_t_x = np.log(alpha + self.t_x_values)[self.t_x_index]
        inverse_age = (1.0 / (alpha + self.age_values))[self.age_index]
        inverse_t_x = (1.0 / (alpha + self.t_x_values))[self.t_x_index]
        beta_ab = special.betaln(a, b)
        shape = (r + xv)[ix]
        alive = (special.betaln(a, b + xv + 1) - beta_ab)[ix] - shape * log_age
        dropped = (special.betaln(a + 1, b + xv) - beta_ab)[ix] - shape * log_t_x
        mixed = np.logaddexp(alive, dropped)
        share_alive = np.exp(alive - mixed)
        share_dropped = 1.0 - share_alive
        common_x = special.gammaln(r + xv) - special.gammaln(r) + r * np.log(alpha)
        total = float(self.weight_by_x @ common_x + w @ mixed)

        w_dropped_by_x = np.bincount(ix, weights=w * share_dropped, minlength=len(xv))
        w_alive_by_x = self.weight_by_x - w_dropped_by_x
        digamma_ab = special.digamma(a + b)
        digamma_abx1 = special.digamma(a + b + xv + 1)
        d_r = self.weight_by_x @ (special.digamma(r + xv) - special.digamma(r) + np.log(alpha)) - w @ (
            share_alive * log_age + share_dropped * log_t_x
        )
        d_alpha = self.total_weight * r / alpha - w @ (
            shape * (share_alive * inverse_age + share_dropped * inverse_t_x)
        )
        d_a = self.weight_by_x @ (digamma_ab - digamma_abx1) + w_dropped_by_x.sum() / a
        d_b = (
            self.weight_by_x @ (digamma_ab - digamma_abx1 - special.digamma(b))
            + w_alive_by_x @ special.digamma(b + xv + 1)
            + w_dropped_by_x @ special.digamma(b + xv)
        )
        gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return -total / self.total_weight, -gradient / self.total_weight


def _aggregate(x, t_x, age, w):
    """Identical (frequency, recency, T) rows collapsed into one with the summed weight, sorted.

    Whole-day inputs (the app's) are packed into one integer key per row, which is several times faster than
    grouping on three float columns; other inputs take the general path.
    """
    if x.size and all(np.array_equal(v, np.floor(v)) for v in (x, t_x, age)):
        spans = [int(v.max()) + 1 for v in (x, t_x, age)]
        if math.prod(spans) < 2**62:
            key = (x.astype(np.int64) * spans[1] + t_x.astype(np.int64)) * spans[2] + age.astype(np.int64)
            codes, keys = pd.factorize(key)  # hashing, cheaper than sorting every row
            summed = np.bincount(codes, weights=w, minlength=keys.size)
            order = np.argsort(keys)
            keys, summed = keys[order], summed[order]
            keep = summed > 0
            keys, summed = keys[keep], summed[keep]
            age_out = keys % spans[2]
            t_x_out = (keys // spans[2]) % spans[1]
            x_out = keys // (spans[2] * spans[1])
            return x_out.astype(float), t_x_out.astype(float), age_out.astype(float), summed
    grouped = (
        pd.DataFrame({"x": x, "t_x": t_x, "age": age, "w": w})
        .groupby(["x", "t_x", "age"], sort=True)["w"].sum()
        .reset_index()
    )
    grouped = grouped[grouped["w"] > 0]
    return tuple(grouped[column].to_numpy(dtype=float) for column in ("x", "t_x", "age", "w"))


def _minimize_from_starts(objective, starts, bounds):
    """L-BFGS-B from each start in turn until one converges; else the best result. Returns (result, converged)."""
    from scipy import optimize  # here: importing scipy.optimize takes about a second, which every command paid

    best, best_ok = None, False
    for start in starts:
        result = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                   options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9})
        ok = _converged(objective, result)
        if best is None or (ok, -result.fun) > (best_ok, -best.fun):
            best, best_ok = result, ok
        if ok:
            break
    return best, best_ok


def _converged(objective, result) -> bool:
    if not (np.all(np.isfinite(result.x)) and np.isfinite(result.fun)) or np.any(np.abs(result.x) >= _AT_BOUND):
        return False
    if result.success:
        return True
    return bool(np.max(np.abs(objective(result.x)[1])) < _GRADIENT_TOLERANCE)


def fit_mbgnbd(frequency, recency, T, weights=None) -> MbgNbdFit:
    """Maximum-likelihood MBG/NBD fit; identical rows are aggregated, so millions of customers fit in seconds.

    Never raises on thin data (one customer, nobody bought twice, every order on one day): the fit comes back
    with ``converged=False`` and a ``message`` saying why. Example (CDNOW, weeks):
    ``fit_mbgnbd(s.frequency, s.recency, s["T"])`` -> MbgNbdFit(r=0.525, alpha=6.183, a=0.891, b=1.614, ...).
    """
    x, t_x, age, w = _aggregate(*_customer_arrays(frequency, recency, T, weights))
    total_weight = float(w.sum())
    n_customers = int(round(total_weight))
    if total_weight == 0:
        return MbgNbdFit(math.nan, math.nan, math.nan, math.nan, math.nan, False, 0, "no customers to fit",
                         is_thin=True)
    problems = []
    if n_customers < clv.MIN_CUSTOMERS_TO_FIT:
        problems.append(f"only {n_customers} customer(s); need at least {clv.MIN_CUSTOMERS_TO_FIT}")
    if not (x > 0).any():
        problems.append("nobody made a repeat purchase, so purchase rate and dropout cannot be estimated")
    if not (age > 0).any():
        problems.append("every customer's first order is on the last day (T = 0)")
    is_thin = bool(problems)

    positive = age > 0
    time_scale = float(np.average(age[positive], weights=w[positive])) if positive.any() else 1.0
    objective = _MbgNbdObjective(x, t_x / time_scale, age / time_scale, w)
    rate = max(float(np.average(x, weights=w)) / max(float(np.average(age / time_scale, weights=w)), 1e-9), 1e-3)
    bounds = [(-_LOG_PARAM_BOUND, _LOG_PARAM_BOUND)] * 4
    starts = (np.log([0.5, 0.5 / rate, 0.5, 2.0]), np.zeros(4), np.log([2.0, 2.0 / rate, 2.0, 10.0]))
    best, best_ok = _minimize_from_starts(objective, starts, bounds)
    r, alpha_scaled, a, b = np.exp(best.x)
    alpha = float(alpha_scaled * time_scale)
    log_likelihood = float(mbgnbd_log_likelihood((r, alpha, a, b), x, t_x, age, w).sum())
    at_bound = [f"{name}={math.exp(value):.3g}" for name, value in zip(("r", "alpha", "a", "b"), best.x)
                if abs(value) >= _AT_BOUND]
    if at_bound:
        problems.append(f"parameter(s) at the optimizer bound ({', '.join(at_bound)}): no interior maximum")
    elif not best_ok:
        problems.append(f"optimizer did not converge: {best.message}")
    converged = best_ok and not problems
    return MbgNbdFit(float(r), alpha, float(a), float(b), log_likelihood, converged, n_customers,
                     "converged" if converged else "; ".join(problems), is_thin=is_thin, at_bound=bool(at_bound))


def mbg_p_alive(fit: MbgNbdFit, frequency, recency, T) -> np.ndarray:
    """P(active at T | x, t_x, T) = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x))^(r + x)), for every x.

    Below 1 for one-time buyers too (x = 0, t_x = 0): the MBG/NBD lets them drop out after the first order.
    """
    x, t_x, age = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (frequency, recency, T)))
    log_odds_dropped = (
        np.log(fit.a) - np.log(fit.b + x) + (fit.r + x) * (np.log(fit.alpha + age) - np.log(fit.alpha + t_x))
    )
    return special.expit(-log_odds_dropped)


def mbg_prob_no_purchase(fit: MbgNbdFit, t, frequency, recency, T) -> np.ndarray:
    """P(no purchase in (T, T + t] | x, t_x, T): the churn risk.

    (1 - P(alive)) + P(alive) * ((alpha + T) / (alpha + T + t))^(r + x): an active customer stays active until
    the next purchase, which waits Exp(lambda) with lambda ~ Gamma(r + x, alpha + T) given the history.
    """
    t, x, t_x, age = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, frequency, recency, T)))
    if (t < 0).any():
        raise ValueError("t must be >= 0")
    alive = mbg_p_alive(fit, x, t_x, age)
    silent_if_alive = np.exp(-(fit.r + x) * np.log1p(t / (fit.alpha + age)))
    return 1.0 - alive + alive * silent_if_alive


def _one_time_buyer_factor(fit: MbgNbdFit, frequency, recency, T) -> np.ndarray:
    """P(alive) for one-time buyers, 1 for the others: what turns the shifted BG/NBD into the MBG/NBD.

    Given the history, an active MBG/NBD customer has lambda ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x + 1)
    (they survived x + 1 dropout coins), exactly an active BG/NBD customer with b + 1 (p ~ Beta(a, b + 1 + x)).
    The P(alive) of the two models also agree for x > 0 (a / (b + 1 + x - 1) = a / (b + x)); for x = 0 the
    BG/NBD says 1 and the MBG/NBD says ``mbg_p_alive``.
    """
    x = np.asarray(frequency, dtype=float)
    return np.where(x == 0, mbg_p_alive(fit, frequency, recency, T), 1.0)


def mbg_expected_purchases(fit: MbgNbdFit, t, frequency, recency, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (Batislam et al. 2007, eq. 5):

    (a+b+x)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))]
    / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), evaluated with ``clv.expected_purchases`` on b + 1.
    """
    x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    shifted = clv.expected_purchases(fit.as_shifted_bgnbd(), t, x, t_x, age)
    return np.asarray(shifted) * _one_time_buyer_factor(fit, x, t_x, age)


def mbg_predicted_clv(fit: MbgNbdFit, gg_fit: clv.GammaGammaFit, frequency, recency, T, monetary,
                      horizon_days: float = CLV_HORIZON_DAYS,
                      annual_discount_rate: float = ANNUAL_DISCOUNT_RATE) -> np.ndarray:
    """Discounted expected spend over ``horizon_days``: ``clv.predicted_clv`` (monthly steps, each discounted
    at (1 + annual_discount_rate)^(30/365) - 1) with the MBG/NBD's purchases instead of the BG/NBD's."""
    x, t_x, age, m = (np.asarray(v, dtype=float) for v in (frequency, recency, T, monetary))
    shifted = clv.predicted_clv(fit.as_shifted_bgnbd(), gg_fit, x, t_x, age, m, horizon_days=horizon_days,
                                annual_discount_rate=annual_discount_rate)
    return np.asarray(shifted) * _one_time_buyer_factor(fit, x, t_x, age)


def fit_gamma_gamma(frequency, monetary) -> clv.GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit (note 025, eq. 1a) on the customers with frequency > 0 and monetary > 0.

    Money is rescaled to order 1 for the optimizer and ``v`` returned in the input's currency; never raises on
    thin data (``converged=False`` and a ``message``). The terms in p x alone are computed once per distinct
    frequency and the sums of log m, x log m and x log x once, so an evaluation is two passes over the customers
    (log(v + m x) and its reciprocal). Tests check it against the published CDNOW estimates and a plain
    maximisation of the likelihood written out term by term.
    """
    x = np.ravel(np.asarray(frequency, dtype=float))
    m = np.ravel(np.asarray(monetary, dtype=float))
    if x.shape != m.shape:
        raise ValueError(f"frequency and monetary differ in shape: {x.shape}, {m.shape}")
    if np.isnan(x).any() or np.isnan(m).any() or (x < 0).any() or (m < 0).any():
        raise ValueError("frequency and monetary must be numbers >= 0")
    used = (x > 0) & (m > 0)
    order = np.lexsort((m[used], x[used]))  # a canonical order: the same fit, bit for bit, whatever the row order
    x, m = x[used][order], m[used][order]
    n = int(used.sum())
    if n == 0:
        return clv.GammaGammaFit(math.nan, math.nan, math.nan, math.nan, False, 0, math.nan,
                                 "no customers with repeat purchases and spend > 0")
    mean_monetary = float(m.mean())
    money_scale = float(np.median(m))
    m_scaled = m / money_scale
    x_values, x_index = np.unique(x, return_inverse=True)
    count_by_x = np.bincount(x_index, minlength=x_values.size).astype(float)
    log_m = np.log(m_scaled)
    sum_log_m, sum_x_log_m, sum_x_log_x = log_m.sum(), x @ log_m, x @ np.log(x)

    def objective(log_params):
        p, q, v = np.exp(log_params)
        px = p * x_values
        spend = v + m_scaled * x
        log_spend = np.log(spend)
        inverse_spend = 1.0 / spend
        total = (
            count_by_x @ (special.gammaln(px + q) - special.gammaln(px)) - n * special.gammaln(q) + n * q * math.log(v)
            + p * sum_x_log_m - sum_log_m + p * sum_x_log_x - p * (x @ log_spend) - q * log_spend.sum()
        )
        digamma_pxq = special.digamma(px + q)
        d_p = (count_by_x * x_values) @ (digamma_pxq - special.digamma(px)) + sum_x_log_m + sum_x_log_x - x @ log_spend
        d_q = count_by_x @ digamma_pxq - n * special.digamma(q) + n * math.log(v) - log_spend.sum()
        d_v = n * q / v - p * (x @ inverse_spend) - q * inverse_spend.sum()
        gradient = np.array([d_p * p, d_q * q, d_v * v])
        return -total / n, -gradient / n

    bounds = [(-_LOG_PARAM_BOUND, _LOG_PARAM_BOUND)] * 3
    starts = (np.zeros(3), np.log([2.0, 3.0, 2.0]), np.log([10.0, 10.0, 10.0]))
    best, best_ok = _minimize_from_starts(objective, starts, bounds)
    p, q, v_scaled = np.exp(best.x)
    v = float(v_scaled * money_scale)
    px = p * x
    log_likelihood = float(np.sum(
        special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + m * x)
    ))
    problems = []
    if n < clv.MIN_CUSTOMERS_TO_FIT:
        problems.append(f"only {n} customer(s) with repeat purchases; need at least {clv.MIN_CUSTOMERS_TO_FIT}")
    at_bound = [f"{name}={math.exp(value):.3g}" for name, value in zip(("p", "q", "v"), best.x)
                if abs(value) >= _AT_BOUND]
    if at_bound:
        problems.append(f"parameter(s) at the optimizer bound ({', '.join(at_bound)}): no interior maximum")
    elif not best_ok:
        problems.append(f"optimizer did not converge: {best.message}")
    if q <= 1:
        problems.append(f"q = {q:.3g} <= 1: the population mean order value is infinite")
    converged = best_ok and not problems
    return clv.GammaGammaFit(float(p), float(q), v, log_likelihood, converged, n, mean_monetary,
                             "converged" if converged else "; ".join(problems))


# The NBD: the MBG/NBD's limit when nobody drops out

@dataclass(frozen=True)
class NbdFit:
    """NBD parameters (no dropout): every customer stays active and buys at rate lambda ~ Gamma(r, alpha)."""

    r: float
    alpha: float
    log_likelihood: float
    converged: bool
    n_customers: int
    message: str


def nbd_log_likelihood(params, frequency, recency, T, weights=None) -> np.ndarray:
    """Per-customer NBD log-likelihood of x purchases at the observed times in (0, T], times ``weights``:
    G(r+x)/G(r) * alpha^r / (alpha+T)^(r+x) (the MBG/NBD's "still active" term with p = 0; recency drops out)."""
    r, alpha = (float(value) for value in params)
    x, _, age, w = _customer_arrays(frequency, recency, T, weights)
    return w * (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + age))


def fit_nbd(frequency, recency, T, weights=None) -> NbdFit:
    """Maximum-likelihood NBD fit, used when the MBG/NBD's maximum lies at its no-dropout limit.

    Returns ``converged=False`` with a message when r or alpha runs to a bound (no heterogeneity to measure).
    """
    x, t_x, age, w = _aggregate(*_customer_arrays(frequency, recency, T, weights))
    total_weight = float(w.sum())
    if total_weight == 0 or not (x > 0).any() or not (age > 0).any():
        return NbdFit(math.nan, math.nan, math.nan, False, int(round(total_weight)), "too little data")
    time_scale = float(np.average(age[age > 0], weights=w[age > 0]))
    scaled_age = age / time_scale

    def objective(log_params):
        r, alpha = np.exp(log_params)
        total = w @ (special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha) - (r + x) * np.log(alpha + scaled_age))
        d_r = w @ (special.digamma(r + x) - special.digamma(r) + math.log(alpha) - np.log(alpha + scaled_age))
        d_alpha = w @ (r / alpha - (r + x) / (alpha + scaled_age))
        return -total / total_weight, -np.array([d_r * r, d_alpha * alpha]) / total_weight

    rate = max(float(np.average(x, weights=w)) / max(float(np.average(scaled_age, weights=w)), 1e-9), 1e-3)
    bounds = [(-_LOG_PARAM_BOUND, _LOG_PARAM_BOUND)] * 2
    best, best_ok = _minimize_from_starts(objective, (np.log([1.0, 1.0 / rate]), np.zeros(2)), bounds)
    r, alpha_scaled = np.exp(best.x)
    alpha = float(alpha_scaled * time_scale)
    log_likelihood = float(nbd_log_likelihood((r, alpha), x, t_x, age, w).sum())
    converged = best_ok and not np.any(np.abs(best.x) >= _AT_BOUND)
    return NbdFit(float(r), alpha, log_likelihood, converged, int(round(total_weight)),
                  "converged" if converged else "NBD parameter at the optimizer bound")


# Predictions of either model on model time (see dashboard/seasonality.py)

class _Predictor:
    """The fitted purchase model's per-customer predictions; horizons ``t`` in model days."""

    def __init__(self, fit):
        self.fit = fit
        self.is_nbd = isinstance(fit, NbdFit)

    def p_alive(self, x, t_x, age) -> np.ndarray:
        if self.is_nbd:
            return np.ones(np.shape(x))
        return mbg_p_alive(self.fit, x, t_x, age)

    def p_alive_after_last_order(self, x) -> np.ndarray:
        """P(alive) right after the last purchase (T = t_x): 1 / (1 + a / (b + x)) under the MBG/NBD."""
        if self.is_nbd:
            return np.ones(np.shape(x))
        return 1.0 / (1.0 + self.fit.a / (self.fit.b + np.asarray(x, dtype=float)))

    def purchases_if_alive(self, t: float, x, age) -> np.ndarray:
        """Expected purchases in the next ``t`` model days of a customer known to be active now."""
        if self.is_nbd:
            return (self.fit.r + x) * t / (self.fit.alpha + age)
        return clv._purchases_if_alive(self.fit.as_shifted_bgnbd(), t, x, age)

    def prob_no_purchase(self, t: float, x, t_x, age) -> np.ndarray:
        if self.is_nbd:
            return np.exp(-(self.fit.r + x) * np.log1p(t / (self.fit.alpha + age)))
        return mbg_prob_no_purchase(self.fit, t, x, t_x, age)

    def expected_gap(self, x, t_x) -> np.ndarray:
        """The customer's expected gap between purchases while active, in model days: 1 / E[lambda | history up
        to their last purchase] = (alpha + t_x) / (r + x); alpha / r (the population's) for a one-time buyer."""
        return (self.fit.alpha + np.asarray(t_x, dtype=float)) / (self.fit.r + np.asarray(x, dtype=float))


@dataclass(frozen=True)
class ModelInfo:
    """What was fitted at an as-of date: the method, its parameters, the seasonal index and the thin-data
    warning (or None). ``method`` is "MBG/NBD", "NBD (no dropout)", "recency fallback" or "none"."""

    as_of: date | None
    method: str
    n_customers: int
    r: float = math.nan
    alpha: float = math.nan
    a: float = math.nan
    b: float = math.nan
    gg_p: float = math.nan
    gg_q: float = math.nan
    gg_v: float = math.nan
    message: str | None = None
    season_index: tuple[float, ...] | None = None
    season_message: str | None = None

    @property
    def has_predictions(self) -> bool:
        """P(alive), expected orders and predicted value exist (a model was fitted)."""
        return self.method in MODEL_METHODS


MBG_METHOD = "MBG/NBD"
NBD_METHOD = "NBD (no dropout)"
FALLBACK_METHOD = "recency fallback"
MODEL_METHODS = (MBG_METHOD, NBD_METHOD)
PREDICTION_COLUMNS = (
    "p_alive", "p_alive_after_last_order", "expected_orders", "expected_orders_90d", "expected_orders_365d",
    "churn_risk", "expected_order_value", "predicted_value_90d", "predicted_clv_365d", "value_if_active_365d",
    "value_at_stake_365d", "expected_gap_days", "expected_next_order_on", "is_overdue", "lifecycle_state",
)
_STEP_DAYS = 30
# The NBD is used when the MBG/NBD's dropout adds less than this to twice the log-likelihood (a chi-square
# test with one degree of freedom at 5%): no dropout is evident.
_DROPOUT_EVIDENCE = 3.84


def _model_times(clock, first_day, t_x, age, as_of_day):
    """(t_x, T) in model days; day inputs must be whole days unless the clock is flat."""
    if clock.is_flat:
        return np.asarray(t_x, dtype=float), np.asarray(age, dtype=float)
    first_day = np.asarray(first_day, dtype=np.int64)
    return (clock.elapsed(first_day, first_day + np.asarray(t_x, dtype=np.int64)),
            clock.elapsed(first_day, np.full(first_day.shape, as_of_day)))


def _choose_model(histories, clock, as_of_day):
    """Fit the MBG/NBD on model time (``histories``: the identical day rows aggregated, ``_aggregate``); at a
    boundary maximum with no evident dropout, the NBD. Returns (fit or None, message or None)."""
    x_u, t_x_u, age_u, w_u = histories
    t_x_w, age_w = _model_times(clock, as_of_day - age_u, t_x_u, age_u, as_of_day)
    fit = fit_mbgnbd(x_u, t_x_w, age_w, w_u)
    if fit.converged:
        return fit, None
    if fit.is_thin:
        return None, fit.message
    if fit.at_bound:
        nbd = fit_nbd(x_u, t_x_w, age_w, w_u)
        if nbd.converged and 2 * (fit.log_likelihood - nbd.log_likelihood) < _DROPOUT_EVIDENCE:
            return nbd, ("No customer drop-out is evident in this data (the MBG/NBD's best fit is its no-dropout "
                         "limit), so the model is that limit, the NBD: every customer counts as active and buys "
                         "at their own rate.")
        if all(math.isfinite(value) and value > 0 for value in fit.params):
            bound = fit.message.split("(", 1)[-1].split(")", 1)[0]
            return replace(fit, converged=True), (
                f"The churn model's best fit has a parameter at its limit ({bound}); its predictions are that "
                "limiting model's.")
    return None, fit.message


@dataclass(frozen=True)
class FittedModels:
    """What ``fit_models`` fitted on ``churn_features`` rows, for ``apply_models`` to predict any rows of the same
    as-of date with: the rows fitted on (``predict``), or every customer in batches when the fit ran on a sample
    (the Spark engine: ``dashboard/engines/spark.py``).

    ``fit`` is the purchase model (MBG/NBD or NBD), None for the recency fallback (then ``typical_gap`` is the
    population's typical gap in days) or when there was no customer; ``gg`` the order-value model used (its
    no-pooling stand-in when it did not fit); ``clock`` the operational clock, ``as_of_day`` the as-of day number.
    """

    fit: object
    gg: clv.GammaGammaFit | None
    typical_gap: float
    clock: seasonality.OperationalClock
    as_of_day: int
    has_dates: bool
    info: ModelInfo


def day_numbers(features: pd.DataFrame) -> np.ndarray:
    """The day numbers (days since 1970-01-01) of the frame's first_purchased_on."""
    return pd.to_datetime(features["first_purchased_on"]).to_numpy().astype("datetime64[D]").astype(np.int64)


@dataclass(frozen=True)
class FitInputs:
    """What ``fit_models`` reads of every customer, summarised so that nothing holds one value per customer but
    the repeat customers' spend: ``histories`` are the distinct (frequency, recency_days, t_days) with their
    customer counts (the purchase model's likelihood is a sum over them), ``repeat_frequency`` and
    ``repeat_spend`` one entry per customer with frequency > 0 (the Gamma-Gamma's rows; spend is ``monetary``
    clipped at 0), ``first_days`` the first purchase day numbers with their customer counts (the seasonal index
    and the clock's start; None without dates), ``mean_revenue`` the mean lifetime revenue (the order-value
    fallback when nobody repeats). Made from pandas rows (``of``) or from rows DuckDB holds (``staged``): the same
    numbers, so the same fit."""

    n: int
    histories: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    repeat_frequency: np.ndarray
    repeat_spend: np.ndarray
    mean_revenue: float
    as_of_day: int
    first_days: tuple[np.ndarray, np.ndarray] | None

    @classmethod
    def of(cls, features: pd.DataFrame) -> "FitInputs":
        """From ``churn_features`` rows in pandas (one per customer)."""
        x = features["frequency"].to_numpy(dtype=float)
        t_x = features["recency_days"].to_numpy(dtype=float)
        age = features["t_days"].to_numpy(dtype=float)
        repeat = x > 0
        spend = np.clip(features["monetary"].to_numpy(dtype=float)[repeat], 0.0, None)
        first_days, as_of_day = None, 0
        if "first_purchased_on" in features.columns:  # else (a test's plain summary): no dates, no season
            days = day_numbers(features)
            as_of_day = int(days[0] + age[0]) if len(days) else 0
            first_days = (days, np.ones(len(days)))
        mean_revenue = float(features["revenue"].mean()) if "revenue" in features.columns else math.nan
        return cls(len(features), _aggregate(*_customer_arrays(x, t_x, age)), x[repeat], spend, mean_revenue,
                   as_of_day, first_days)

    @classmethod
    def staged(cls, staged, as_of: date) -> "FitInputs":
        """From ``churn_features`` rows an engine holds (``graph.Target.staged``), at their as-of date."""
        histories = staged.counts(("frequency", "recency_days", "t_days"))
        repeat = staged.frame(("frequency", "monetary"), positive="frequency")
        days = staged.counts(("first_purchased_on",))
        customers = histories["customers"].to_numpy(dtype=float)
        x, t_x, age = (histories[column].to_numpy(dtype=float) for column in ("frequency", "recency_days", "t_days"))
        return cls(int(customers.sum()), _aggregate(*_customer_arrays(x, t_x, age, customers)),
                   repeat["frequency"].to_numpy(dtype=float),
                   np.clip(repeat["monetary"].to_numpy(dtype=float), 0.0, None), staged.mean("revenue"),
                   (as_of - date(1970, 1, 1)).days, (day_numbers(days), days["customers"].to_numpy(dtype=float)))

    def expanded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frequency, recency, T) with one entry per customer, in the histories' order (the recency fallback's
        typical gap, a median over customers: only when the model cannot be fitted)."""
        x, t_x, age, w = self.histories
        counts = w.astype(np.int64)
        return np.repeat(x, counts), np.repeat(t_x, counts), np.repeat(age, counts)


def fit_models(features: pd.DataFrame, season: seasonality.SeasonalIndex | None = None,
               first_day: int | None = None) -> FittedModels:
    """Fit the purchase model (MBG/NBD, or its no-dropout limit the NBD) and the Gamma-Gamma on ``churn_features``
    rows (``predict`` explains the fallbacks). ``first_day``: the earliest first purchase day number of every
    customer to be predicted, when ``features`` is a sample of them (the operational clock must cover them all)."""
    return fit_summarised(FitInputs.of(features), season, first_day)


def fit_summarised(inputs: FitInputs, season: seasonality.SeasonalIndex | None = None,
                   first_day: int | None = None) -> FittedModels:
    """``fit_models`` on the customers' summary (``FitInputs``)."""
    n = inputs.n
    if n == 0:
        return FittedModels(None, None, math.nan, seasonality.OperationalClock.flat(), 0, False,
                            ModelInfo(None, "none", 0, message="No customer has a valid order by this date."))
    season = season or seasonality.SeasonalIndex(None, "not estimated")
    has_dates = inputs.first_days is not None
    if has_dates:
        as_of_day = inputs.as_of_day
        first = int(inputs.first_days[0].min())
        earliest = first if first_day is None else min(int(first_day), first)
        clock = seasonality.clock_for(season, earliest, date(1970, 1, 1) + timedelta(days=as_of_day))
    else:
        as_of_day, clock = 0, seasonality.OperationalClock.flat()
        season = seasonality.SeasonalIndex(None, "no purchase dates")
    season_info = {"season_index": season.index, "season_message": season.message}

    fit, note = _choose_model(inputs.histories, clock, as_of_day)
    if fit is None:
        gap = clv.typical_purchase_gap(*inputs.expanded())
        message = (
            f"The churn model could not be fitted on this data ({note}). Churn risk is a plain recency "
            f"score instead: 1 - exp(-days since last order / {gap:.0f} days, the typical gap between orders); "
            "P(alive), expected orders and predicted value are not available."
        )
        return FittedModels(None, None, gap, clock, as_of_day, has_dates,
                            ModelInfo(None, FALLBACK_METHOD, n, message=message, **season_info))

    gg = fit_gamma_gamma(inputs.repeat_frequency, inputs.repeat_spend)
    gg_params = (gg.p, gg.q, gg.v)
    messages = [note] if note else []
    if not gg.converged:
        gg_params = (math.nan, math.nan, math.nan)
        # No pooling: a repeat customer's own mean spend, the mean spend of all repeat purchases for the others
        # (p = q = 1, v = 0 turns E[order value] = p (v + x m) / (p x + q - 1) into m; see clv.expected_order_value).
        own_mean = float(inputs.repeat_spend.mean()) if inputs.repeat_spend.size else inputs.mean_revenue
        gg = clv.GammaGammaFit(1.0, 1.0, 0.0, math.nan, False, gg.n_customers, own_mean, gg.message)
        messages.append(f"The order-value model could not be fitted ({gg.message}); predicted value uses each "
                        "customer's own mean repeat order value instead.")
    if isinstance(fit, NbdFit):
        params, method = (fit.r, fit.alpha, math.nan, math.nan), NBD_METHOD
    else:
        params, method = fit.params, MBG_METHOD
    info = ModelInfo(None, method, n, *params, *gg_params, " ".join(messages) or None, **season_info)
    return FittedModels(fit, gg, math.nan, clock, as_of_day, has_dates, info)


def apply_models(features: pd.DataFrame, models: FittedModels,
                 horizon_days: int = RISK_HORIZON_DAYS, risk_only: bool = False) -> pd.DataFrame:
    """The columns of ``PREDICTION_COLUMNS`` for ``churn_features`` rows of the as-of date ``models`` was fitted
    at, one row per input row (same index); ``predict`` explains them. With ``risk_only`` (the backtest) and a
    fitted model, only ``churn_risk`` and ``expected_orders``, the same values, without the year of value."""
    n = len(features)
    out = pd.DataFrame(index=features.index)
    if n == 0 or models.info.method == "none":  # no rows, or none fitted on (an empty sample): nothing known
        for column in PREDICTION_COLUMNS:
            out[column] = pd.Series(None if column == "lifecycle_state" else pd.NaT if column ==
                                    "expected_next_order_on" else False if column == "is_overdue" else np.nan,
                                    index=features.index,
                                    dtype="object" if column == "lifecycle_state" else
                                    "datetime64[s]" if column == "expected_next_order_on" else
                                    "bool" if column == "is_overdue" else "float64")
        return out
    x = features["frequency"].to_numpy(dtype=float)
    t_x = features["recency_days"].to_numpy(dtype=float)
    age = features["t_days"].to_numpy(dtype=float)
    spend = np.clip(features["monetary"].to_numpy(dtype=float), 0.0, None)
    days_since = features["days_since_last_order"].to_numpy(dtype=float)
    clock, as_of_day, has_dates = models.clock, models.as_of_day, models.has_dates
    first_day = day_numbers(features) if has_dates else -age
    last_day = first_day + t_x

    def next_order_dates(gap):
        if not has_dates:
            return np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"), np.asarray(days_since > gap)
        next_day = clock.advance(last_day.astype(np.int64), gap)
        return seasonality.day_to_date(next_day), next_day < as_of_day

    if models.fit is None:  # the recency fallback
        own_gap = np.where(x > 0, t_x / np.maximum(x, 1), models.typical_gap)
        next_date, overdue = next_order_dates(own_gap)
        for column in PREDICTION_COLUMNS:
            out[column] = np.nan
        out["churn_risk"] = clv.recency_score(days_since, models.typical_gap)
        out["expected_gap_days"] = own_gap
        out["expected_next_order_on"] = next_date
        out["is_overdue"] = overdue
        out["lifecycle_state"] = lifecycle.states(x, np.nan, np.nan, overdue)
        return out

    t_x_w, age_w = _model_times(clock, first_day, t_x, age, as_of_day)
    model = _Predictor(models.fit)
    alive = model.p_alive(x, t_x_w, age_w)
    horizon_w = float(clock.elapsed(as_of_day, as_of_day + horizon_days))
    if risk_only:
        out["churn_risk"] = model.prob_no_purchase(horizon_w, x, t_x_w, age_w)
        out["expected_orders"] = alive * model.purchases_if_alive(horizon_w, x, age_w)
        return out
    order_value = np.asarray(clv.expected_order_value(models.gg, x, spend))
    # Expected purchases while active depend on (x, T) only: the monthly steps are computed once per distinct
    # pair (tens of thousands at 10M orders, against millions of customers) and spread back to the customers.
    codes, first = clv._distinct(x, age_w)
    x_u, age_u = x[first], age_w[first]
    n_steps = math.ceil(CLV_HORIZON_DAYS / _STEP_DAYS)
    step_rate = (1.0 + ANNUAL_DISCOUNT_RATE) ** (_STEP_DAYS / clv.DAYS_PER_YEAR) - 1.0
    previous = np.zeros(len(first))
    discounted = np.zeros(len(first))
    discounted_90 = None
    purchases_90 = None
    for k in range(1, n_steps + 1):
        step_end = float(clock.elapsed(as_of_day, as_of_day + min(k * _STEP_DAYS, CLV_HORIZON_DAYS)))
        cumulative = model.purchases_if_alive(step_end, x_u, age_u)
        discounted += (cumulative - previous) / (1.0 + step_rate) ** k
        previous = cumulative
        if k * _STEP_DAYS == RISK_HORIZON_DAYS:
            discounted_90, purchases_90 = discounted.copy(), cumulative
    discounted, discounted_90, purchases_90, purchases_365 = (
        values[codes] for values in (discounted, discounted_90, purchases_90, previous))
    value_if_active = discounted * order_value
    gap = model.expected_gap(x, t_x_w)
    next_date, overdue = next_order_dates(gap)

    out["p_alive"] = alive
    out["p_alive_after_last_order"] = model.p_alive_after_last_order(x)
    out["expected_orders"] = alive * (purchases_90 if horizon_days == RISK_HORIZON_DAYS
                                      else model.purchases_if_alive(horizon_w, x, age_w))
    out["expected_orders_90d"] = alive * purchases_90
    out["expected_orders_365d"] = alive * purchases_365
    out["churn_risk"] = model.prob_no_purchase(horizon_w, x, t_x_w, age_w)
    out["expected_order_value"] = order_value
    out["predicted_value_90d"] = alive * discounted_90 * order_value
    out["predicted_clv_365d"] = alive * value_if_active
    out["value_if_active_365d"] = value_if_active
    out["value_at_stake_365d"] = (1.0 - alive) * value_if_active
    out["expected_gap_days"] = gap
    out["expected_next_order_on"] = next_date
    out["is_overdue"] = overdue
    out["lifecycle_state"] = lifecycle.states(x, alive, out["p_alive_after_last_order"].to_numpy(), overdue)
    return out


def predict(features: pd.DataFrame, horizon_days: int = RISK_HORIZON_DAYS,
            season: seasonality.SeasonalIndex | None = None,
            risk_only: bool = False) -> tuple[pd.DataFrame, ModelInfo]:
    """Fit the purchase model (MBG/NBD, or its no-dropout limit the NBD) and the Gamma-Gamma on
    ``churn_features`` rows and predict, one row per input row, in the columns of ``PREDICTION_COLUMNS``.

    ``season`` (optional) is the seasonal index: time is then measured on its operational clock (see
    dashboard/seasonality.py). ``expected_orders`` and ``churn_risk`` are for ``horizon_days``; the other
    horizons are fixed (90 and 365 days). Money: ``predicted_*`` and ``value_*`` are discounted like
    ``predicted_clv_365d`` (docs/churn.md). When no model can be fitted, churn_risk falls back to
    ``clv.recency_score`` and the model outputs are NaN; ``info.message`` then says why.
    The fit (``fit_models``) and the predictions (``apply_models``) are separate so an engine can fit on a sample
    and predict every customer in batches.
    """
    models = fit_models(features, season)
    return apply_models(features, models, horizon_days, risk_only), models.info


def fit_of(info: ModelInfo):
    """The fitted purchase model a ``ModelInfo`` describes (MBG/NBD or NBD), or None (recency fallback, none)."""
    if info.method == NBD_METHOD:
        return NbdFit(info.r, info.alpha, math.nan, True, info.n_customers, "")
    if info.method == MBG_METHOD:
        return MbgNbdFit(info.r, info.alpha, info.a, info.b, math.nan, True, info.n_customers, "")
    return None


def lifecycle_at(features: pd.DataFrame, model: ModelInfo, earliest_day: int | None = None,
                 typical_gap: float | None = None) -> np.ndarray:
    """The lifecycle state of each ``churn_features`` row (at the as-of date those rows were computed for) under a
    model already fitted (``model``: its parameters and seasonal index): what the movement compares today's
    states with. With no model (recency fallback), the states of the fallback: each customer's own gap.
    When ``features`` is a batch of that date's rows: ``earliest_day``, the earliest first purchase day number of
    them all (where the operational clock starts), and ``typical_gap``, the fallback's typical gap over them all."""
    if features.empty:
        return np.array([], dtype=object)
    x = features["frequency"].to_numpy(dtype=float)
    t_x = features["recency_days"].to_numpy(dtype=float)
    age = features["t_days"].to_numpy(dtype=float)
    first_day = (pd.to_datetime(features["first_purchased_on"]).to_numpy().astype("datetime64[D]").astype(np.int64))
    as_of_day = int(first_day[0] + age[0])
    last_day = (first_day + t_x).astype(np.int64)
    season = seasonality.SeasonalIndex(model.season_index, model.season_message or "")
    earliest = int(first_day.min()) if earliest_day is None else int(earliest_day)
    clock = seasonality.clock_for(season, earliest, date(1970, 1, 1) + timedelta(days=as_of_day))
    fit = fit_of(model)
    if fit is None:
        gap = clv.typical_purchase_gap(x, t_x, age) if typical_gap is None else typical_gap
        overdue = clock.advance(last_day, np.where(x > 0, t_x / np.maximum(x, 1), gap)) < as_of_day
        return lifecycle.states(x, np.nan, np.nan, overdue)
    t_x_w, age_w = _model_times(clock, first_day, t_x, age, as_of_day)
    predictor = _Predictor(fit)
    overdue = clock.advance(last_day, predictor.expected_gap(x, t_x_w)) < as_of_day
    return lifecycle.states(x, predictor.p_alive(x, t_x_w, age_w), predictor.p_alive_after_last_order(x), overdue)


MOVEMENT_DAYS = (7, 28)  # the movement compares today's RFM segments and states with a week and 4 weeks ago
MOVEMENT_LABELS = {"a week ago": 7, "4 weeks ago": 28}  # how the page names them (its URL carries these)


# The churn_features columns the model is fitted on and predicts from (fit_models, apply_models, lifecycle_at):
# what a builder fetches from the staged query (AsOfTarget.staged), never the ids or the other columns.
MODEL_INPUTS = ("frequency", "recency_days", "t_days", "days_since_last_order", "monetary", "revenue",
                "first_purchased_on")
# Customers predicted at a time when the scores are built: each batch is fetched from DuckDB and its outputs copied
# back before the next is made, so pandas holds one batch (about 320 bytes a customer while it is predicted) and the
# fit's summary (FitInputs), whatever the customer count.
SCORE_BATCH_CUSTOMERS = 2_000_000


def build_customer_movements(target) -> None:
    """Build the graph node ``customer_movements``: every customer's lifecycle state and RFM segment 7 and 28 days
    before the target's as-of date, under the model fitted at the as-of date (so a movement is the customer's
    doing, not a refit's). Customers without an order by then have no row for that date.

    Each date's features stay in DuckDB (``target.staged``); Python fetches the four columns the states are
    computed from, a batch at a time, and the states go back by row: at 40M customers the two dates' whole
    frames were gigabytes outside DuckDB's memory_limit (bench/README.md, "100M orders")."""
    model = model_info_from(target.query("churn_model_info"))
    with ExitStack() as stages:  # movement_features lives as long as the first date's stage
        for days_back in MOVEMENT_DAYS:
            staged = stages.enter_context(target.staged("churn_features",
                                                        as_of=target.as_of - timedelta(days=days_back)))
            first_days = day_numbers(staged.counts(("first_purchased_on",)))
            earliest = int(first_days.min()) if len(first_days) else None
            gap = None  # the recency fallback's typical gap, over every customer of that date
            if fit_of(model) is None and earliest is not None:
                gap = clv.typical_purchase_gap(
                    *FitInputs.staged(staged, target.as_of - timedelta(days=days_back)).expanded())

            def states(batches, days_back=days_back, earliest=earliest, gap=gap):
                for rows in batches:
                    yield pd.DataFrame({
                        STAGED_ROW: rows[STAGED_ROW].to_numpy(),
                        "snapshot": np.full(len(rows), days_back, dtype=np.int16),
                        "lifecycle_state": pd.Series(lifecycle_at(rows, model, earliest, gap), dtype="object"),
                    })

            staged.join("movement_features", states(staged.batches(
                ("frequency", "recency_days", "t_days", "first_purchased_on"), SCORE_BATCH_CUSTOMERS)),
                columns=("customer_id", "days_since_last_order", "frequency", "revenue"))
            staged.drop_source()
        with target.transaction():
            target.execute_file("churn_movements_store")


def build_customer_scores(target) -> None:
    """Build the graph node ``customer_scores`` at the target's as-of date: measure the seasonal index, fit the
    model on ``queries/churn_features.sql`` and store ``customer_scores`` (with ``rfm_segment_map``), the
    win-back macros and ``churn_model``, all or nothing. The graph calls it once per as-of date
    (``graph.ensure``), whoever asks.

    The features stay in DuckDB (``target.staged``): the model is fitted on their summary (``FitInputs``, every
    customer), and customers are predicted ``SCORE_BATCH_CUSTOMERS`` at a time, each batch's outputs copied
    into DuckDB and joined to the features there. Holding the whole frame with its outputs took ``prepare`` to
    22 GiB at 40M customers (bench/README.md, "100M orders").
    """
    with target.staged("churn_features", as_of=target.as_of) as staged:
        inputs = FitInputs.staged(staged, target.as_of)
        models = fit_summarised(inputs, estimate_seasonality(target, inputs))
        del inputs
        info = replace(models.info, as_of=target.as_of)
        staged.join("churn_model_scores", _scored_batches(staged.batches(MODEL_INPUTS, SCORE_BATCH_CUSTOMERS), models))
        staged.drop_source()
        with target.transaction():
            target.execute_file("churn_rfm_segment_map")
            target.execute_file("churn_rfm_macro")
            target.execute_file(
                "churn_customer_scores", high_risk=HIGH_RISK, medium_risk=MEDIUM_RISK,
                overdue_gap_ratio=OVERDUE_GAP_RATIO, slow_resolution_days=SLOW_RESOLUTION_DAYS,
                falling_value_share=FALLING_VALUE_SHARE,
            )
            target.execute_file("churn_winback_macro")
            target.execute_file(
                "churn_model_fit", as_of=info.as_of, method=info.method, n_customers=info.n_customers, r=info.r,
                alpha=info.alpha, a=info.a, b=info.b, gg_p=info.gg_p, gg_q=info.gg_q, gg_v=info.gg_v,
                message=info.message,
                season_index=None if info.season_index is None else ",".join(f"{v!r}" for v in info.season_index),
                season_message=info.season_message,
            )


def _scored_batches(batches, models: FittedModels):
    """The model's outputs for each batch of rows (``MODEL_INPUTS`` with ``staged_row``): ``staged_row``, the
    ``PREDICTION_COLUMNS`` but ``expected_orders`` (its 90-day horizon is ``expected_orders_90d``) and
    ``snapshot`` (0: customer_rfm's as-of date)."""
    for batch in batches:
        predictions = apply_models(batch, models)
        scored = {STAGED_ROW: batch[STAGED_ROW].to_numpy()}
        scored.update((column, predictions[column].to_numpy()) for column in predictions.columns
                      if column != "expected_orders")
        scored["snapshot"] = np.zeros(len(batch), dtype=np.int16)
        yield pd.DataFrame(scored)


def model_info(cursor) -> ModelInfo:
    """The churn model fitted at the cursor's as-of date (``queries/churn_model_info.sql``): how the scores were
    made and the thin-data warning. Reading it builds the scores the first time (the graph does, once).

    Example: ``model_info(database.cursor(date(2026, 11, 15))).method == "MBG/NBD"``.
    """
    return model_info_from(queries.run_query(cursor, "churn_model_info"))


def model_info_from(rows: pd.DataFrame) -> ModelInfo:
    """The ``ModelInfo`` of the one row of ``queries/churn_model_info.sql``."""
    row = rows.iloc[0]
    values = {name: (None if pd.isna(row[name]) else row[name]) for name in row.index}
    as_of = pd.Timestamp(values["as_of"]).date() if values["as_of"] is not None else None
    numbers = {name: math.nan if values[name] is None else float(values[name])
               for name in ("r", "alpha", "a", "b", "gg_p", "gg_q", "gg_v")}
    index = None
    if values.get("season_index"):
        index = tuple(float(value) for value in values["season_index"].split(","))
    return ModelInfo(as_of, values["method"], int(values["n_customers"]), **numbers, message=values["message"],
                     season_index=index, season_message=values.get("season_message"))


def estimate_seasonality(target, features) -> seasonality.SeasonalIndex:
    """The seasonal index at the target's as-of date (``queries/churn_season_repeat_days.sql`` and the first
    purchase days of ``features``: ``churn_features`` rows in pandas, or their ``FitInputs``); see
    dashboard/seasonality.py."""
    if not isinstance(features, FitInputs):
        return seasonality_of_first_days(target, day_numbers(features))
    if features.n and features.first_days is None:
        return seasonality.SeasonalIndex(None, "no purchase dates")
    return seasonality_of_first_days(target, *(features.first_days or (np.empty(0, dtype=np.int64), None)))


def seasonality_of_first_days(target, first_days: np.ndarray, customers: np.ndarray | None = None
                              ) -> seasonality.SeasonalIndex:
    """The seasonal index at the target's as-of date from first purchase day numbers, each standing for
    ``customers`` customers (default one each; the Spark engine passes one entry per day with its count)."""
    if len(first_days) == 0:
        return seasonality.SeasonalIndex(None, "no customers")
    as_of = target.as_of
    repeat_days = target.query("churn_season_repeat_days", since_date=seasonality.history_start(as_of))
    return seasonality.estimate_seasonality(first_days, repeat_days, as_of, customers=customers)


@dataclass(frozen=True)
class ScoreResult:
    """Per-customer scores (``scores``, one row per customer with a valid order) and the thin-data warning."""

    scores: pd.DataFrame
    message: str | None
    model: ModelInfo


def score_customers(cursor, include_email: bool = False) -> ScoreResult:
    """Churn scores at the cursor's as-of date, built once and stored in ``customer_scores``.

    ``scores`` has the columns of ``SCORE_COLUMNS`` (plus ``email`` after customer_id when ``include_email``),
    one row per customer with a valid order, sorted by customer_id. Example:
    ``score_customers(database.cursor(date(2026, 11, 15))).scores.churn_risk.describe()``.
    """
    info = model_info(cursor)
    scores = queries.run_query(cursor, "churn_scores", show_pii=include_email)
    if not include_email:
        scores = scores.drop(columns=["email"])
    return ScoreResult(scores, info.message, info)


def score_table(cursor, include_email: bool = False):
    """The scores CSV's rows (``python -m dashboard scores``) as a ``pyarrow.Table``: the columns of
    ``EXPORT_COLUMNS`` (``email`` after customer_id when ``include_email``), one row per customer with a valid
    order, sorted by customer_id, from the same query as ``score_customers`` but with no pandas copy (3.9M
    customers: about 10 s less from the query to the file). Dates stay dates. Returns ``(table, model_info)``.
    """
    info = model_info(cursor)
    table = queries.run_query_arrow(cursor, "churn_scores", show_pii=include_email)
    columns = list(EXPORT_COLUMNS)
    if include_email:
        columns.insert(1, "email")
    return table.select(columns), info


def risk_summary(scores: pd.DataFrame) -> dict:
    """Counts and money by risk band, e.g. ``{"high_risk_customers": 812, "high_risk_revenue": 51234.5, ...}``.

    ``high_risk_revenue`` is the lifetime revenue of the high-risk customers (what the overview calls revenue at
    risk); ``high_risk_predicted_clv`` their predicted 365-day value (NaN-free: missing values count as 0).
    """
    summary = {"customers": int(len(scores))}
    for band in RISK_BANDS:
        rows = scores[scores["risk_band"] == band]
        summary[f"{band}_risk_customers"] = int(len(rows))
        summary[f"{band}_risk_revenue"] = float(rows["revenue"].sum())
        summary[f"{band}_risk_predicted_clv"] = float(rows["predicted_clv_365d"].fillna(0).sum())
    summary["high_risk_share"] = summary["high_risk_customers"] / summary["customers"] if len(scores) else math.nan
    summary["mean_churn_risk"] = float(scores["churn_risk"].mean()) if len(scores) else math.nan
    return summary


def high_risk_summary(cursor, segment: Segment = Segment()) -> dict:
    """High-risk customers of a segment and what they are worth, from the scores (built if needed).

    Summed in SQL (queries/winback_summary.sql), so no per-customer frame leaves DuckDB.
    """
    row = queries.run_query(cursor, "winback_summary", **{**WINBACK_ANY, **segment.params(), "risk_bands": ["high"]})
    row = row.to_dict("records")[0]
    return {"high_risk_customers": int(row["customers"]), "high_risk_revenue": float(row["revenue"]),
            "high_risk_predicted_clv": float(row["predicted_clv_365d"])}


def lifecycle_summary(cursor, segment: Segment = Segment()) -> pd.DataFrame:
    """One row per lifecycle state (``lifecycle.STATES`` order, states without customers included with 0):
    customers, share of the segment's customers, lifetime revenue, predicted value, value at stake (NaN without a
    model), from ``queries/churn_lifecycle_states.sql``. What the Overview and the weekly review show."""
    rows = queries.run_query(cursor, "churn_lifecycle_states", **segment.params()).set_index("lifecycle_state")
    frame = rows.reindex(list(lifecycle.STATES))
    frame["customers"] = frame["customers"].fillna(0).astype("int64")
    total = int(frame["customers"].sum())
    frame["share"] = frame["customers"] / total if total else math.nan
    frame["label"] = [lifecycle.STATE_LABELS[state] for state in frame.index]
    return frame.rename_axis("lifecycle_state").reset_index()


def movements(cursor, days_back: int, dimension: str, segment: Segment = Segment()) -> pd.DataFrame:
    """Customers of the segment by where they were ``days_back`` days before the as-of date (``previous_value``;
    'none' without an order by then) and where they are now (``current_value``), by ``dimension``
    ('lifecycle_state' or 'rfm_segment'), with their value at stake: ``queries/churn_movements.sql``, the churn
    page's "Who moved" matrix. An unknown dimension gives no rows."""
    return queries.run_query(cursor, "churn_movements", days_back=days_back, dimension=dimension, **segment.params())


# Backtest

@dataclass(frozen=True)
class Backtest:
    """How the scores made at ``cutoff`` compare with the orders of the next ``horizon_days``.

    ``auc``: P(a customer who did not order in the horizon had a higher churn_risk than one who did);
    ``baseline_auc``: the same for days since the last order. ``calibration``: one row per decile of expected
    orders (decile, customers, predicted_mean, actual_mean).
    """

    cutoff: date
    horizon_days: int
    horizon_end: date
    n_customers: int
    silent_share: float
    auc: float
    baseline_auc: float
    predicted_orders: float
    actual_orders: int
    calibration: pd.DataFrame
    method: str
    message: str | None = None
    predicted_orders_calendar: float = math.nan  # the same model on calendar days (no seasonal clock)
    season_used: bool = False

    @property
    def prediction_error(self) -> float:
        """(predicted - actual) / actual purchase days in the horizon, e.g. -0.216 for 22% low."""
        if not self.actual_orders or math.isnan(self.predicted_orders):
            return math.nan
        return (self.predicted_orders - self.actual_orders) / self.actual_orders


def backtest(database, cutoff: date, horizon_days: int = RISK_HORIZON_DAYS) -> Backtest:
    """Fit on what was known at ``cutoff`` and score "no order in (cutoff, cutoff + horizon_days]".

    Actual orders are the valid orders (usable, not cancelled) of ``main.clean_orders``, counted as purchase
    days like the model's frequency. Raises ValueError when the horizon runs past the latest order (the check
    costs nothing extra: the same pass over the orders finds the latest one).

    The churn page's backtest (horizon ``RISK_HORIZON_DAYS``) for an as-of date whose model exists is the graph
    node ``churn_backtest`` of that date: read where ``prepare`` stored it, else built once (``Database.warm``
    builds it too) and kept there. Computing it builds the whole model again for the cutoff and fits it (23 s
    from a prepared 10M-order export, minutes at 100M). Any other cutoff or horizon is computed here.
    """
    if horizon_days < 1:
        raise ValueError("the horizon must be at least 1 day")
    as_of = cutoff + timedelta(days=horizon_days)
    if horizon_days == RISK_HORIZON_DAYS and database.has_model(as_of):
        cursor = database.cursor(as_of, model=False)
        try:
            return _read_stored_backtest(cursor, cutoff, horizon_days)  # the graph builds it, or says why not
        finally:
            cursor.close()
    cursor = database.cursor(cutoff, model=False)  # only the model tables the backtest reads
    try:
        return _compute_backtest(graph.target_of(cursor), horizon_days)
    finally:
        cursor.close()


def _compute_backtest(target, horizon_days: int) -> Backtest:
    """The backtest with its cutoff at the target's as-of date (``backtest`` explains it)."""
    cutoff = target.as_of
    horizon_end = cutoff + timedelta(days=horizon_days)
    outcomes = target.query("churn_backtest_outcomes",
                            horizon_end_at=cutoff_for(horizon_end, target.parameters()["timezone"]))
    latest = outcomes["latest_order_on"].dropna()
    latest = pd.Timestamp(latest.iloc[0]).date() if len(latest) else None
    if latest is None or latest < horizon_end:
        seen = f"the latest order is on {latest}" if latest else "there is no valid order after the cutoff"
        raise ValueError(f"cutoff {cutoff} + {horizon_days} days ends on {horizon_end}, but {seen}: pick a cutoff "
                         f"at least {horizon_days} days before the latest order")
    outcomes = outcomes.dropna(subset=["customer_id"])
    # The features stay in DuckDB: the model is fitted on their summary and the customers predicted in batches,
    # keeping five numbers and the id per customer (a frame of the features, a sorted copy and a pandas merge on
    # the ids were gigabytes outside DuckDB's memory_limit at 37M customers).
    with target.staged("churn_features", as_of=cutoff) as staged:
        inputs = FitInputs.staged(staged, cutoff)
        models = fit_summarised(inputs, estimate_seasonality(target, inputs))
        info = models.info
        calendar_models = fit_summarised(inputs) if info.season_index is not None else None
        del inputs
        outcome_ids = pa.array(outcomes["customer_id"])
        outcome_orders = outcomes["actual_orders"].to_numpy(dtype=float)
        ids, columns = [], {name: [] for name in ("churn_risk", "expected", "calendar", "actual", "days_since")}
        for batch in staged.batches((*MODEL_INPUTS, "customer_id"), SCORE_BATCH_CUSTOMERS):
            predictions = apply_models(batch, models, horizon_days, risk_only=True)
            columns["churn_risk"].append(predictions["churn_risk"].to_numpy(dtype=float))
            columns["expected"].append(predictions["expected_orders"].to_numpy(dtype=float))
            if calendar_models is not None:
                calendar = apply_models(batch, calendar_models, horizon_days, risk_only=True)
                columns["calendar"].append(calendar["expected_orders"].to_numpy(dtype=float))
            columns["days_since"].append(batch["days_since_last_order"].to_numpy(dtype=float))
            ids.append(pa.array(batch["customer_id"]))
    # Arrow matches the ids to the outcomes, once (no Python string per customer).
    ids = pa.chunked_array(ids)
    position = pc.index_in(ids, value_set=outcome_ids.cast(ids.type)).to_numpy(zero_copy_only=False)
    found = ~np.isnan(position)
    actual = np.zeros(len(position))
    actual[found] = outcome_orders[position[found].astype(np.int64)]
    columns["actual"].append(actual)
    del position, found
    # In customer order: the calibration's deciles break ties of predicted orders (customers with the same
    # history) by position, sums depend on the order of their terms, and the query's rows come in whatever order
    # DuckDB's threads finish.
    order = pc.sort_indices(ids).to_numpy()
    del ids
    churn_risk, expected, calendar_expected, actual_orders, days_since = (
        np.concatenate(columns[name])[order] if columns[name] else None
        for name in ("churn_risk", "expected", "calendar", "actual", "days_since"))
    del columns
    calendar_orders = float(calendar_expected.sum()) if calendar_expected is not None else math.nan
    silent = actual_orders == 0
    has_expected = len(expected) > 0 and not np.isnan(expected).any()
    n = len(order)
    return Backtest(
        cutoff=cutoff,
        horizon_days=horizon_days,
        horizon_end=horizon_end,
        n_customers=n,
        silent_share=float(silent.mean()) if n else math.nan,
        auc=clv.roc_auc(churn_risk, silent) if n else math.nan,
        baseline_auc=clv.roc_auc(days_since, silent) if n else math.nan,
        predicted_orders=float(expected.sum()) if has_expected else math.nan,
        actual_orders=int(actual_orders.sum()),
        calibration=(clv.calibration_by_decile(expected, actual_orders) if has_expected
                     else pd.DataFrame(columns=["decile", "customers", "predicted_mean", "actual_mean"])),
        method=info.method,
        message=info.message,
        predicted_orders_calendar=calendar_orders if info.season_index is not None else (
            float(expected.sum()) if has_expected else math.nan),
        season_used=info.season_index is not None,
    )


CALIBRATION_TYPES = {"decile": "int64", "customers": "int64", "predicted_mean": "float64", "actual_mean": "float64"}


def build_stored_backtest(target) -> None:
    """Build the graph node ``churn_backtest`` at the target's as-of date: the churn page's backtest (cutoff
    ``RISK_HORIZON_DAYS`` before it) in the tables ``churn_backtest`` and ``churn_backtest_calibration``, so the
    page and a restart from the snapshot read it. The cutoff's model, built only for this, is dropped again.
    Raises ``graph.Unavailable`` when there is no backtest to make (the page then says why).
    """
    horizon_days = RISK_HORIZON_DAYS
    with target.at(target.as_of - timedelta(days=horizon_days)) as at_cutoff:
        try:
            result = _compute_backtest(at_cutoff, horizon_days)
        except ValueError as error:  # too little history after the cutoff
            raise graph.Unavailable(str(error)) from error
    key = {"cutoff": result.cutoff, "horizon_days": result.horizon_days}
    with target.registered("computed_backtest_calibration", result.calibration.astype(CALIBRATION_TYPES)):
        target.execute_file(
            "churn_backtest_store", **key, horizon_end=result.horizon_end,
            n_customers=result.n_customers, silent_share=_stored_float(result.silent_share),
            auc=_stored_float(result.auc), baseline_auc=_stored_float(result.baseline_auc),
            predicted_orders=_stored_float(result.predicted_orders), actual_orders=result.actual_orders,
            method=result.method, message=result.message,
            predicted_orders_calendar=_stored_float(result.predicted_orders_calendar), season_used=result.season_used,
        )
        target.execute_file("churn_backtest_store_calibration", **key)


def _stored_float(value: float) -> float | None:
    """NaN is stored as null (DuckDB's NaN would survive too, but null says "not computed" in SQL)."""
    return None if value is None or math.isnan(value) else float(value)


def stored_backtest(database, cutoff: date, horizon_days: int = RISK_HORIZON_DAYS) -> Backtest | None:
    """The backtest stored for this cutoff and horizon (node ``churn_backtest``), or None. Never builds anything."""
    as_of = cutoff + timedelta(days=horizon_days)
    if not database.has_model(as_of):
        return None
    cursor = database.cursor(as_of, model=False)
    try:
        if not graph.is_built(cursor, "churn_backtest"):
            return None
        return _read_stored_backtest(cursor, cutoff, horizon_days)
    finally:
        cursor.close()


def _read_stored_backtest(cursor, cutoff: date, horizon_days: int) -> Backtest | None:
    """The stored backtest of the cursor's as-of date (built by the graph if missing), or None for another cutoff."""
    rows = queries.run_query(cursor, "churn_backtest_stored", cutoff=cutoff, horizon_days=horizon_days)
    calibration = queries.run_query(cursor, "churn_backtest_stored_calibration", cutoff=cutoff,
                                    horizon_days=horizon_days)
    if rows.empty:
        return None
    row = rows.iloc[0]
    return Backtest(
        cutoff=pd.Timestamp(row["cutoff"]).date(), horizon_days=int(row["horizon_days"]),
        horizon_end=pd.Timestamp(row["horizon_end"]).date(), n_customers=int(row["n_customers"]),
        silent_share=_read_float(row["silent_share"]), auc=_read_float(row["auc"]),
        baseline_auc=_read_float(row["baseline_auc"]), predicted_orders=_read_float(row["predicted_orders"]),
        actual_orders=int(row["actual_orders"]), method=row["method"],
        message=None if pd.isna(row["message"]) else row["message"],
        calibration=calibration.astype(CALIBRATION_TYPES).reset_index(drop=True),
        predicted_orders_calendar=_read_float(row["predicted_orders_calendar"]),
        season_used=bool(row["season_used"]),
    )


def _read_float(value) -> float:
    return math.nan if pd.isna(value) else float(value)


def backtest_table(result: Backtest) -> str:
    """The backtest as plain text for the terminal."""
    lines = [
        f"Backtest: model fitted on {result.n_customers:,} customers as of {result.cutoff} ({result.method}), "
        f"outcomes {result.cutoff + timedelta(days=1)} .. {result.horizon_end} ({result.horizon_days} days)",
        f"Customers with no order in the horizon: {_percent(result.silent_share)}",
        "",
        f"{'score':<40}{'AUC (no order in horizon)':>28}",
        f"{'churn_risk (' + result.method + ')':<40}{_number(result.auc, 3):>28}",
        f"{'recency baseline (days since last order)':<40}{_number(result.baseline_auc, 3):>28}",
        "",
        f"Orders (purchase days) in the horizon: predicted {_number(result.predicted_orders, 0)}, "
        f"actual {result.actual_orders:,} ({_signed_percent(result.prediction_error)})",
        ("Seasonality: on the seasonal clock; on calendar days the model would have predicted "
         f"{_number(result.predicted_orders_calendar, 0)}" if result.season_used
         else "Seasonality: not used (too little history, or none found)"),
    ]
    if len(result.calibration):
        lines += ["", "Calibration by decile of predicted orders (1 = fewest):",
                  f"{'decile':>6}{'customers':>11}{'predicted per customer':>24}{'actual per customer':>21}"]
        for row in result.calibration.itertuples(index=False):
            lines.append(f"{row.decile:>6}{row.customers:>11,}{row.predicted_mean:>24.3f}{row.actual_mean:>21.3f}")
    if result.message:
        lines += ["", f"Warning: {result.message}"]
    return "\n".join(lines)


def _number(value, digits: int) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def _signed_percent(value) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:+.1f}%"


def _percent(value) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


# Win-back segments

YES_NO = ("yes", "no")


@dataclass(frozen=True)
class WinbackRules:
    """The segment builder's rules; ``None`` (or an empty tuple for lists) means "any".

    Each rule is kept in the page's URL under ``QUERY_KEYS[field]`` (``?state=slipping&rfm=Loyal``), and
    ``from_query`` reads such a query back (``python -m dashboard winback --rules`` uses it).
    Example: ``WinbackRules(states=("slipping",), segments=("Loyal",)).slug() == "slipping-loyal"``.
    """

    states: tuple[str, ...] | None = None
    risk_bands: tuple[str, ...] | None = None
    segments: tuple[str, ...] | None = None
    recency_scores: tuple[int, ...] | None = None
    fm_scores: tuple[int, ...] | None = None
    min_days_since_last_order: int | None = None
    max_days_since_last_order: int | None = None
    min_revenue: float | None = None
    max_revenue: float | None = None
    nps_categories: tuple[str, ...] | None = None
    has_open_complaint: bool | None = None
    has_complained: bool | None = None
    complaint_categories: tuple[str, ...] | None = None
    has_returned: bool | None = None
    is_marketing_opt_in: bool | None = None
    moved_days: int | None = None
    previous_states: tuple[str, ...] | None = None
    previous_segments: tuple[str, ...] | None = None

    QUERY_KEYS = {
        "states": "state", "risk_bands": "risk", "segments": "rfm", "recency_scores": "r", "fm_scores": "fm",
        "min_days_since_last_order": "days_min", "max_days_since_last_order": "days_max",
        "min_revenue": "value_min", "max_revenue": "value_max", "nps_categories": "nps",
        "has_open_complaint": "complaint", "has_complained": "complained",
        "complaint_categories": "complaint_category", "has_returned": "returned", "is_marketing_opt_in": "opt_in",
        "moved_days": "since", "previous_states": "from_state", "previous_segments": "from_rfm",
    }

    def params(self) -> dict:
        """Bound parameters for queries/winback_*.sql (lists for list rules, None for "any")."""
        def listed(values):
            return list(values) if values else None

        return {
            "lifecycle_states": listed(self.states),
            "risk_bands": listed(self.risk_bands),
            "rfm_segments": listed(self.segments),
            "recency_scores": listed(self.recency_scores),
            "fm_scores": listed(self.fm_scores),
            "min_days_since_last_order": self.min_days_since_last_order,
            "max_days_since_last_order": self.max_days_since_last_order,
            "min_revenue": self.min_revenue,
            "max_revenue": self.max_revenue,
            "nps_categories": listed(self.nps_categories),
            "has_open_complaint": self.has_open_complaint,
            "has_complained": self.has_complained,
            "complaint_categories": listed(self.complaint_categories),
            "has_returned": self.has_returned,
            "is_marketing_opt_in": self.is_marketing_opt_in,
            "moved_days": self.moved_days,
            "previous_states": listed(self.previous_states),
            "previous_segments": listed(self.previous_segments),
        }

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> "WinbackRules":
        """Rules from a parsed URL query (``urllib.parse.parse_qs``); unknown keys are ignored, a bad value
        raises ValueError naming the key. Example: ``from_query(parse_qs("state=slipping&days_min=30"))``."""
        values = {}
        for field, key in cls.QUERY_KEYS.items():
            given = [value for value in query.get(key, []) if value != ""]
            if not given:
                continue
            try:
                if field in ("states", "risk_bands", "segments", "nps_categories", "complaint_categories",
                             "previous_states", "previous_segments"):
                    values[field] = tuple(_option_value(field, value) for value in given)
                elif field == "moved_days":  # the page's URL has the label, a hand-made link may have days
                    days = MOVEMENT_LABELS.get(given[-1].strip().lower()) or int(float(given[-1]))
                    if days not in MOVEMENT_DAYS:
                        raise ValueError(f"since is {' or '.join(map(str, MOVEMENT_DAYS))} days")
                    values[field] = days
                elif field in ("recency_scores", "fm_scores"):
                    scores = tuple(int(value) for value in given)
                    if any(not 1 <= score <= 5 for score in scores):
                        raise ValueError("RFM scores run from 1 to 5")
                    values[field] = scores
                elif field.startswith(("min_days", "max_days")):
                    values[field] = int(float(given[-1]))
                elif field.startswith(("min_revenue", "max_revenue")):
                    values[field] = float(given[-1])
                else:
                    if given[-1].lower() not in YES_NO:
                        raise ValueError("expected yes or no")
                    values[field] = given[-1].lower() == "yes"
            except ValueError as error:
                raise ValueError(f"rule {key}={'&'.join(given)}: {error}") from None
        return cls(**values)

    def query_pairs(self) -> list[tuple[str, str]]:
        """The rules as URL query pairs, in field order (the inverse of ``from_query``)."""
        pairs = []
        for field, key in self.QUERY_KEYS.items():
            value = getattr(self, field)
            if value is None or value == ():
                continue
            if isinstance(value, tuple):
                pairs += [(key, str(item)) for item in value]
            elif isinstance(value, bool):
                pairs.append((key, "yes" if value else "no"))
            else:
                pairs.append((key, _number_text(value)))
        return pairs

    def slug(self) -> str:
        """A file-name-safe summary of the rules, ``all`` when there are none."""
        parts = []
        parts.extend(self.states or ())
        if self.risk_bands:
            parts.append("-".join(self.risk_bands) + "-risk")
        parts.extend(self.segments or ())
        if self.recency_scores:
            parts.append("r" + "".join(str(score) for score in self.recency_scores))
        if self.fm_scores:
            parts.append("fm" + "".join(str(score) for score in self.fm_scores))
        if self.min_days_since_last_order is not None or self.max_days_since_last_order is not None:
            low = self.min_days_since_last_order if self.min_days_since_last_order is not None else 0
            high = self.max_days_since_last_order if self.max_days_since_last_order is not None else "plus"
            parts.append(f"{low}-{high}-days")
        if self.min_revenue is not None or self.max_revenue is not None:
            low = _money_slug(self.min_revenue) if self.min_revenue is not None else "0"
            high = _money_slug(self.max_revenue) if self.max_revenue is not None else "plus"
            parts.append(f"value-{low}-{high}")
        if self.nps_categories:
            parts.append("nps-" + "-".join(self.nps_categories))
        if self.has_open_complaint is not None:
            parts.append("open-complaint" if self.has_open_complaint else "no-open-complaint")
        if self.has_complained is not None:
            parts.append("complained" if self.has_complained else "never-complained")
        if self.complaint_categories:
            parts.append("complaint-" + "-".join(self.complaint_categories))
        if self.has_returned is not None:
            parts.append("returned" if self.has_returned else "never-returned")
        if self.is_marketing_opt_in is not None:
            parts.append("opted-in" if self.is_marketing_opt_in else "not-opted-in")
        if self.previous_states or self.previous_segments:
            parts.append(f"was-{'-'.join((self.previous_states or ()) + (self.previous_segments or ()))}"
                         f"-{self.moved_days or 7}-days-ago")
        text = "-".join(parts).lower().replace("'", "")
        return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "all"

    def file_name(self, as_of: date) -> str:
        """``winback-<slug>-<as-of>.csv``, e.g. ``winback-slipping-loyal-2026-11-15.csv``."""
        return f"winback-{self.slug()}-{as_of.isoformat()}.csv"


RULE_OPTION_FIELDS = {"states": "lifecycle_state", "risk_bands": "risk_band", "segments": "rfm_segment",
                      "nps_categories": "latest_nps_category", "complaint_categories": "category",
                      "previous_states": "previous_lifecycle_state", "previous_segments": "previous_rfm_segment"}


def rule_option_label(field: str, value: str) -> str:
    """How the builder shows a rule's option (and so how the page's URL spells it): ``Slipping``, ``High``."""
    return formatting.label(value, RULE_OPTION_FIELDS[field])


def _option_value(field: str, text: str) -> str:
    """A rule option from the URL: the stored value or the label the page shows (``one_time`` or
    ``One-time buyer``); complaint categories are free (the data's own)."""
    allowed = {"states": lifecycle.STATES, "risk_bands": RISK_BANDS, "segments": RFM_SEGMENTS,
               "nps_categories": NPS_CATEGORIES, "previous_states": lifecycle.STATES + ("none",),
               "previous_segments": RFM_SEGMENTS + ("none",)}.get(field)
    if allowed is None:
        known = {formatting.label(text, "category").lower(): text}
        return known.get(text.lower(), text)
    for value in allowed:
        if text == value or text.lower() == rule_option_label(field, value).lower():
            return value
    raise ValueError(f"{text!r} is not one of {', '.join(rule_option_label(field, v) for v in allowed)}")


def option_value(field: str, text: str) -> str:
    """The stored value of a rule option from its label or value (a clicked chart's customdata, a URL)."""
    return _option_value(field, text)


def _number_text(value) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _money_slug(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".replace(".", "_")


WINBACK_ANY = WinbackRules().params()
