"""dashboard/cache.py: a query result is cached on the SQL file and the parameters that file uses.

So a change to a filter a query ignores (the trend dates, for a query without them) is served from the cache,
and a change to a filter it uses runs it again. Run outside a Streamlit server, st.cache_data still caches.
"""

from __future__ import annotations

from datetime import date

import pytest

from dashboard import cache, demo, queries
from dashboard.model import Database
from dashboard.settings import load_settings


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    demo.generate(root / "data", customers=800, seed=3)
    return Database.open(load_settings(environ={}, data_dir=root / "data", state_dir=root / "state"))


@pytest.fixture
def executions(monkeypatch):
    """Names of the SQL files that actually ran (the real run_query is still called)."""
    ran = []
    real = queries.run_query

    def counting(con, name, **params):
        ran.append(name)
        return real(con, name, **params)

    monkeypatch.setattr(queries, "run_query", counting)
    return ran


def filters(**changes):
    base = {"channels": None, "regions": None, "categories": None, "tiers": None,
            "start_date": date(2026, 1, 1), "end_date": date(2026, 6, 30), "grain": "month"}
    return {**base, **changes}


def test_a_filter_the_query_ignores_is_a_cache_hit(database, executions):
    as_of = database.default_as_of()
    first = cache.query(database, as_of, "kpis", **filters())
    again = cache.query(database, as_of, "kpis", **filters(start_date=date(2025, 1, 1), grain="week"))
    assert executions == ["kpis"], "kpis takes no dates or grain: the second call must come from the cache"
    assert again.equals(first)


def test_a_filter_the_query_uses_runs_it_again(database, executions):
    as_of = database.default_as_of()
    everyone = cache.query(database, as_of, "kpis", **filters(tiers=("gold", "silver", "none")))
    email = cache.query(database, as_of, "kpis", **filters(channels=("email",)))
    trend = cache.query(database, as_of, "activity_trend", **filters())
    shorter = cache.query(database, as_of, "activity_trend", **filters(start_date=date(2026, 4, 1)))
    assert executions == ["kpis", "kpis", "activity_trend", "activity_trend"]
    assert email["customers"].iloc[0] < everyone["customers"].iloc[0]
    assert shorter["period_start"].min() >= trend["period_start"].min()
    assert len(shorter) < len(trend)


def test_cached_results_are_copies(database):
    as_of = database.default_as_of()
    frame = cache.query(database, as_of, "kpis", **filters())
    frame.loc[0, "customers"] = -1
    assert cache.query(database, as_of, "kpis", **filters())["customers"].iloc[0] > 0
