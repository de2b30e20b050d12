"""What each page runs on a rerun after a filter change, and the filter changes the benchmark makes.

The lists below are read off ``dashboard/pages/*.py``: every ``query(view, name, **params)`` call of the page,
with the page's own extra params (``query`` adds the sidebar's Filters params). ``page_drift()`` compares them
with the page scripts, so a page that gains or loses a query shows up in the results instead of going stale.

On every rerun the router also runs the sidebar (``pages/common.py``): ``database.default_as_of()``, which is
not cached, and ``segment_values``, which is (its params never change). The app caches each query result on
the SQL file and the parameters that file uses (``dashboard/cache.py``): after a filter change, the queries
that use the changed filter run again and the others are served from the cache (the trend dates change only
the five files that take ``$start_date``/``$end_date``; the Data page takes no filter at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

PAGES_DIR = Path(__file__).resolve().parent.parent / "dashboard" / "pages"
QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"
PAGE_SIZE = 50  # dashboard.pages.common.PAGE_SIZE (not imported: that module imports Streamlit)
SMALL_COHORT_SIZE = 30  # Settings.small_cohort_size default; the bench uses default settings


@dataclass(frozen=True)
class PageQuery:
    """One ``query(view, name, **params)`` call of a page."""

    name: str
    params: dict = field(default_factory=dict)
    uses_winback_rules: bool = False  # the churn page adds its win-back rule params


# name -> the page's queries in the order the script runs them (dashboard/pages/<name>.py).
PAGE_QUERIES: dict[str, tuple[PageQuery, ...]] = {
    # overview.py: the weekly KPI table, the high-risk card (after churn.prepare(), once per as-of, measured
    # as the scores step) and "what changed".
    "overview": (
        PageQuery("weekly_kpis", {"weeks": 26}),
        PageQuery("winback_summary", {
            "risk_bands": ["high"], "rfm_segments": None, "min_days_since_last_order": None,
            "max_days_since_last_order": None, "min_revenue": None, "max_revenue": None, "nps_categories": None,
            "has_open_complaint": None, "is_marketing_opt_in": None,
        }),
        PageQuery("segment_movements"),
    ),
    # repeat.py: KPI cards, trend, time to 2nd order, orders per customer, by cohort, by segment
    # (the "Break down by" control's default, acquisition_channel).
    "repeat": (
        PageQuery("kpis"),
        PageQuery("second_order_rate_90d"),
        PageQuery("median_days_between_orders"),
        PageQuery("activity_trend"),
        PageQuery("time_to_second_order"),
        PageQuery("second_order_milestones"),
        PageQuery("orders_per_customer"),
        PageQuery("second_order_rate_by_cohort"),
        PageQuery("repeat_rate_by_segment", {"dimension": "acquisition_channel"}),
    ),
    # cohorts.py: the retention matrix, then the drill-down of the default cell (second-latest cohort shown,
    # period 1, "did not order"; the default role, analyst, sees customers with masked emails).
    "cohorts": (
        PageQuery("cohort_retention", {"small_cohort_size": SMALL_COHORT_SIZE}),
        PageQuery("cohort_members", {"activity": "inactive", "show_email": False, "limit": PAGE_SIZE, "offset": 0}),
    ),
    # satisfaction.py: headline, NPS and CSAT trends, repurchase after a response, the breakdown's default
    # (touchpoint), response rate, and the first page of comments with the default search controls.
    "satisfaction": (
        PageQuery("satisfaction_90d"),
        PageQuery("nps_trend"),
        PageQuery("csat_trend"),
        PageQuery("repurchase_after_response"),
        PageQuery("satisfaction_by_dimension", {"dimension": "touchpoint"}),
        PageQuery("survey_response_rate"),
        PageQuery("survey_comments", {"search": None, "kinds": None, "min_score": 0, "max_score": 10,
                                      "limit": PAGE_SIZE, "offset": 0}),
    ),
    # care.py: the summary cards and the repurchase rates by care group.
    "care": (
        PageQuery("care_summary"),
        PageQuery("care_repeat_rates"),
    ),
    # reasons.py ("Why customers leave"): repurchase by ticket category (the default grouping) and the first page of
    # its worst group's customers (delivery delay on the demo), then the themes of comments and tickets (summary,
    # trend, the first theme's examples and customers) and NPS per touchpoint. The themes are fitted once per export
    # before (measured as the themes step).
    "reasons": (
        PageQuery("reasons_repurchase", {"dimension": "ticket_category"}),
        PageQuery("reasons_customers", {"fact_kind": "ticket_category", "fact_value": "delivery_delay", "outcome": None,
                                        "source": "any", "ordered_since": False, "show_email": False,
                                        "limit": PAGE_SIZE, "offset": 0}),
        PageQuery("theme_summary", {"source": "any"}),
        PageQuery("theme_trend", {"source": "any"}),
        PageQuery("theme_examples", {"theme_id": 1, "source": "any", "limit": PAGE_SIZE, "offset": 0}),
        PageQuery("satisfaction_trend_by_dimension", {"dimension": "touchpoint"}),
    ),
    # churn.py: after churn.prepare() (once per as-of, measured as the scores step), the risk distribution,
    # the RFM grid, and the win-back summary and first page for the default rules (risk band "high").
    # cache.backtest() is keyed by data version and cutoff only, so a filter change does not rerun it.
    "churn": (
        PageQuery("churn_risk_distribution"),
        PageQuery("churn_rfm_grid"),
        PageQuery("winback_summary", uses_winback_rules=True),
        PageQuery("winback_segment", {"show_pii": False, "limit": PAGE_SIZE, "offset": 0}, uses_winback_rules=True),
    ),
}

# The Data page's only query takes no filter params: a filter change is a cache hit there.
FILTER_FREE_QUERIES = {"data": ("data_overview",)}
# Pages whose queries read the churn scores table (built by dashboard.churn.prepare / score_customers).
NEEDS_SCORES = {"churn", "overview"}

SEGMENT_CHANGES = (["email"], ["referral"], ["paid_social"], ["organic_search"], ["marketplace"])


def default_params(as_of: date) -> dict:
    """The Filters params of a page opened without URL parameters: all customers, the last 365 days, months."""
    return {"channels": None, "regions": None, "categories": None, "tiers": None,
            "start_date": as_of - timedelta(days=365), "end_date": as_of, "grain": "month"}


def filter_change(kind: str, run: int, as_of: date) -> dict:
    """The Filters params after the user's ``run``-th change of the given kind.

    ``segment``: one acquisition channel (a different one each run), default date range.
    ``date range``: all customers, a trend range other than the default last 365 days.
    Example: ``filter_change("segment", 0, as_of)["channels"] == ["email"]``.
    """
    params = default_params(as_of)
    if kind == "segment":
        params["channels"] = list(SEGMENT_CHANGES[run % len(SEGMENT_CHANGES)])
    elif kind == "date range":
        months_back = 6 * (1 + run % 3)  # 6, 12, 18 months back to the as-of date, then the year before it
        params["start_date"] = as_of - timedelta(days=30 * months_back)
        params["end_date"] = as_of - timedelta(days=90 * (run % 2))
    else:
        raise ValueError(f"unknown filter change {kind!r}")
    return params


def winback_rule_params() -> dict:
    """The churn page's default win-back rules (risk band "high", nothing else) as query params."""
    from dashboard import churn

    return churn.WinbackRules(risk_bands=("high",)).params()


