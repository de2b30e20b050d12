"""The contract metrics (docs/metrics.md): the numbers the app, the report and the CLI share.

``contract_metrics(cursor)`` returns the public JSON contract of the metrics report; every value
comes from a SQL file in ``queries/`` run on the model built for the cursor's as-of date.
"""

from __future__ import annotations

import math

import pandas as pd

from dashboard.filters import Filters
from dashboard.queries import run_query

CONTRACT_KEYS = (
    "as_of",
    "customers",
    "orders",
    "revenue",
    "aov",
    "repeat_rate",
    "second_order_rate_90d",
    "median_days_between_orders",
    "cohort_retention",
    "nps_90d",
    "csat_90d",
    "nps_responses_90d",
    "csat_responses_90d",
    "refunds",
    "net_revenue",
    "net_aov",
)


def clean_number(value, digits: int | None = None):
    """A JSON-safe number: None for missing/NaN, ints as ints, floats optionally rounded."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    return round(float(value), digits) if digits is not None else float(value)


def first_row(frame: pd.DataFrame) -> dict:
    """The first row as a dict that keeps each column's type (``.iloc[0]`` would upcast ints to floats)."""
    return frame.to_dict("records")[0]


def model_as_of(cursor) -> str:
    """The as-of date of the model the cursor reads, as ``YYYY-MM-DD``."""
    return cursor.execute("select as_of from model_info").fetchone()[0].isoformat()


def cohort_retention_contract(cursor, filters: Filters, small_cohort_size: int = 0) -> list[dict]:
    """Monthly cohorts as ``[{"cohort": "YYYY-MM", "size": n, "retention": [1.0, ...]}]``, ascending."""
    frame = run_query(
        cursor, "cohort_retention", **{**filters.params(), "grain": "month"}, small_cohort_size=small_cohort_size
    )
    cohorts = []
    for cohort_start, rows in frame.groupby("cohort_start", sort=True):
        rows = rows.sort_values("period_number")
        cohorts.append(
            {
                "cohort": pd.Timestamp(cohort_start).strftime("%Y-%m"),
                "size": int(rows["cohort_size"].iloc[0]),
                "retention": [clean_number(value) for value in rows["retention_rate"]],
            }
        )
    return cohorts


def contract_metrics(cursor, filters: Filters | None = None) -> dict:
    """The metrics report's public keys for the cursor's as-of date and a segment."""
    filters = filters or Filters()
    params = filters.params()
    kpis = first_row(run_query(cursor, "kpis", **params))
    second = first_row(run_query(cursor, "second_order_rate_90d", **params))
    gaps = first_row(run_query(cursor, "median_days_between_orders", **params))
    satisfaction = first_row(run_query(cursor, "satisfaction_90d", **params))
    net = first_row(run_query(cursor, "net_revenue", **params))
    return {
        "as_of": model_as_of(cursor),
        "customers": clean_number(kpis["customers"]),
        "orders": clean_number(kpis["orders"]),
        "revenue": clean_number(kpis["revenue"], 2),
        "aov": clean_number(kpis["aov"]),
        "repeat_rate": clean_number(kpis["repeat_rate"]),
        "second_order_rate_90d": clean_number(second["second_order_rate_90d"]),
        "median_days_between_orders": clean_number(gaps["median_days_between_orders"]),
        "cohort_retention": cohort_retention_contract(cursor, filters),
        "nps_90d": clean_number(satisfaction["nps_90d"]),
        "csat_90d": clean_number(satisfaction["csat_90d"]),
        "nps_responses_90d": clean_number(satisfaction["nps_responses_90d"]),
        "csat_responses_90d": clean_number(satisfaction["csat_responses_90d"]),
        "refunds": clean_number(net["refunds"], 2),
        "net_revenue": clean_number(net["net_revenue"], 2),
        "net_aov": clean_number(net["net_aov"]),
    }


# The weekly review's KPI cards: (column of weekly_kpis.sql, label, kind, definition shown on hover).
WEEKLY_KPIS = (
    ("active_customers", "Active customers", "count", "Distinct customers with a valid order in the 7 days."),
    ("new_customers", "New customers", "count", "Customers whose first valid order fell in the 7 days."),
    ("orders", "Orders", "count", "Valid (not cancelled) orders placed in the 7 days."),
    ("revenue", "Revenue", "money", "Net order value of the week's valid orders."),
    ("aov", "Average order value", "money2", "Revenue / orders in the 7 days."),
    ("repeat_rate", "Repeat rate", "rate", "Share of all customers so far with 2+ valid orders, at week end."),
    ("second_order_rate_90d", "2nd order within 90 days", "rate",
     "Of customers whose first order is 90+ days old at week end, the share who ordered again within 90 days."),
    ("nps_90d", "NPS (90 days)", "score", "100 x (share 9-10 - share 0-6) of NPS responses in the 90 days to week end."),
    ("csat_90d", "CSAT (90 days)", "rate", "Share of CSAT responses scoring 4-5 in the 90 days to week end."),
)
