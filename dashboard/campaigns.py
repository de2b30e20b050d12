"""Did a win-back campaign work? Order rates of its treatment group against its holdout, with a 95% interval.

Campaigns come from two places: the optional ``campaigns`` export (campaign_id, customer_id, group, sent_at;
optional channel, offer) for campaigns run elsewhere, and the campaigns this app recorded in its state folder when
a list was exported with a holdout (``dashboard/winback.py``). ``campaign_outcomes(cursor)`` runs
``queries/campaign_outcomes.sql`` over both; ``lift_table`` turns its rows into one row per campaign and window:
the share of treatment and holdout customers who ordered within 30/60/90 days after ``sent_at``, revenue per
customer, the lift (treatment rate - holdout rate) with Newcombe's 95% interval, and a verdict in words.
No Streamlit import: the Campaigns page, the JSON report and the tests share it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from dashboard import winback
from dashboard.queries import run_query

WINDOWS = (30, 60, 90)
REPORT_WINDOW = 90
Z_95 = 1.959963984540054
MIN_HOLDOUT = 30
# The holdout is "too small to tell" when the smallest lift it could detect (80% power, 5% two-sided) is above
# this: 10 percentage points, more than a typical win-back campaign moves.
MAX_DETECTABLE_LIFT = 0.10
Z_80_POWER = 0.8416212335729143
RECORDED_COLUMNS = ("campaign_id", "customer_id", "campaign_group", "sent_at", "channel", "offer")


def recorded_frame(state_dir: Path) -> pd.DataFrame:
    """The app's recorded campaigns in the columns ``queries/campaign_outcomes.sql`` reads as recorded_campaigns."""
    frame = winback.recorded_campaigns(state_dir).rename(columns={"group": "campaign_group"})
    frame = frame.loc[:, list(RECORDED_COLUMNS)]
    return frame.astype({"campaign_id": "object", "customer_id": "object", "campaign_group": "object",
                         "channel": "object", "offer": "object"})


def recorded_for(target) -> pd.DataFrame:
    """The frame ``recorded_campaigns`` (graph.CALLER_FRAMES) for a target: from its database's state folder (a
    Spark target's own ``state_dir``: dashboard/engines/spark.py)."""
    state_dir = getattr(target, "state_dir", None)
    return recorded_frame(state_dir if state_dir is not None else target.database.settings.state_dir)


def campaign_outcomes(cursor) -> pd.DataFrame:
    """Rows of ``queries/campaign_outcomes.sql`` (campaign x group x window) for the cursor's as-of date; the
    app's recorded campaigns are read from the state folder of the cursor's database each time."""
    return run_query(cursor, "campaign_outcomes")


