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
    "active_customers_7d",
    "new_customers_7d",
    "orders_7d",
    "revenue_7d",
    "aov_7d",
    "tickets_7d",
    "tickets_resolved_share_90d",
    "median_resolution_days_90d",
    "repurchase_after_resolved_90d",
    "repurchase_after_unresolved_90d",
    "return_rate_90d",
    "silent_unhappy_customers",
    "median_days_between_orders_90d",
    "survey_responses_per_order_7d",
    "not_exported",
)

# The weekly review's care KPIs, each a column of queries/weekly_care_kpis.sql and a key of the metrics report:
# (key, label, kind, the optional tables it needs, definition shown on hover). A KPI whose table was not exported
# is "not exported" (null in the report), never 0.
WEEKLY_CARE_KPIS = (
    ("tickets_7d", "Tickets opened", "count", ("tickets",),
     "Support tickets opened in the 7 days by customers of the segment."),
    ("tickets_resolved_share_90d", "Tickets resolved", "rate", ("tickets",),
     "Of the tickets opened in the 90 days to the week's end, the share resolved by then."),
    ("median_resolution_days_90d", "Median time to resolve", "days", ("tickets",),
     "Median time from opening to resolution of the tickets resolved in the 90 days to the week's end "
     "(whole hours)."),
    ("repurchase_after_resolved_90d", "Reorder: resolved ticket", "rate", ("tickets",),
     "Complaints opened 90-180 days before the week's end and resolved by then: the share whose customer placed "
     "an order within 90 days of the complaint."),
    ("repurchase_after_unresolved_90d", "Reorder: unresolved ticket", "rate", ("tickets",),
     "Complaints opened 90-180 days before the week's end and still open then: the share whose customer placed "
     "an order within 90 days of the complaint."),
    ("return_rate_90d", "Return rate", "rate", ("returns",),
     "Orders placed in the 90 days to the week's end with a return requested by then / those orders."),
    ("silent_unhappy_customers", "Silent unhappy", "count", ("surveys", "tickets"),
     "Customers whose latest NPS answer is a detractor (0-6) and who never opened a ticket, at the week's end."),
    ("median_days_between_orders_90d", "Median days between orders", "days", (),
     "Repeat orders placed in the 90 days to the week's end: median whole days since that customer's previous "
     "order."),
    ("survey_responses_per_order_7d", "Survey responses per order", "rate", ("surveys",),
     "Survey responses submitted in the 7 days / orders placed in them."),
)
CARE_TABLES = {key: tables for key, _, _, tables, _ in WEEKLY_CARE_KPIS}

# Report key -> the column of queries/weekly_kpis.sql holding it week by week: row k is the key's value in the
# report as of (as-of date - 7k days). The all-time totals (customers, orders, revenue, aov) and the median gap
# have no weekly history; the ``_7d`` keys are the 7 days ending on the as-of date (week 0 of the review).
WEEKLY_HISTORY = {
    "active_customers_7d": "active_customers",
    "new_customers_7d": "new_customers",
    "orders_7d": "orders",
    "revenue_7d": "revenue",
    "aov_7d": "aov",
    "repeat_rate": "repeat_rate",
    "second_order_rate_90d": "second_order_rate_90d",
    "nps_90d": "nps_90d",
    "csat_90d": "csat_90d",
    "nps_responses_90d": "nps_responses_90d",
    "csat_responses_90d": "csat_responses_90d",
    **{key: key for key, *_ in WEEKLY_CARE_KPIS},
}


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


def not_exported(exported: frozenset[str] | set[str] | None) -> list[str]:
    """The optional tables some care KPI needs that were not exported (sorted); [] when ``exported`` is None."""
    if exported is None:
        return []
    needed = {table for tables in CARE_TABLES.values() for table in tables}
    return sorted(needed - set(exported))


def weekly_care_history(cursor, filters: Filters | None = None, weeks: int = 5,
                        exported: frozenset[str] | set[str] | None = None) -> pd.DataFrame:
    """queries/weekly_care_kpis.sql indexed by week_number; a KPI whose table is not in ``exported`` (the optional
    tables the exports have; None: all) is emptied (NaN: "not exported"), never left at the 0 an empty table gives.
    """
    filters = filters or Filters()
    frame = run_query(cursor, "weekly_care_kpis", **filters.params(), weeks=weeks)
    return without_unexported(frame, exported).set_index("week_number").sort_index()


def without_unexported(frame: pd.DataFrame, exported: frozenset[str] | set[str] | None) -> pd.DataFrame:
    """weekly_care_kpis rows with the KPIs whose table was not exported emptied (NaN), never the 0 an empty
    table gives."""
    missing = set(not_exported(exported))
    frame = frame.copy()
    for key, tables in CARE_TABLES.items():
        if missing & set(tables):
            frame[key] = float("nan")
    return frame


def weekly_history(cursor, filters: Filters | None = None, weeks: int = 5,
                   exported: frozenset[str] | set[str] | None = None) -> pd.DataFrame:
    """The report keys that have a weekly history, one row per week_number 0 .. weeks - 1 (index), counted back
    from the as-of date: row k holds what the report said as of the as-of date minus 7k days.

    Example: ``weekly_history(cursor).loc[1, "nps_90d"]`` is last week's ``nps_90d``.
    """
    filters = filters or Filters()
    frame = run_query(cursor, "weekly_kpis", **filters.params(), weeks=weeks)
    history = frame.set_index("week_number").sort_index()
    care = weekly_care_history(cursor, filters, weeks, exported)
    history = history.join(care.loc[:, list(CARE_TABLES)])
    return history.rename(columns={column: key for key, column in WEEKLY_HISTORY.items()}).loc[
        :, ["week_start", "week_end", *WEEKLY_HISTORY]]


def contract_metrics(cursor, filters: Filters | None = None, exported: frozenset[str] | set[str] | None = None) -> dict:
    """The metrics report's public keys for the cursor's as-of date and a segment. ``exported``: the optional tables
    the exports have (``exported_tables(database)``); a care key whose table is missing is null and the table is
    listed under ``not_exported``. None takes every table as exported."""
    filters = filters or Filters()
    params = filters.params()
    kpis = first_row(run_query(cursor, "kpis", **params))
    second = first_row(run_query(cursor, "second_order_rate_90d", **params))
    gaps = first_row(run_query(cursor, "median_days_between_orders", **params))
    satisfaction = first_row(run_query(cursor, "satisfaction_90d", **params))
    net = first_row(run_query(cursor, "net_revenue", **params))
    this_week = first_row(weekly_history(cursor, filters, weeks=1, exported=exported))
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
        **{key: clean_number(this_week[key], 2 if key == "revenue_7d" else None)
           for key in ("active_customers_7d", "new_customers_7d", "orders_7d", "revenue_7d", "aov_7d")},
        **{key: clean_number(this_week[key]) for key in CARE_TABLES},
        "not_exported": not_exported(exported),
    }


def exported_tables(database) -> frozenset[str]:
    """The tables of the exports that could be read (the optional ones decide which care KPIs exist)."""
    return frozenset(name for name, source in database.catalog.tables.items() if source.is_usable)


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
