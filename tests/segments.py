"""Segment filters for the aggregate tests (tests/test_cubes_*.py), and their meaning computed in pandas; the page
queries and the parameter sets that tests comparing two databases (aggregates, snapshots) run.

A filter is a dict of the four segment parameters; a missing or None list means "any value", an empty list
matches nobody. ``in_segment`` is the independent pandas side the queries are compared with.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from dashboard import churn, graph

ALL = {"channels": None, "regions": None, "categories": None, "tiers": None}
FILTER_COLUMNS = {"channels": "acquisition_channel", "regions": "region", "categories": "first_category",
                  "tiers": "loyalty_tier"}
SEGMENT_FILTERS = [
    pytest.param({}, id="all"),
    pytest.param({"channels": ["email"]}, id="one-channel"),
    pytest.param({"channels": ["email", "referral"]}, id="two-channels"),
    pytest.param({"channels": ["referral"], "tiers": ["gold", "none"]}, id="channel-and-tiers"),
    pytest.param({"regions": ["Europe", "UK"], "categories": ["apparel", "home"]}, id="regions-and-categories"),
    pytest.param({"channels": []}, id="empty-list"),
    pytest.param({"channels": ["no such channel"]}, id="unknown-value"),
]


def in_segment(customers: pd.DataFrame, segment: dict) -> pd.DataFrame:
    """The rows of customers (with customer_summary's segment columns) that a segment filter keeps."""
    keep = pd.Series(True, index=customers.index)
    for parameter, values in segment.items():
        if values is not None:
            keep &= customers[FILTER_COLUMNS[parameter]].isin(values)
    return customers[keep]


# Every query a page reruns after a filter change, except the three that list people (cohort_members,
# winback_segment, survey_comments: their rows are customers or comments, so they read row-level tables).
AGGREGATE_QUERIES = (
    "weekly_kpis", "segment_movements", "kpis", "second_order_rate_90d", "median_days_between_orders",
    "activity_trend", "time_to_second_order", "second_order_milestones", "orders_per_customer",
    "second_order_rate_by_cohort", "repeat_rate_by_segment", "cohort_retention", "satisfaction_90d", "nps_trend",
    "csat_trend", "repurchase_after_response", "satisfaction_by_dimension", "survey_response_rate", "care_summary",
    "care_repeat_rates", "churn_risk_distribution", "churn_rfm_grid", "churn_lifecycle_states", "churn_rfm_lifecycle",
    "revenue_per_customer_by_month",
    "reasons_repurchase", "theme_summary", "theme_trend", "satisfaction_trend_by_dimension", "net_revenue",
)
SEGMENTS = ({"channels": None, "regions": None, "categories": None, "tiers": None},
            {"channels": ["email", "referral"], "regions": None, "categories": None, "tiers": None},
            {"channels": None, "regions": ["Europe"], "categories": ["apparel", "home"], "tiers": ["gold"]},
            {"channels": [], "regions": None, "categories": None, "tiers": None})


def parameter_sets(as_of: date) -> list[dict]:
    """Every page query's parameters for each of SEGMENTS and three grain/trend-range pairs."""
    sets = []
    for segment in SEGMENTS:
        for grain, start in (("month", as_of - timedelta(days=365)), ("week", as_of - timedelta(days=120)),
                             ("quarter", None)):
            sets.append({**segment, "grain": grain, "start_date": start, "end_date": as_of if start else None,
                         "weeks": 12, "small_cohort_size": 30, "dimension": "region", "source": "any",
                         **churn.WinbackRules().params()})
    return sets


def aggregates_read_by(name: str) -> tuple[str, ...]:
    """The aggregate tables a query reads, dependencies first: the SQL nodes of the build graph it reads, directly
    or not, outside the model layer (``graph.MODEL_NODES``). Example: ``("cube_repeat_customers",)`` for kpis."""
    return tuple(node.name for node in graph.load().upstream([name])
                 if node.kind == "sql" and node.name not in graph.MODEL_NODES)
