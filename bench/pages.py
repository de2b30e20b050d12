"""What each page runs on a rerun after a filter change, and the filter changes the benchmark makes.

The queries of each page are read from its script (``dashboard/pages/<page>.py``) with Python's ``ast``: every
``query(view, "<name>", ...)`` call (which adds the sidebar's Filters params) and ``cache.query(..., "<name>")``
call (no filters), in script order; download callables (``fetch_all``) are not run on a view. Nothing is copied by
hand: a page that gains or loses a query is measured as it now is. The parameters of each call are the literal
values the script passes, and for the others what the page shows on its first view (the widgets' defaults, one
value per parameter name: ``first_view_params()``); ``page_problems()`` names any parameter a page's SQL file
takes that neither gives. Which pages need the churn scores comes from the build graph (``dashboard/graph.py``).

On every rerun the router also runs the sidebar (``pages/common.py``): ``database.default_as_of()``, which is
not cached, and ``segment_values``, which is (its params never change). The app caches each query result on
the SQL file and the parameters that file uses (``dashboard/cache.py``): after a filter change, the queries
that use the changed filter run again and the others are served from the cache (the trend dates change only
the files that take ``$start_date``/``$end_date``; the Data page takes no filter at all).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import pandas as pd

PAGES_DIR = Path(__file__).resolve().parent.parent / "dashboard" / "pages"
QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"
PAGE_SIZE = 50  # dashboard.pages.common.PAGE_SIZE (not imported: that module imports Streamlit)
SMALL_COHORT_SIZE = 30  # Settings.small_cohort_size default; the bench uses default settings
FILTER_PARAMS = ("channels", "regions", "categories", "tiers", "start_date", "end_date", "grain")
# Results a later query of the page is computed from (the cohort drill-down's cell: see cohort_drilldown).
FROM_RESULTS = ("cohort_start", "period_number")


@dataclass(frozen=True)
class PageQuery:
    """One query a page runs on a view: its literal params from the script; ``filtered`` when it takes the sidebar's."""

    name: str
    params: dict = field(default_factory=dict)
    filtered: bool = True


def first_view_params() -> dict:
    """What a page shows on its first view for each parameter its script does not pass literally: widget defaults
    (the churn page's default win-back rules: risk band "high"), the default role's access (analyst: masked
    emails), the first page of a paged table, default settings."""
    from dashboard import churn

    return {
        **churn.WinbackRules(risk_bands=("high",)).params(),
        "show_pii": False, "show_email": False, "limit": PAGE_SIZE, "offset": 0,
        "small_cohort_size": SMALL_COHORT_SIZE, "weeks": 26, "activity": "inactive",
        "search": None, "kinds": None, "min_score": 0, "max_score": 10,
    }


# The "Break down by" control's default differs by page; "<query>.<param>" gives one query of a page its own.
PAGE_FIRST_VIEW = {
    "repeat": {"dimension": "acquisition_channel"},
    # "Who moved": compared with the first of churn.MOVEMENT_DAYS (7 days back), by lifecycle state.
    "churn": {"churn_movements.days_back": 7, "churn_movements.dimension": "lifecycle_state"},
    "satisfaction": {"dimension": "touchpoint"},
    # Why customers leave: grouped by ticket category, the worst group's customers (delivery delay on the demo)
    # who have not ordered since, comments and ticket texts together, the first theme's examples, NPS/CSAT per
    # touchpoint.
    "reasons": {
        "dimension": "ticket_category", "satisfaction_trend_by_dimension.dimension": "touchpoint",
        "fact_kind": "ticket_category", "fact_value": "delivery_delay", "outcome": None, "source": "any",
        "ordered_since": False, "theme_id": 1,
    },
}


def _literal(node: ast.AST):
    try:
        return True, ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return False, None


def _call_params(call: ast.Call) -> dict:
    """The keyword arguments of a call whose values are literals (also inside a ``**{...}`` dict literal)."""
    params = {}
    for keyword in call.keywords:
        if keyword.arg is not None:
            ok, value = _literal(keyword.value)
            if ok:
                params[keyword.arg] = value
        elif isinstance(keyword.value, ast.Dict):
            for key, value in zip(keyword.value.keys, keyword.value.values):
                ok, literal = _literal(value)
                if key is not None and isinstance(key, ast.Constant) and ok:
                    params[key.value] = literal
    return params


