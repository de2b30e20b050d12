"""Every SQL file: its header declares exactly the parameters it uses, it runs on real demo exports,
and every metric file the app runs is defined in docs/metrics.md (or docs/churn.md)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from dashboard import demo
from dashboard.metrics import WEEKLY_KPIS
from dashboard.queries import QUERIES_DIR, declared_parameters, load_sql, run_query, sql_parameters

ROOT = Path(__file__).resolve().parent.parent
SQL_FILES = sorted(path.stem for path in QUERIES_DIR.glob("*.sql"))


def creates_objects(name: str) -> bool:
    """Build steps (model tables, macros, score tables) start with CREATE after their header."""
    code = "\n".join(line for line in load_sql(name).splitlines() if not line.lstrip().startswith("--"))
    return code.lstrip().lower().startswith("create")


METRIC_FILES = [name for name in SQL_FILES if not name.startswith("model_") and not creates_objects(name)]

# A valid value for every parameter any SQL file takes.
DEFAULTS = {
    "channels": None, "regions": None, "categories": None, "tiers": None,
    "start_date": None, "end_date": None, "grain": "month", "small_cohort_size": 30,
    "dimension": "acquisition_channel", "weeks": 8, "cohort_start": date(2026, 3, 1), "period_number": 1,
    "activity": "active", "show_email": False, "limit": 10, "offset": 0, "search": None, "kinds": None, "min_score": None,
    "max_score": None, "source": "any", "theme_id": 1, "fact_kind": "ticket_category", "fact_value": "delivery_delay",
    "outcome": None, "ordered_since": None,
}


@pytest.fixture(scope="module")
def cursor(tmp_path_factory):
    from dashboard.model import Database
    from dashboard.settings import load_settings

    data_dir = tmp_path_factory.mktemp("sql") / "demo"
    demo.generate(data_dir, customers=1_500, seed=2)
    database = Database.open(load_settings(environ={}, data_dir=data_dir,
                                           state_dir=tmp_path_factory.mktemp("state")))
    cursor = database.cursor()
    from dashboard import churn

    churn.model_info(cursor)  # the churn_* and winback_* files read the scores tables
    return cursor


@pytest.mark.parametrize("name", SQL_FILES)
def test_header_declares_grain_and_exactly_the_parameters_used(name):
    sql = load_sql(name)
    assert re.search(r"^-- Grain: ", sql, re.MULTILINE), f"queries/{name}.sql has no '-- Grain:' header"
    assert re.search(r"^-- Params: ", sql, re.MULTILINE), f"queries/{name}.sql has no '-- Params:' header"
    assert declared_parameters(sql) == sql_parameters(sql), f"queries/{name}.sql header and body disagree"


@pytest.mark.parametrize("name", [name for name in METRIC_FILES if sql_parameters(load_sql(name)) <= set(DEFAULTS)])
def test_metric_file_runs_on_demo_exports(cursor, name):
    frame = run_query(cursor, name, **DEFAULTS)
    assert len(frame.columns) > 0
    for column in frame.columns:
        if column.endswith("_rate") and column != "change_rate":
            values = frame[column].dropna()
            assert ((values >= 0) & (values <= 1 + 1e-9)).all() or column == "revenue_retention_rate", column


def test_no_user_facing_sql_is_undocumented():
    documented = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    churn_docs = ROOT / "docs" / "churn.md"
    if churn_docs.is_file():
        documented += churn_docs.read_text(encoding="utf-8")
    missing = [name for name in METRIC_FILES if f"queries/{name}.sql" not in documented]
    assert not missing, f"metrics without a definition in docs/metrics.md: {missing}"


def test_every_kpi_card_is_defined():
    documented = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    for key, label, _, _ in WEEKLY_KPIS:
        assert f"`{key}`" in documented, f"KPI {label} ({key}) has no definition in docs/metrics.md"


def test_every_query_the_app_runs_exists():
    used = set()
    for path in list((ROOT / "dashboard").rglob("*.py")) + [ROOT / "streamlit_app.py"]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""(?:query|run_query|execute_file)\([^,()]+,\s*(?:[^,()]+,\s*)?["']([a-z_0-9]+)["']""", text))
    assert used, "found no query calls"
    assert used <= set(SQL_FILES), f"code runs SQL files that do not exist: {sorted(used - set(SQL_FILES))}"
