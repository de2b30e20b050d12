"""Seasonality of repeat purchases, and the "operational clock" the churn model runs on.

The MBG/NBD assumes every active customer buys at a constant rate. A business with a peak season (the demo
sells 1.6-1.8x more in November and December) breaks that: fitted on months that are mostly off-season and
asked about a horizon that holds the peak, the model under-predicts (the demo's backtest from 3 Sep: 11,308
purchase days predicted, 14,414 placed), and over-predicts the quiet months after it. The remedy is the
classic one: measure time in *expected activity* instead of calendar days. Each half-month of the year
(1st-15th, 16th-end) gets an index, 1 on average over a year; a calendar day counts as ``index`` model days.
The model is then fitted and asked in those units, so a 90-day horizon that holds late November is a longer
stretch of model time than one in February. A full year is always 365 model days, so yearly figures keep
their meaning.

The index is estimated from the exports, with no outcome after the as-of date: repeat purchase days are
counted per (customer age in 30-day buckets) x (calendar half-month), and a Poisson model
``purchases = exposure x age_effect[age] x season[half-month of year]`` is fitted by iterative proportional
fitting (its maximum-likelihood fit). The age effect absorbs dropout (older customers buy less) and the
changing mix of old and new customers, so growth does not pass for seasonality. It is used only when the data
can tell: every half-month of the year seen in at least two different years, and a likelihood-ratio test
against "no seasonality" with p < 0.001. Otherwise the clock is the calendar (``OperationalClock.flat``).

Pure numpy/pandas: no DuckDB, no Streamlit. ``queries/churn_season_repeat_days.sql`` gives the counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = 24  # half-months: 1st-15th and 16th-end of each month
AGE_BUCKET_DAYS = 30
MAX_AGE_BUCKET = 36  # ages of 36 x 30 days and more share the last bucket
MIN_YEARS_PER_PERIOD = 2
MAX_P_VALUE = 1e-3
MAX_HISTORY_DAYS = 5 * 365  # only the last five years of purchases are used
_ITERATIONS = 500
_TOLERANCE = 1e-10
_EPOCH = date(1970, 1, 1)


def half_month(days: np.ndarray) -> np.ndarray:
    """Half-month of the year, 0..23, of day numbers (days since 1970-01-01): 2 x (month - 1) + (day > 15)."""
    stamps = pd.to_datetime(np.asarray(days, dtype="int64"), unit="D")
    return (2 * (stamps.month.to_numpy() - 1) + (stamps.day.to_numpy() > 15)).astype(np.int64)


def period_key(days: np.ndarray) -> np.ndarray:
    """A running half-month number, year x 24 + half_month (what queries/churn_season_repeat_days.sql gives)."""
    stamps = pd.to_datetime(np.asarray(days, dtype="int64"), unit="D")
    return (stamps.year.to_numpy() * PERIODS_PER_YEAR + half_month(days)).astype(np.int64)


def day_number(value) -> int:
    """Days since 1970-01-01 of a date (or anything pandas reads as one)."""
    return int((pd.Timestamp(value).normalize() - pd.Timestamp(_EPOCH)).days)


def history_start(as_of: date) -> date:
    """The first day whose purchases the estimate uses (five years before the as-of date)."""
    return (pd.Timestamp(as_of) - pd.Timedelta(days=MAX_HISTORY_DAYS - 1)).date()


def _days_per_period() -> np.ndarray:
    """Days of each half-month in a 365-day year."""
    year = np.arange(day_number(date(2001, 1, 1)), day_number(date(2002, 1, 1)))
    return np.bincount(half_month(year), minlength=PERIODS_PER_YEAR).astype(float)


@dataclass(frozen=True)
class SeasonalIndex:
    """The estimated index per half-month of the year (24 values averaging 1 over a year's days), or None.

    ``index`` is None when seasonality is not used; ``message`` says why, or what was found.
    """

    index: tuple[float, ...] | None
    message: str
    likelihood_ratio: float = math.nan
    p_value: float = math.nan

    @property
    def is_used(self) -> bool:
        return self.index is not None

    def frame(self) -> pd.DataFrame:
        """One row per half-month (period 0..23, label like "1-15 Nov", index); empty when not used."""
        if self.index is None:
            return pd.DataFrame({"period": pd.Series(dtype="int64"), "label": pd.Series(dtype="object"),
                                 "season_index": pd.Series(dtype="float64")})
        months = pd.date_range("2001-01-01", periods=12, freq="MS").strftime("%b")
        labels = [f"{'1-15' if half == 0 else '16-end'} {months[month]}" for month in range(12) for half in (0, 1)]
        return pd.DataFrame({"period": np.arange(PERIODS_PER_YEAR), "label": labels,
                             "season_index": np.asarray(self.index, dtype=float)})


def estimate_seasonality(first_purchase_days: np.ndarray, repeat_days: pd.DataFrame, as_of: date,
                         customers: np.ndarray | None = None) -> SeasonalIndex:
    """The seasonal index from customers' first purchase days and their repeat purchase days.

    ``first_purchase_days``: one day number (``day_number``) per customer. ``repeat_days``: rows of
    queries/churn_season_repeat_days.sql (``age_bucket``, ``period_key``, ``purchase_days``): repeat purchase
    days by the customer's age bucket at the time (days since their first purchase day // 30, capped at 36)
    and the calendar half-month. Exposure is counted from the day after a customer's first purchase day to
    the as-of day, over the last five years. Example: the demo gives ~1.6 for November, ~0.75 for January.
    ``customers``: how many customers each entry of ``first_purchase_days`` stands for (default one each).
    """
    end = day_number(as_of)
    start = day_number(history_start(as_of))
    first = np.asarray(first_purchase_days, dtype=np.int64)
    weights = None if customers is None else np.asarray(customers, dtype=float)[first <= end]
    first = first[first <= end]
    if first.size == 0 or repeat_days is None or len(repeat_days) == 0:
        return SeasonalIndex(None, "no repeat purchases to measure seasonality on")
    origin = int(first.min())
    days = np.arange(max(origin + 1, start), end + 1)
    if days.size == 0:
        return SeasonalIndex(None, "every customer's first purchase is on the as-of day")
    customers_by_day = np.bincount(first - origin, weights=weights, minlength=end - origin + 1).astype(float)
    cumulative = np.concatenate([[0.0], np.cumsum(customers_by_day)])  # cumulative[i] = customers first on < i

    def first_on_between(low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Customers whose first purchase day (offset from origin) is in [low, high], clipped to the data."""
        low = np.clip(low, 0, customers_by_day.size)
        high = np.clip(high + 1, 0, customers_by_day.size)
        return cumulative[high] - cumulative[np.minimum(low, high)]

    keys = period_key(days)
    key_origin = int(keys.min())
    key_index = keys - key_origin
    n_periods = int(key_index.max()) + 1
    exposure = np.zeros((MAX_AGE_BUCKET + 1, n_periods))
    offset = days - origin
    for bucket in range(MAX_AGE_BUCKET + 1):
        youngest = max(1, bucket * AGE_BUCKET_DAYS)
        oldest = (bucket + 1) * AGE_BUCKET_DAYS - 1 if bucket < MAX_AGE_BUCKET else offset.max()
        customers = first_on_between(offset - oldest, offset - youngest)  # aged youngest..oldest on that day
        exposure[bucket] = np.bincount(key_index, weights=customers, minlength=n_periods)

    counts = np.zeros_like(exposure)
    rows = repeat_days[(repeat_days["period_key"] >= key_origin) & (repeat_days["period_key"] < key_origin + n_periods)]
    # the SQL counts purchases from history_start(as_of) on, the exposure above starts there too
    np.add.at(counts, (np.minimum(rows["age_bucket"].to_numpy(dtype=np.int64), MAX_AGE_BUCKET),
                       rows["period_key"].to_numpy(dtype=np.int64) - key_origin),
              rows["purchase_days"].to_numpy(dtype=float))
    period_of_year = (np.arange(n_periods) + key_origin) % PERIODS_PER_YEAR

    years_seen = np.bincount(period_of_year[exposure.sum(axis=0) > 0], minlength=PERIODS_PER_YEAR)
    if years_seen.min() < MIN_YEARS_PER_PERIOD:
        return SeasonalIndex(None, f"seasonality needs every half-month of the year in at least "
                                   f"{MIN_YEARS_PER_PERIOD} years of history; this data has "
                                   f"{int(years_seen.min())} for some")
    if counts.sum() == 0:
        return SeasonalIndex(None, "no repeat purchases to measure seasonality on")

    age_effect, season = _fit_age_by_season(counts, exposure, period_of_year)
    null_age = counts.sum(axis=1) / np.maximum(exposure.sum(axis=1), 1e-300)
    full_mean = exposure * age_effect[:, None] * season[period_of_year][None, :]
    null_mean = exposure * null_age[:, None]
    ratio = float(2 * (_poisson_log_likelihood(counts, full_mean) - _poisson_log_likelihood(counts, null_mean)))
    from scipy import stats  # here: importing scipy.stats takes about a second, which every command paid

    p_value = float(stats.chi2.sf(max(ratio, 0.0), PERIODS_PER_YEAR - 1))
    weights = _days_per_period()
    season = season / (season @ weights / weights.sum())
    if not np.all(np.isfinite(season)) or (season <= 0).any():
        return SeasonalIndex(None, "the seasonal index could not be estimated (a half-month has no repeat "
                                   "purchase at all)", ratio, p_value)
    if p_value >= MAX_P_VALUE:
        return SeasonalIndex(None, f"no clear seasonality in repeat purchases (likelihood-ratio test p = "
                                   f"{p_value:.2g})", ratio, p_value)
    return SeasonalIndex(tuple(float(value) for value in season),
                         f"seasonal index from {int(counts.sum()):,} repeat purchase days", ratio, p_value)


def _fit_age_by_season(counts: np.ndarray, exposure: np.ndarray, period_of_year: np.ndarray):
    """Maximum-likelihood age and season effects of the Poisson model by iterative proportional fitting."""
    season = np.ones(PERIODS_PER_YEAR)
    age_effect = np.ones(counts.shape[0])
    count_by_age = counts.sum(axis=1)
    count_by_season = np.bincount(period_of_year, weights=counts.sum(axis=0), minlength=PERIODS_PER_YEAR)
    for _ in range(_ITERATIONS):
        previous = season.copy()
        age_effect = count_by_age / np.maximum(exposure @ season[period_of_year], 1e-300)
        exposure_by_period = age_effect @ exposure
        season = count_by_season / np.maximum(
            np.bincount(period_of_year, weights=exposure_by_period, minlength=PERIODS_PER_YEAR), 1e-300)
        if np.max(np.abs(season - previous)) < _TOLERANCE * max(1.0, float(np.max(season))):
            break
    return age_effect, season


def _poisson_log_likelihood(counts: np.ndarray, mean: np.ndarray) -> float:
    positive = mean > 0
    return float(np.sum(counts[positive] * np.log(mean[positive]) - mean[positive]))


class OperationalClock:
    """Calendar days to model days: a day counts as its half-month's seasonal index (1 without seasonality).

    ``elapsed(start, end)`` is the model time from the end of day ``start`` to the end of day ``end`` (day
    numbers, or arrays of them): the sum of the indices of the days start+1 .. end. ``advance(start, model_days)``
    is the first day by whose end that much model time has passed since the end of ``start``.
    """

    def __init__(self, index: tuple[float, ...] | None, first_day: int, last_day: int):
        self.index = None if index is None else np.asarray(index, dtype=float)
        self.first_day = int(first_day)
        self.last_day = int(last_day)
        if self.index is not None:
            weights = self.index[half_month(np.arange(self.first_day, self.last_day + 1))]
            self._cumulative = np.concatenate([[0.0], np.cumsum(weights)])  # [i]: through day first_day + i - 1

    @classmethod
    def flat(cls) -> "OperationalClock":
        """The calendar: one model day per day."""
        return cls(None, 0, 0)

    @property
    def is_flat(self) -> bool:
        return self.index is None

    def _position(self, days) -> np.ndarray:
        days = np.asarray(days, dtype=np.int64)
        if (days < self.first_day - 1).any() or (days > self.last_day).any():
            raise ValueError("a day lies outside the operational clock's range")
        return days - (self.first_day - 1)

    def elapsed(self, start, end) -> np.ndarray:
        """Model days from the end of day ``start`` to the end of day ``end`` (end >= start)."""
        if self.index is None:
            return (np.asarray(end, dtype=np.int64) - np.asarray(start, dtype=np.int64)).astype(float)
        return self._cumulative[self._position(end)] - self._cumulative[self._position(start)]

    def advance(self, start, model_days) -> np.ndarray:
        """Day numbers: the first day ``d`` >= start with ``elapsed(start, d) >= model_days`` (capped at the
        clock's last day). Without seasonality: start + ceil(model_days)."""
        start = np.asarray(start, dtype=np.int64)
        model_days = np.asarray(model_days, dtype=float)
        if self.index is None:
            return start + np.ceil(model_days - 1e-9).astype(np.int64)
        target = self._cumulative[self._position(start)] + model_days - 1e-9
        position = np.searchsorted(self._cumulative, target, side="left")
        return np.minimum(position + self.first_day - 1, self.last_day)


def clock_for(season: SeasonalIndex, first_day: int, as_of: date, years_ahead: int = 10) -> OperationalClock:
    """The clock covering the first purchase day to ``years_ahead`` years after the as-of date."""
    if not season.is_used:
        return OperationalClock.flat()
    end = day_number(as_of)
    return OperationalClock(season.index, min(int(first_day), end), end + years_ahead * 366)


def day_to_date(days) -> np.ndarray:
    """Day numbers to numpy datetime64[D] dates."""
    return np.asarray(days, dtype="int64").astype("datetime64[D]")