def read_page(page: str) -> tuple[PageQuery, ...]:
    """The queries ``dashboard/pages/<page>.py`` runs on a view, in script order."""
    tree = ast.parse((PAGES_DIR / f"{page}.py").read_text(encoding="utf-8"))
    found = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        function = call.func
        name = function.id if isinstance(function, ast.Name) else function.attr if isinstance(function, ast.Attribute) else ""
        owner = function.value.id if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name) else None
        strings = [arg.value for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        if name == "query" and owner is None and strings:
            found.append((call.lineno, call.col_offset, PageQuery(strings[0], _call_params(call))))
        elif name == "query" and owner == "cache" and strings:
            found.append((call.lineno, call.col_offset, PageQuery(strings[0], _call_params(call), filtered=False)))
    return tuple(query for *_, query in sorted(found, key=lambda item: item[:2]))


# Pages whose filtered queries are ``run("...")`` calls of a module (each once per segment with that segment as the
# filter) rather than ``query(view, ...)`` calls of their script. The Compare segments page: the bench compares
# two segments, A being the run's changed segment (everyone on the first view, then the channel of each segment
# change) and B staying COMPARE_OTHER_SEGMENT, so a segment change recomputes A and serves B from the cache, as
# the app does when one picker changes; the page takes no trend dates (a date-range change is all cache hits).
RUN_MODULES = {"compare": PAGES_DIR.parent / "compare.py"}
COMPARE_OTHER_SEGMENT = {"tier": ("gold",)}


def read_run_module(page: str) -> tuple[PageQuery, ...]:
    """The ``run("<name>", ...)`` calls of a page's module, in its order."""
    tree = ast.parse(RUN_MODULES[page].read_text(encoding="utf-8"))
    found = []
    for call in ast.walk(tree):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "run"
                and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
            found.append((call.lineno, call.col_offset, PageQuery(call.args[0].value, _call_params(call))))
    return tuple(query for *_, query in sorted(found, key=lambda item: item[:2]))


@lru_cache(maxsize=1)
def all_pages() -> dict[str, tuple[PageQuery, ...]]:
    """Every page of the app's navigation (``streamlit_app.py``), in its order -> the queries it runs on a view."""
    router = ast.parse((PAGES_DIR.parent.parent / "streamlit_app.py").read_text(encoding="utf-8"))
    files = [node.value for node in ast.walk(router)
             if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith(".py")]
    return {Path(file).stem: read_run_module(Path(file).stem) if Path(file).stem in RUN_MODULES
            else read_page(Path(file).stem) for file in sorted(set(files), key=files.index)}


def _split_pages() -> tuple[dict, dict]:
    pages = all_pages()
    filtered = {page: queries for page, queries in pages.items() if any(query.filtered for query in queries)}
    free = {page: tuple(query.name for query in queries) for page, queries in pages.items() if page not in filtered}
    return filtered, free


# name -> the page's queries in the order the script runs them (pages whose queries take the sidebar's filters).
PAGE_QUERIES, FILTER_FREE_QUERIES = _split_pages()


# Python nodes the benchmark builds (and times) before it measures any page: the comment themes of the Why page.
BUILT_BEFORE_PAGES = ("themes",)


def _needs_scores() -> set[str]:
    """Pages with a query that reads a node built in Python (the churn model's scores), per the build graph, other
    than those built before the pages are measured (BUILT_BEFORE_PAGES)."""
    from dashboard import graph

    built = graph.load()
    return {page for page, queries in PAGE_QUERIES.items()
            if any(node.kind == "python" and node.name not in BUILT_BEFORE_PAGES
                   for node in built.upstream(query.name for query in queries))}


NEEDS_SCORES = _needs_scores()


def page_arguments(page: str, page_query: PageQuery, filters: dict) -> dict:
    """The arguments a page's query runs with: the filters (when it takes them), the script's literal values,
    then the first-view value of every other parameter its SQL file uses."""
    from dashboard.queries import used_parameters

    arguments = dict(filters) if page_query.filtered else {}
    arguments.update(page_query.params)
    defaults = {**first_view_params(), **PAGE_FIRST_VIEW.get(page, {})}
    for name in used_parameters(page_query.name):
        if name not in arguments and f"{page_query.name}.{name}" in defaults:
            arguments[name] = defaults[f"{page_query.name}.{name}"]
        elif name not in arguments and name in defaults:
            arguments[name] = defaults[name]
    return arguments


def page_problems() -> list[str]:
    """Parameters a page's query takes that neither the script's literals, the filters nor FIRST_VIEW give."""
    from dashboard.queries import used_parameters

    problems = []
    for page, queries in PAGE_QUERIES.items():
        for page_query in queries:
            given = set(page_arguments(page, page_query, dict.fromkeys(FILTER_PARAMS)))
            missing = used_parameters(page_query.name) - given - set(FROM_RESULTS)
            if missing:
                problems.append(f"{page}: queries/{page_query.name}.sql takes {', '.join(sorted(missing))}, which "
                                "bench/pages.py has no first-view value for")
    return problems


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
    """Each page of PAGE_QUERIES -> None when it can be measured, else why not (a missing SQL file)."""
    reasons = {}
    for page, page_queries in PAGE_QUERIES.items():
        missing = [query.name for query in page_queries if not (QUERIES_DIR / f"{query.name}.sql").is_file()]
        reasons[page] = f"queries/{', '.join(missing)}.sql not found" if missing else None
    return reasons
