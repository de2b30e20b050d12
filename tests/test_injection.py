"""No injection: hostile text from a widget, a URL query parameter or a segment rule is only ever a value.

Two routes, both on the demo exports (2,000 customers, seed 1) opened the way the app opens them:

- every text or list-of-text ``$parameter`` of every file in ``queries/``, run with ``run_query`` (build steps that
  create tables with ``execute_file``, in a scratch schema), valid defaults for the other parameters:
  a text parameter gets each hostile string alone, one query each; a list parameter gets all of them in one list,
  then all of them next to a real value, and in the entry file of each family of list rules (kpis for the segment
  macro, survey_comments, winback_summary for the win-back macro) each one alone as well;
- the app's URL query parameters (AppTest), where the sidebar, the comment search and the page widgets read them.

A hostile value must mean what any other value means: a segment rule that no customer matches selects nobody,
an unknown dimension or activity gives no rows, an unknown grain or time zone fails like any unknown one, the
comment search finds the comments that contain the text literally, and the fitted model's method and message are
stored as the text they are. After every case no file has appeared in the data folder, DuckDB's spill folder or
the working directory; after every file x parameter the views still have their rows and no DuckDB setting, schema,
table, view or attached database has changed.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import churn, demo, figures
from dashboard.model import Database
from dashboard.queries import QUERIES_DIR, QueryError, execute_file, load_sql, run_query, sql_parameters
from dashboard.settings import load_settings

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PROJECT_ROOT = Path(__file__).resolve().parent.parent

HOSTILE = (
    "' or 1=1 --",
    "'; drop table orders; --",
    "x'); copy orders to 'leak.csv' (--",
    "'); copy (select * from customers) to 'leak.csv'; --",
    "'); attach 'leak.db' as leak; --",
    "'; set enable_external_access = true; set lock_configuration = false; --",
    "' union select * from customers --",
    "read_parquet('/etc/passwd')",
    "$param",
    "$channels",
    "$1",
    "?",
    "%",
    "_",
    "\\",
    "\\' or 1=1 --",
    "\x00",
    "a\x00'; drop view orders; --",
    '\\"',
    '"; drop view orders; --',
    "\u2019 or \u20181\u2019=\u20181\u2019 --",  # curly quotes
    "\uff07 or 1=1 --",  # fullwidth apostrophe
    "\U0001f600",
    "x" * 10_000,
    ("' or 1=1 -- " * 1_000)[:10_000],
    "\n; install httpfs; load httpfs;\n--",
    "{channels}%s",
    ".",  # literally in most comments: the search must not treat it as a pattern
    "[email]",  # literally in the masked comments: a regex would read it as a character class
)
HOSTILE_IDS = [f"{index:02d}-{value[:12]!r}" for index, value in enumerate(HOSTILE)]

# Every $parameter used by a file in queries/, by kind. A new parameter fails test_every_parameter_is_classified
# until it is listed here, so a new text parameter cannot escape this test.
TEXT_PARAMETERS = {"grain", "dimension", "activity", "search", "timezone", "method", "message", "source", "fact_kind",
                   "fact_value", "outcome", "pseudonym_key", "season_index", "season_message"}
TEXT_LIST_PARAMETERS = {"channels", "regions", "categories", "tiers", "kinds", "risk_bands", "rfm_segments",
                        "nps_categories", "lifecycle_states", "complaint_categories", "previous_states",
                        "previous_segments"}
AS_OF = date(2026, 11, 15)
VALID_DEFAULTS = {
    # text and lists of text: "all" / the page defaults
    "channels": None,
    "regions": None,
    "categories": None,
    "tiers": None,
    "kinds": None,
    "risk_bands": None,
    "rfm_segments": None,
    "nps_categories": None,
    "lifecycle_states": None,
    "complaint_categories": None,
    "previous_states": None,
    "previous_segments": None,
    "moved_days": None,
    "days_back": 7,
    "season_index": None,
    "season_message": None,
    "grain": "month",
    "dimension": "region",
    "activity": None,
    "search": None,
    "timezone": "UTC",
    "source": "any",
    "fact_kind": "ticket_category",
    "fact_value": "delivery_delay",
    "outcome": None,
    "method": "MBG/NBD",
    "message": None,
    "pseudonym_key": "0123456789abcdef0123456789abcdef",
    # dates, numbers, flags
    "as_of": AS_OF,
    "start_date": date(2025, 1, 1),
    "end_date": AS_OF,
    "cohort_start": date(2026, 3, 1),
    "cutoff_at": datetime(2026, 11, 16),
    "horizon_end_at": datetime(2026, 11, 16),
    "period_number": 1,
    "limit": 50,
    "offset": 0,
    "min_score": 0,
    "max_score": 10,
    "weeks": 26,
    "small_cohort_size": 30,
    "min_days_since_last_order": None,
    "max_days_since_last_order": None,
    "min_revenue": None,
    "max_revenue": None,
    "has_open_complaint": None,
    "has_complained": None,
    "has_returned": None,
    "recency_scores": None,
    "fm_scores": None,
    "opted_in_only": False,
    "since_date": date(2021, 11, 16),
    "predicted_orders_calendar": 95.0,
    "season_used": True,
    "is_marketing_opt_in": None,
    "show_pii": False,
    "show_email": False,
    "n_customers": 2_000,
    "r": 0.5, "alpha": 50.0, "a": 1.0, "b": 2.0, "gg_p": 6.0, "gg_q": 4.0, "gg_v": 15.0,
    "cutoff": date(2026, 8, 18), "horizon_days": 90, "horizon_end": date(2026, 11, 16), "silent_share": 0.4,
    "auc": 0.8, "baseline_auc": 0.7, "predicted_orders": 100.0, "actual_orders": 90,
    "high_risk": 0.7, "medium_risk": 0.4, "overdue_gap_ratio": 2.0, "slow_resolution_days": 7,
    "falling_value_share": 0.5,
    "theme_id": 1, "ordered_since": None,
}
# What an ordinary value that matches nothing gives: the hostile value must give exactly the same.
UNKNOWN_VALUE = {
    "grain": "fortnight",
    "dimension": "no_such_dimension",
    "activity": "no_such_activity",
    "timezone": "No/Such_Zone",
    "source": "no_such_source",
    "fact_kind": "no_such_kind",
    "fact_value": "no such value",
    "outcome": "no such outcome",
}
UNKNOWN_LIST_VALUE = "no such value"
# Parameters a build step stores as they are (the fitted model's method, message and seasonal index, the stored
# backtest's, and the as-of schema's time zone, which settings have checked is a known zone).
STORED_VERBATIM = {("churn_model_fit", "method"), ("churn_model_fit", "message"), ("churn_model_fit", "season_index"),
                   ("churn_model_fit", "season_message"), ("churn_backtest_store", "method"),
                   ("churn_backtest_store", "message"), ("model_info", "timezone"), ("privacy_macros", "pseudonym_key")}
# The column a build step stores a parameter in, where it is not named like the parameter.
STORED_COLUMN = {("privacy_macros", "pseudonym_key"): "key"}


def sql_files() -> list[str]:
    return sorted(path.stem for path in QUERIES_DIR.glob("*.sql"))


def is_build_step(name: str) -> bool:
    """A file that creates a table or macro (the model layer, the churn scores) rather than returning rows."""
    code = "\n".join(line.split("--", 1)[0] for line in load_sql(name).splitlines()).strip().lower()
    return code.startswith("create ")


def injection_cases() -> list[tuple[str, str]]:
    """(file, parameter) for every text or list-of-text parameter a SQL file uses."""
    return [
        (name, parameter)
        for name in sql_files()
        for parameter in sorted(sql_parameters(load_sql(name)))
        if parameter in TEXT_PARAMETERS | TEXT_LIST_PARAMETERS
    ]


CASES = injection_cases()


def tree_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under folder with its size and modification time."""
    state = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(root) / name
            stat = path.lstat()
            state[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return state


def duckdb_state(cursor, model_schemas: bool = True) -> dict:
    """Settings, catalog objects and the row count of the orders view, as seen from one cursor.

    With model_schemas=False the per-as-of schemas (``asof_*``) are left out: the app builds one for each as-of
    date it is asked about (the churn backtest asks for an earlier one), which is not a change an input made.
    """
    schemas = "true" if model_schemas else "schema_name not like 'asof\\_%' escape '\\'"
    return {
        "settings": cursor.execute("select name, value from duckdb_settings() order by name").fetchall(),
        "tables": cursor.execute(
            f"select database_name, schema_name, table_name, estimated_size from duckdb_tables() where {schemas} "
            "order by all"
        ).fetchall(),
        "views": cursor.execute(f"select database_name, schema_name, view_name from duckdb_views() "
                                f"where not internal and {schemas} order by all").fetchall(),
        "schemas": cursor.execute(f"select database_name, schema_name from duckdb_schemas() where {schemas} "
                                  "order by all").fetchall(),
        "databases": cursor.execute("select database_name, path from duckdb_databases() order by all").fetchall(),
        "orders": cursor.execute("select count(*) from main.orders").fetchone()[0],
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The demo exports, their database and an empty working directory (restored afterwards)."""
    root = tmp_path_factory.mktemp("injection")
    data_dir = root / "data"
    demo.generate(data_dir, customers=2_000, seed=1)
    state_dir = root / "state"
    workdir = root / "workdir"
    workdir.mkdir()
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        settings = load_settings(environ={}, data_dir=data_dir, state_dir=state_dir)
        database = Database.open(settings)
        cursor = database.cursor(AS_OF)
        # Every node of the build graph (the aggregates, the churn scores, the stored backtest) is built by the first
        # query that reads it; build them all now (the warm-up), so the catalog snapshot below already has them
        # and a hostile value cannot hide behind a build.
        assert database.warm(AS_OF) == []
        yield {
            "root": root,
            "data_dir": data_dir,
            "state_dir": state_dir,
            "workdir": workdir,
            "database": database,
            "cursor": cursor,
            "data_state": tree_state(data_dir),
            "spill_state": tree_state(state_dir / "duckdb_tmp"),
            "duckdb_state": duckdb_state(cursor),
        }
        cursor.close()
    finally:
        os.chdir(previous)


def assert_files_unchanged(world) -> None:
    """No new or changed file where a hostile value could aim: the data folder, DuckDB's spill folder (the two
    folders the locked-down connection may touch) and the working directory (where a relative path lands)."""
    assert tree_state(world["data_dir"]) == world["data_state"], "the data folder changed"
    assert tree_state(world["state_dir"] / "duckdb_tmp") == world["spill_state"], "DuckDB's spill folder changed"
    appeared = list(world["workdir"].iterdir())
    assert not appeared, f"files appeared in the working directory: {appeared}"
    for name in ("leak.csv", "leak.db"):
        assert not (PROJECT_ROOT / name).exists(), f"{name} appeared in the project folder"
        assert not (world["root"] / name).exists()


def assert_duckdb_unchanged(world, cursor=None, before=None) -> None:
    """Settings, schemas, tables, views, attached databases and the orders view's rows as before."""
    if cursor is None:
        assert duckdb_state(world["cursor"]) == world["duckdb_state"]
    else:
        assert duckdb_state(cursor, model_schemas=False) == before


def outcome(cursor, name: str, params: dict):
    """A query's rows, or the kind of failure (the message may quote the value, so it is not compared)."""
    try:
        return "rows", run_query(cursor, name, **params)
    except QueryError as error:
        assert str(error).startswith(f"queries/{name}.sql failed: "), error
        return "error", type(error.__cause__).__name__


def build_step_outcome(world, name: str, params: dict):
    """Run a build step in a scratch schema (the real model is untouched): the table it made, or the failure."""
    cursor = world["database"].connection.cursor()
    schema = "scratch_injection"
    model_schema = world["cursor"].execute("select current_schema()").fetchone()[0]
    try:
        cursor.execute(f"create schema {schema}")
        cursor.execute(f"set search_path = '{schema},{model_schema},main'")
        try:
            execute_file(cursor, name, **params)
        except QueryError as error:
            return "error", type(error.__cause__).__name__
        table = cursor.execute(
            "select table_name from duckdb_tables() where schema_name = $schema", {"schema": schema}
        ).fetchone()[0]
        return "rows", cursor.execute(f"select * from {schema}.{table}").df()
    finally:
        cursor.execute(f"drop schema if exists {schema} cascade")
        cursor.close()


def assert_same_outcome(actual, expected) -> None:
    assert actual[0] == expected[0], (actual, expected)
    if actual[0] == "rows":
        pd.testing.assert_frame_equal(actual[1], expected[1])
    else:
        assert actual[1] == expected[1]


def test_every_parameter_is_classified():
    """Each $parameter is text, a list of text, or has a valid default here (so none is skipped silently)."""
    used = set().union(*(sql_parameters(load_sql(name)) for name in sql_files()))
    assert used <= TEXT_PARAMETERS | TEXT_LIST_PARAMETERS | set(VALID_DEFAULTS), used - set(VALID_DEFAULTS)
    assert set(VALID_DEFAULTS) >= TEXT_PARAMETERS | TEXT_LIST_PARAMETERS
    assert len(CASES) >= 60, CASES


def test_hostile_values_are_not_segment_values(world):
    """The 'honest meaning' below relies on no customer having a hostile value as a segment value."""
    values = run_query(world["cursor"], "segment_values")
    assert not set(values["segment_value"]) & set(HOSTILE)
    assert {"email", "referral"} <= set(values["segment_value"])


@pytest.fixture(scope="module")
def expected_outcomes(world):
    """Per (file, parameter, ordinary value): what the file gives for it (computed once)."""
    cache = {}

    def expected(name: str, parameter: str, value=None):
        if value is None:
            value = [UNKNOWN_LIST_VALUE] if parameter in TEXT_LIST_PARAMETERS else UNKNOWN_VALUE[parameter]
        key = (name, parameter, repr(value))
        if key not in cache:
            cache[key] = run_case(world, name, {**VALID_DEFAULTS, parameter: value})
        return cache[key]

    return expected


def run_case(world, name: str, params: dict):
    """The outcome of one file with params: build steps in a scratch schema, queries on the model's cursor."""
    return build_step_outcome(world, name, params) if is_build_step(name) else outcome(world["cursor"], name, params)


@pytest.fixture(scope="module")
def masked_comments(world) -> list[str]:
    """Every comment as the search sees it (emails and phones masked), with the page's default filters."""
    frame = run_query(world["cursor"], "survey_comments", **{**VALID_DEFAULTS, "limit": None})
    assert len(frame) > 100
    return frame["comment_masked"].tolist()


def literal_matches(comments: list[str], text: str) -> int:
    """Comments containing text literally, ignoring case: the documented meaning of the comment search."""
    return sum(text.lower() in comment.lower() for comment in comments)


# Where each list rule reads its values: a real value is put next to the hostile ones.
REAL_VALUE_SOURCES = {
    "channels": ("customer_summary", "acquisition_channel"),
    "regions": ("customer_summary", "region"),
    "categories": ("customer_summary", "first_category"),
    "tiers": ("customer_summary", "loyalty_tier"),
    "kinds": ("valid_surveys", "kind"),
    "risk_bands": ("customer_scores", "risk_band"),
    "rfm_segments": ("customer_scores", "rfm_segment"),
    "nps_categories": ("customer_scores", "latest_nps_category"),
    "lifecycle_states": ("customer_scores", "lifecycle_state"),
    "complaint_categories": ("valid_tickets", "category"),
    "previous_states": ("customer_movements", "previous_lifecycle_state"),
    "previous_segments": ("customer_movements", "previous_rfm_segment"),
}
# The first file of each family of list rules: segment_customers (kpis), the comment filters (survey_comments)
# and winback_rules_match (winback_summary). There every hostile value also goes in alone, one query each.
ENTRY_FILES = ("kpis", "survey_comments", "winback_summary")


@pytest.fixture(scope="module")
def real_values(world) -> dict[str, str]:
    """The most common value of each list rule in the demo data (never a hostile string)."""
    values = {}
    for parameter, (table, column) in REAL_VALUE_SOURCES.items():
        values[parameter] = world["cursor"].execute(
            f"select {column} from {table} where {column} is not null group by all order by count(*) desc, 1 limit 1"
        ).fetchone()[0]
    assert not set(values.values()) & set(HOSTILE)
    return values


def collect(failures: list[str], label: str, check) -> None:
    """Run one check; keep its failure (with the value that caused it) instead of stopping at the first."""
    try:
        check()
    except AssertionError as error:
        failures.append(f"{label}: {str(error)[:300]}")


TEXT_CASES = [case for case in CASES if case[1] in TEXT_PARAMETERS]
LIST_CASES = [case for case in CASES if case[1] in TEXT_LIST_PARAMETERS]


@pytest.mark.parametrize(("name", "parameter"), TEXT_CASES, ids=[f"{n}-{p}" for n, p in TEXT_CASES])
def test_hostile_text_parameter_is_only_a_value(world, expected_outcomes, masked_comments, name, parameter):
    """Every hostile string alone, one query each: it means what any other value means."""
    failures: list[str] = []
    for label, hostile in zip(HOSTILE_IDS, HOSTILE):
        params = {**VALID_DEFAULTS, parameter: hostile}

        def check():
            if parameter == "search":
                frame = run_query(world["cursor"], name, **{**params, "limit": None})
                expected = literal_matches(masked_comments, hostile)
                assert len(frame) == expected, f"{len(frame)} comments found, {expected} contain it literally"
                assert (frame["total_matches"] == expected).all()
                assert all(hostile.lower() in comment.lower() for comment in frame["comment_masked"])
            elif (name, parameter) in STORED_VERBATIM:
                kind, table = build_step_outcome(world, name, params)
                column = STORED_COLUMN.get((name, parameter), parameter)
                assert kind == "rows" and table[column].tolist() == [hostile], "stored as the text it is"
            else:
                actual = run_case(world, name, params)
                assert_same_outcome(actual, expected_outcomes(name, parameter))
                if parameter in ("dimension", "activity"):
                    assert actual[0] == "rows" and actual[1].empty, "an unknown value gives no rows"
            assert_files_unchanged(world)

        collect(failures, label, check)
    assert not failures, "\n".join(failures)
    assert_duckdb_unchanged(world)


@pytest.mark.parametrize(("name", "parameter"), LIST_CASES, ids=[f"{n}-{p}" for n, p in LIST_CASES])
def test_hostile_list_parameter_is_only_a_value(world, expected_outcomes, real_values, name, parameter):
    """All hostile strings in one list match nobody; next to a real value they change nothing.

    In the entry file of each family of rules, every hostile string also goes in alone.
    """
    failures: list[str] = []
    real = real_values[parameter]
    cases = [("all hostile values", list(HOSTILE), None), (f"{real!r} + all hostile values", [real, *HOSTILE], [real])]
    if name in ENTRY_FILES:
        cases += [(label, [hostile], None) for label, hostile in zip(HOSTILE_IDS, HOSTILE)]
    for label, value, ordinary in cases:
        def check():
            actual = run_case(world, name, {**VALID_DEFAULTS, parameter: value})
            assert_same_outcome(actual, expected_outcomes(name, parameter, ordinary))
            if ordinary is None and name == "kpis":
                assert actual[1]["customers"].tolist() == [0], "a segment rule nobody matches selects nobody"
            if ordinary is None and name in ("survey_comments", "winback_summary"):
                count = "total_matches" if name == "survey_comments" else "customers"
                assert actual[1].empty or actual[1][count].fillna(0).eq(0).all(), actual[1]
            assert_files_unchanged(world)

        collect(failures, label, check)
    assert not failures, "\n".join(failures)
    assert_duckdb_unchanged(world)


def test_unknown_values_have_the_documented_meaning(world, expected_outcomes):
    """The baseline the hostile values are compared with is itself what the SQL headers promise."""
    kind, frame = expected_outcomes("kpis", "channels")
    assert kind == "rows" and frame["customers"].tolist() == [0]
    kind, frame = expected_outcomes("repeat_rate_by_segment", "dimension")
    assert kind == "rows" and frame.empty
    kind, frame = expected_outcomes("cohort_members", "activity")
    assert kind == "rows" and frame.empty
    assert expected_outcomes("activity_trend", "grain") == ("error", "ConversionException")
    assert expected_outcomes("model_local_offsets", "timezone")[0] == "error"


# The app: every URL query parameter a page reads. Values a widget does not offer are dropped by Streamlit
# (the widget shows its default); the comment search keeps the text and searches for it literally.
SIDEBAR_PARAMETERS = ("as_of", "range", "grain", "channel", "region", "category", "tier")
PAGE_PARAMETERS = {
    "satisfaction": ("q", "kind", "score", "satisfaction_by"),
    "repeat": ("breakdown",),
    "cohorts": ("measure", "mode", "cohort", "period", "activity", "k"),
    "churn": ("state", "risk", "rfm", "r", "fm", "nps", "days_min", "days_max", "value_min", "value_max", "complaint",
              "complained", "complaint_category", "returned", "opt_in", "consent", "holdout", "seed", "since",
              "from_state", "from_rfm", "movement_days", "movement_by"),
    "reasons": ("why_by", "why_texts", "why_score", "why_per"),
}
# Each AppTest run takes about a second, so the app gets a sample; the SQL tests above take every value.
# The comment search (the one free-text widget) gets the values that stress the URL -> widget -> query path:
# quotes, a $name, a LIKE wildcard, NUL, curly quotes, 10,000 characters (the box keeps 200), a newline,
# and two that match literally.
SEARCH_SAMPLE = tuple(HOSTILE[index] for index in (0, 2, 9, 12, 16, 20, 23, 25, 27, 28))
PAGE_SAMPLE = tuple(HOSTILE[index] for index in (1, 24))
OPTION_WIDGETS = ("multiselect", "selectbox", "segmented_control", "radio", "pills", "number_input", "date_input",
                  "slider", "select_slider")


@pytest.fixture(scope="module")
def app_environment(world, tmp_path_factory):
    """Environment variables the app reads, pointing at the demo exports (restored afterwards)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DASHBOARD_DATA_DIR", str(world["data_dir"]))
        patch.setenv("DASHBOARD_STATE_DIR", str(world["state_dir"]))
        patch.setenv("DASHBOARD_SETTINGS", str(tmp_path_factory.mktemp("settings") / "none.toml"))
        yield


@pytest.fixture(scope="module")
def app_database(world, app_environment):
    """The Database the app's cache holds for these exports, and its state before any hostile run."""
    from dashboard import cache

    run_app("data", {})  # opens and caches the database
    # Its background build (aggregates, scores, backtest, then the snapshot, written in the spill folder and
    # renamed into place) must be over before the folders' state is compared: only then is a change ours.
    with cache._BACKGROUND_LOCK:
        building = [thread for _, thread in cache._BACKGROUND.values()]
    for thread in building:
        thread.join(timeout=300)
        assert not thread.is_alive(), "the app's background build did not finish in 300 s"
    database = cache.database(load_settings())
    cursor = database.connection.cursor()
    churn.model_info(database.cursor(AS_OF))  # the churn page builds the scores on first use
    return database, cursor, duckdb_state(cursor, model_schemas=False)


def run_app(page: str, query_params: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if page != "overview":
        at.switch_page(f"dashboard/pages/{page}.py")
    for key, value in query_params.items():
        at.query_params[key] = value
    return at.run()


def assert_app_clean(at: AppTest, world, app_database, hostile: str) -> None:
    """No exception or error shown, no widget holding the hostile value, nothing changed on disk or in DuckDB."""
    assert not at.exception, [item.value for item in at.exception]
    assert not at.error, [item.value for item in at.error]
    for kind in OPTION_WIDGETS:
        for widget in at.get(kind):
            values = widget.value if isinstance(widget.value, (list, tuple)) else [widget.value]
            assert hostile not in values, f"{kind} {widget.key!r} took the hostile value"
    _, cursor, before = app_database
    assert_files_unchanged(world)
    assert_duckdb_unchanged(world, cursor, before)


def assert_sidebar_defaults(at: AppTest) -> None:
    """Hostile values for option widgets are not options: every filter is back at 'all'."""
    for key in ("channel", "region", "category", "tier"):
        assert at.multiselect(key=key).value == [], key
    assert at.segmented_control(key="grain").value == "month"
    assert at.date_input(key="as_of").value == AS_OF


@pytest.mark.parametrize("hostile", SEARCH_SAMPLE, ids=[f"{value[:12]!r}" for value in SEARCH_SAMPLE])
def test_hostile_url_parameters_on_the_satisfaction_page(world, app_database, masked_comments, hostile):
    params = {key: hostile for key in SIDEBAR_PARAMETERS + PAGE_PARAMETERS["satisfaction"]}
    at = run_app("satisfaction", params)
    assert_app_clean(at, world, app_database, hostile)
    assert_sidebar_defaults(at)
    assert at.selectbox(key="kind").value == "all"
    assert at.segmented_control(key="satisfaction_by").value == "touchpoint"
    assert at.slider(key="score").value == (0, 10)
    search = at.text_input(key="q").value
    assert search == hostile[:200], "the search box holds the text as typed (cut to its 200 characters)"
    expected = literal_matches(masked_comments, search)
    captions = [caption.value for caption in at.caption if "comments match" in caption.value]
    if expected:
        assert captions and captions[0].startswith(f"{expected:,} comments match"), captions
    else:
        assert not captions
        assert any(info.value.startswith("No comment matches") for info in at.info)


@pytest.mark.parametrize("hostile", PAGE_SAMPLE, ids=[f"{value[:12]!r}" for value in PAGE_SAMPLE])
@pytest.mark.parametrize("page_name", ("repeat", "cohorts", "churn", "reasons"))
def test_hostile_url_parameters_on_pages(world, app_database, page_name, hostile):
    params = {key: hostile for key in SIDEBAR_PARAMETERS + PAGE_PARAMETERS[page_name]}
    at = run_app(page_name, params)
    assert_app_clean(at, world, app_database, hostile)
    assert_sidebar_defaults(at)
    if page_name == "repeat":
        assert at.segmented_control(key="breakdown").value == "acquisition_channel"
        repeat_rate = [metric.value for metric in at.metric if metric.label == "Repeat rate"]
        unfiltered = run_query(world["cursor"], "kpis", **VALID_DEFAULTS)["repeat_rate"].iloc[0]
        assert repeat_rate == [figures.format_percent(unfiltered)], "hostile filters are dropped: page unfiltered"
    elif page_name == "cohorts":
        assert at.segmented_control(key="measure").value == "customers"
        assert at.segmented_control(key="activity").value == "did not order"
        cohort = at.selectbox(key="cohort")  # a real cohort was picked (options are shown as "Sep 2026")
        assert cohort.index is not None and cohort.options[cohort.index] == cohort.format_func(cohort.value)
    elif page_name == "reasons":
        assert [at.segmented_control(key=key).value for key in ("why_by", "why_texts", "why_score", "why_per")] == [
            "ticket_category", "any", "nps", "touchpoint"], "the page's switches are back at their defaults"
    else:
        assert at.multiselect(key="state").value == ["slipping"], "the win-back rules are back at their defaults"
        assert at.multiselect(key="risk").value == [] and at.multiselect(key="complaint_category").value == []
        assert at.multiselect(key="rfm").value == [] and at.multiselect(key="nps").value == []
        assert at.checkbox(key="consent").value is True and at.number_input(key="holdout").value == 10
        assert at.number_input(key="days_min").value is None and at.number_input(key="value_max").value is None


# Numbers in the URL that no number box can hold. Streamlit drops what is out of range, but its integer
# number_input turns the text into an int first, and int(float("inf")) raises OverflowError, an exception its
# URL binding does not catch (it catches ValueError, TypeError, IndexError): the page crashes.
NUMBER_PARAMETERS = {"cohorts": ("period", "k"),
                     "churn": ("days_min", "days_max", "value_min", "value_max", "holdout", "seed")}
NUMBER_SAMPLE = ("inf", "-1e309")


@pytest.mark.parametrize("hostile", NUMBER_SAMPLE)
@pytest.mark.parametrize("page_name", NUMBER_PARAMETERS)
def test_numbers_a_number_box_cannot_hold_are_dropped(world, app_database, page_name, hostile):
    at = run_app(page_name, {key: hostile for key in NUMBER_PARAMETERS[page_name]})
    assert_app_clean(at, world, app_database, hostile)
    for key in NUMBER_PARAMETERS[page_name]:
        value = at.number_input(key=key).value
        assert value is None or (value == value and abs(value) < 10**6), f"{key} holds {value!r}"
