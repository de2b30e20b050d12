"""dashboard/cache.py: a query result is cached on the SQL file and the parameters that file uses.

So a change to a filter a query ignores (the trend dates, for a query without them) is served from the cache,
and a change to a filter it uses runs it again. Run outside a Streamlit server, st.cache_data still caches.
"""

from __future__ import annotations

import gc
import threading
import weakref
from datetime import date

import pandas as pd
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
    """Names of the SQL files that actually ran in the test's thread (the real run_query is still called). A
    background build another test's app started may still be running in this process; its queries are not ours."""
    ran = []
    real = queries.run_query
    test_thread = threading.current_thread()

    def counting(con, name, **params):
        if threading.current_thread() is test_thread:
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
    """The cache holds one frame per result and hands out shallow copies: whatever a page does to its copy (set a
    cell, change or add a column, rename, sort) never reaches the stored frame or the next caller's copy."""
    as_of = database.default_as_of()
    frame = cache.query(database, as_of, "kpis", **filters())
    original = frame.copy(deep=True)
    frame.loc[0, "customers"] = -1
    trend = cache.query(database, as_of, "activity_trend", **filters())
    trend_original = trend.copy(deep=True)
    trend["active_customers"] *= 1000
    trend["label"] = "changed"
    trend = trend.rename(columns={"period_start": "x"}).sort_values("x", ascending=False)
    again = cache.query(database, as_of, "kpis", **filters())
    assert again["customers"].iloc[0] > 0
    pd.testing.assert_frame_equal(again, original)
    pd.testing.assert_frame_equal(cache.query(database, as_of, "activity_trend", **filters()), trend_original)


def test_the_app_serves_from_the_snapshot_once_its_background_build_saved_it(tmp_path):
    demo.generate(tmp_path / "data", customers=500, seed=4)
    settings = load_settings(environ={}, data_dir=tmp_path / "data", state_dir=tmp_path / "state")
    first = cache.database(settings)
    assert first.snapshot is None  # new exports: built from them
    for thread in threading.enumerate():
        if thread.name == "warm-aggregates":
            thread.join(timeout=120)
    now = cache.database(settings)
    assert now is not first and now.snapshot == first.snapshot_path
    assert cache._BACKGROUND == {}  # nothing keeps the model built in memory alive once it is not used
    as_of = first.default_as_of()
    pd_first = queries.run_query(first.cursor(as_of), "kpis", **filters())
    assert cache.query(now, as_of, "kpis", **filters(tiers=("gold",))).shape[0] == 1
    assert queries.run_query(now.cursor(as_of), "kpis", **filters()).equals(pd_first)
    built = weakref.ref(first)
    del first
    gc.collect()
    assert built() is None  # the memory of the model built from the exports is freed


def test_without_the_background_build_the_pages_build_what_they_read_and_nothing_is_saved(tmp_path):
    demo.generate(tmp_path / "data", customers=300, seed=4)
    settings = load_settings(environ={"DASHBOARD_BACKGROUND_BUILD": "false"}, data_dir=tmp_path / "data",
                             state_dir=tmp_path / "state")
    assert settings.background_build is False
    database = cache.database(settings)
    assert id(database) not in cache._BACKGROUND
    as_of = database.default_as_of()
    assert cache.query(database, as_of, "kpis", **filters())["customers"].iloc[0] > 0
    assert database.has_model(as_of) and not database.snapshot_path.exists()
    assert cache.database(settings) is database  # the same server database, still built from the exports


def test_the_server_s_long_lived_objects_leave_the_cyclic_collector_once():
    """dashboard/pages/common.py freezes what is alive when it is first imported (the libraries and this package),
    so a full garbage collection in the server walks what the pages made since, not every imported object. Not
    again when Streamlit imports the module anew after a source change (that would freeze cached figures for
    good), and unfrozen at exit (else DuckDB's bindings report leaks as the process ends)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = ("import gc, sys, weakref; before = gc.get_freeze_count(); import dashboard.pages.common; "
            "after = gc.get_freeze_count(); tracked = len(gc.get_objects()); "
            "Cached = type('Cached', (), {}); cached = Cached(); cached.me = cached; alive = weakref.ref(cached); "
            "[sys.modules.pop(name) for name in list(sys.modules) if name.startswith('dashboard.pages')]; "
            "import dashboard.pages.common; del cached; gc.collect(); "
            "print(before, after, tracked, int(alive() is None))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    before, after, tracked, freed = map(int, done.stdout.split())
    assert before == 0
    assert after > 50_000 > tracked, "the imported objects are frozen and no longer walked"
    assert freed == 1, "imported anew (as after a source change), it froze a cycle made since the first import"
    assert "leak" not in done.stderr, done.stderr