def cohort_drilldown(cohorts: pd.DataFrame, params: dict) -> dict | None:
    """The cohort page's default drill-down cell, from the retention rows as the page picks it, or None.

    The page keeps cohorts starting in the trend range (all of them when none does), the latest 36 (26 for
    weeks), selects the second-latest and period min(1, latest period).
    """
    if cohorts.empty:
        return None
    start, end = params.get("start_date"), params.get("end_date")
    in_range = cohorts
    if start and end:
        starts = cohorts["cohort_start"]
        in_range = cohorts[(starts >= pd.Timestamp(start)) & (starts <= pd.Timestamp(end))]
        if in_range.empty:
            in_range = cohorts
    max_cohorts = 36 if params["grain"] != "week" else 26
    starts = sorted(in_range["cohort_start"].unique())[-max_cohorts:]
    shown = in_range[in_range["cohort_start"].isin(starts)]
    max_period = int(shown["period_number"].max()) if len(shown) else 0
    return {"cohort_start": pd.Timestamp(starts[max(len(starts) - 2, 0)]).date(), "period_number": min(1, max_period)}


def available_pages() -> dict[str, str | None]:
    """Each page of PAGE_QUERIES -> None when it can be measured, else why not (a missing SQL file or module)."""
    reasons = {}
    for page, page_queries in PAGE_QUERIES.items():
        missing = [query.name for query in page_queries if not (QUERIES_DIR / f"{query.name}.sql").is_file()]
        reason = f"queries/{', '.join(missing)}.sql not found" if missing else None
        if page in NEEDS_SCORES and reason is None:
            try:
                from dashboard import churn

                if not hasattr(churn, "prepare"):
                    reason = "dashboard.churn.prepare() not found"
            except Exception as error:  # an unfinished module must not stop the benchmark
                reason = f"dashboard.churn cannot be imported: {error}"
        reasons[page] = reason
    return reasons


_QUERY_CALL = re.compile(r"""\bquery\(\s*view\s*,\s*["']([a-z0-9_]+)["']""")


def page_drift() -> list[str]:
    """Differences between PAGE_QUERIES and the ``query(view, "...")`` calls in the page scripts."""
    problems = []
    for page, page_queries in PAGE_QUERIES.items():
        path = PAGES_DIR / f"{page}.py"
        if not path.is_file():
            problems.append(f"dashboard/pages/{page}.py not found")
            continue
        in_script = set(_QUERY_CALL.findall(path.read_text(encoding="utf-8")))
        listed = {query.name for query in page_queries}
        if in_script - listed:
            problems.append(f"{page}: the page runs {', '.join(sorted(in_script - listed))}, not in bench/pages.py")
        if listed - in_script:
            problems.append(f"{page}: bench/pages.py lists {', '.join(sorted(listed - in_script))}, not in the page")
    return problems