def wilson_interval(successes: float, trials: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval of a proportion; (nan, nan) without trials."""
    if trials <= 0:
        return math.nan, math.nan
    share = successes / trials
    centre = share + z * z / (2 * trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    denominator = 1 + z * z / trials
    return (centre - spread) / denominator, (centre + spread) / denominator


def newcombe_interval(x1: float, n1: float, x2: float, n2: float, z: float = Z_95) -> tuple[float, float]:
    """95% interval of p1 - p2 by Newcombe's hybrid score method (1998, method 10): from the two Wilson intervals.

    Unlike the plain normal interval it stays inside [-1, 1] and keeps its coverage for small groups and rates
    near 0 or 1. Example: ``newcombe_interval(56, 70, 48, 80)`` -> (0.0524, 0.3339) (Newcombe's table II).
    """
    if n1 <= 0 or n2 <= 0:
        return math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    low1, high1 = wilson_interval(x1, n1, z)
    low2, high2 = wilson_interval(x2, n2, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = difference + math.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return low, high


def detectable_lift(pooled_rate: float, treatment: int, holdout: int) -> float:
    """The smallest lift the groups can detect with 80% power at 5% (two-sided), normal approximation."""
    if treatment <= 0 or holdout <= 0 or not 0 < pooled_rate < 1:
        return math.inf
    return (Z_95 + Z_80_POWER) * math.sqrt(pooled_rate * (1 - pooled_rate) * (1 / treatment + 1 / holdout))


def lift_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per campaign x window from ``campaign_outcomes`` rows (columns listed in docs/churn.md).

    A window that has not ended for every member (``is_complete`` false) gets no rates: "not over yet".
    """
    rows = []
    for (campaign_id, window), group in outcomes.groupby(["campaign_id", "window_days"], sort=False):
        by_group = group.set_index("campaign_group")
        treatment = by_group.loc["treatment"] if "treatment" in by_group.index else None
        holdout = by_group.loc["holdout"] if "holdout" in by_group.index else None
        n_t = int(treatment["customers"]) if treatment is not None else 0
        n_h = int(holdout["customers"]) if holdout is not None else 0
        x_t = int(treatment["customers_ordered"]) if treatment is not None else 0
        x_h = int(holdout["customers_ordered"]) if holdout is not None else 0
        complete = bool(group["is_complete"].all())
        rate_t = x_t / n_t if n_t and complete else math.nan
        rate_h = x_h / n_h if n_h and complete else math.nan
        low, high = newcombe_interval(x_t, n_t, x_h, n_h) if complete else (math.nan, math.nan)
        pooled = (x_t + x_h) / (n_t + n_h) if n_t + n_h else math.nan
        detectable = detectable_lift(pooled, n_t, n_h)
        too_small = n_h < MIN_HOLDOUT or detectable > MAX_DETECTABLE_LIFT
        lift = rate_t - rate_h
        revenue_t = float(treatment["revenue"]) if treatment is not None else 0.0
        revenue_h = float(holdout["revenue"]) if holdout is not None else 0.0
        discount_t = float(treatment["discount_given"]) if treatment is not None else 0.0
        discount_h = float(holdout["discount_given"]) if holdout is not None else 0.0
        rows.append({
            "campaign_id": campaign_id,
            "sent_at": group["first_sent_at"].min(),
            "last_sent_at": group["last_sent_at"].max(),
            "window_end_at": group["window_end_at"].max(),
            "channel": group["channel"].dropna().iloc[0] if group["channel"].notna().any() else None,
            "offer": group["offer"].dropna().iloc[0] if group["offer"].notna().any() else None,
            "window_days": int(window),
            "is_complete": complete,
            "treatment_customers": n_t,
            "holdout_customers": n_h,
            "treatment_ordered": x_t,
            "holdout_ordered": x_h,
            "treatment_rate": rate_t,
            "holdout_rate": rate_h,
            "lift": lift,
            "lift_ci_low": low,
            "lift_ci_high": high,
            "detectable_lift": detectable,
            "is_too_small": too_small,
            "treatment_revenue_per_customer": revenue_t / n_t if n_t and complete else math.nan,
            "holdout_revenue_per_customer": revenue_h / n_h if n_h and complete else math.nan,
            "treatment_discount_given": discount_t if complete else math.nan,
            "treatment_discount_per_customer": discount_t / n_t if n_t and complete else math.nan,
            "holdout_discount_per_customer": discount_h / n_h if n_h and complete else math.nan,
            "verdict": verdict(complete, n_h, too_small, lift, low, high, detectable,
                               group["window_end_at"].max()),
        })
    columns = ["campaign_id", "sent_at", "last_sent_at", "window_end_at", "channel", "offer", "window_days",
               "is_complete", "treatment_customers", "holdout_customers", "treatment_ordered", "holdout_ordered",
               "treatment_rate", "holdout_rate", "lift", "lift_ci_low", "lift_ci_high", "detectable_lift",
               "is_too_small", "treatment_revenue_per_customer", "holdout_revenue_per_customer",
               "treatment_discount_given", "treatment_discount_per_customer", "holdout_discount_per_customer",
               "verdict"]
    return pd.DataFrame(rows, columns=columns)


def verdict(complete: bool, holdout: int, too_small: bool, lift: float, low: float, high: float,
            detectable: float, window_end) -> str:
    """What the numbers say, in one sentence."""
    if holdout == 0:
        return "No holdout was kept, so the effect cannot be measured."
    if not complete:
        return f"Not over yet: the window ends on {pd.Timestamp(window_end):%d %b %Y}."
    points = f"{100 * lift:+.1f} points (95% interval {100 * low:+.1f} to {100 * high:+.1f})"
    if holdout < MIN_HOLDOUT:
        return f"Holdout too small to tell: only {holdout:,} customers were kept back; measured {points}."
    if low > 0:
        return f"Worked: {points}." + (" The holdout is small, so the size of the lift is uncertain."
                                       if too_small else "")
    if high < 0:
        return f"Backfired: {points}."
    if too_small:
        return (f"Holdout too small to tell: {holdout:,} customers can only show a lift above "
                f"{100 * min(detectable, 1):.0f} points; measured {points}.")
    return f"No measurable effect: {points}; the interval includes zero."


def report_entries(table: pd.DataFrame, window_days: int = REPORT_WINDOW) -> list[dict]:
    """The JSON report's ``campaigns`` list: one entry per campaign for the window, rates and lift as fractions
    (null when the window is not over)."""
    def number(value, digits=6):
        return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else round(
            float(value), digits)

    rows = table[table["window_days"] == window_days].sort_values(["sent_at", "campaign_id"])
    return [{
        "campaign_id": str(row.campaign_id),
        "sent_at": pd.Timestamp(row.sent_at).isoformat() + "Z",  # UTC
        "treatment_customers": int(row.treatment_customers),
        "holdout_customers": int(row.holdout_customers),
        "window_days": int(row.window_days),
        "treatment_rate": number(row.treatment_rate),
        "holdout_rate": number(row.holdout_rate),
        "lift": number(row.lift),
        "lift_ci_low": number(row.lift_ci_low),
        "lift_ci_high": number(row.lift_ci_high),
    } for row in rows.itertuples(index=False)]


def campaign_report(cursor) -> list[dict]:
    """``report_entries`` of every campaign at the cursor's as-of date."""
    return report_entries(lift_table(campaign_outcomes(cursor)))
