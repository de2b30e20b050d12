"""The churn page, run headless on small demo exports: it renders, the URL restores the win-back rules, the count
shown is the count of the customer_scores rows those rules match, the CSV download holds exactly them, and
e-mails follow the user's role."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from dashboard import churn, demo
from dashboard.model import Database
from dashboard.settings import load_settings

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"
AS_OF = date(2026, 11, 15)  # the demo's last day: the default as-of date


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("churn_page") / "exports"
    demo.generate(data_dir, customers=3000, seed=7)
    return data_dir


@pytest.fixture
def app_env(monkeypatch, tmp_path, demo_dir):
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(demo_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    monkeypatch.delenv("DASHBOARD_SHOW_PII", raising=False)
    monkeypatch.delenv("DASHBOARD_DEFAULT_ROLE", raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def table(demo_dir, tmp_path_factory) -> pd.DataFrame:
    """customer_scores at the as-of date, read straight from DuckDB (the page's source of truth)."""
    settings = load_settings(environ={}, data_dir=demo_dir, state_dir=tmp_path_factory.mktemp("state"))
    cursor = Database.open(settings).cursor(AS_OF)
    churn.model_info(cursor)
    return cursor.execute("select * from customer_scores").df()


def churn_page(query_params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("dashboard/pages/churn.py")
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    return at.run()


def metric(at: AppTest, label: str) -> str:
    values = [element.value for element in at.metric if element.label == label]
    assert len(values) == 1, f"no single metric {label!r}"
    return values[0]


def screen_table(at, index: int = 0) -> pd.DataFrame:
    """A table as shown, its customer and e-mail columns (headed "Customer", "E-mail ...") by their stored names."""
    frame = at.dataframe[index].value
    names = {column: "customer_id" for column in frame.columns if column == "Customer"}
    names.update({column: "email" for column in frame.columns if str(column).startswith("E-mail")})
    return frame.rename(columns=names)


def test_page_renders_with_its_charts_and_backtest(app_env, table):
    at = churn_page()
    assert not at.exception
    assert not at.error
    high = table[table.risk_band == "high"]
    assert metric(at, "Customers in the list") == f"{len(high):,}"  # default rule: high risk
    keys = {element.key for element in at.get("plotly_chart")}
    assert {"risk_distribution", "rfm_grid", "backtest_auc", "backtest_calibration"} <= keys
    assert float(metric(at, "AUC, churn risk")) > float(metric(at, "AUC, days since last order"))
    assert len(at.dataframe) == 1
    shown = screen_table(at)
    assert len(shown) == 50  # one page, never the whole list
    assert shown.customer_id.tolist() == high.sort_values(["revenue", "customer_id"],
                                                          ascending=[False, True]).customer_id.head(50).tolist()
    assert shown.email.str.fullmatch(r"[^@*]\*\*\*@[\w.-]+").all()  # masked without the PII setting


def test_url_restores_the_rules_and_the_count_matches_sql(app_env, table):
    at = churn_page({"risk": ["high", "medium"], "rfm": "At risk", "days_min": "100", "opt_in": "yes"})
    assert not at.exception
    assert at.multiselect(key="risk").value == ["high", "medium"]
    assert at.multiselect(key="rfm").value == ["At risk"]
    assert at.number_input(key="days_min").value == 100
    assert at.segmented_control(key="opt_in").value == "yes"
    expected = table[
        table.risk_band.isin(["high", "medium"]) & (table.rfm_segment == "At risk")
        & (table.days_since_last_order >= 100) & table.is_marketing_opt_in
    ]
    assert len(expected) > 0
    assert metric(at, "Customers in the list") == f"{len(expected):,}"
    assert metric(at, "Revenue at stake") == f"${expected.revenue.sum():,.0f}"


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """The callables the page hands to st.download_button, by file name (Streamlit runs them on click)."""
    captured = {}
    register = MediaFileManager.add_deferred

    def recording(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        captured[file_name] = data_callable
        return register(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
    return captured


def test_download_is_built_on_click_and_holds_every_matching_customer(app_env, tmp_path, table, downloads):
    at = churn_page({"risk": "high", "rfm": ["At risk", "Can't lose them"]})
    assert not at.exception
    button = at.get("download_button")
    assert len(button) == 1 and button[0].key == "winback_download"
    assert button[0].proto.deferred_file_id  # nothing built until it is clicked
    name = "winback-high-risk-at-risk-cant-lose-them-2026-11-15.csv"
    assert [file for file in downloads if file.startswith("winback-")] == [name]
    written = pd.read_csv(io.StringIO(downloads[name]()))  # what a click serves
    expected = table[(table.risk_band == "high") & table.rfm_segment.isin(["At risk", "Can't lose them"])]
    assert list(written.columns) == list(churn.WINBACK_CSV_COLUMNS)
    assert len(written) == len(expected) > 50  # more than the page shows
    assert sorted(written.customer_id) == sorted(expected.customer_id)
    assert written.revenue.is_monotonic_decreasing
    assert written.email.dropna().str.fullmatch(r"[^@*]\*\*\*@[\w.-]+").all()  # masked
    audit = (tmp_path / "state").rglob("*")
    assert any(path.is_file() and name in path.read_text(encoding="utf-8", errors="ignore") for path in audit)


def test_marketing_role_sees_real_emails(app_env, table, downloads):
    app_env.setenv("DASHBOARD_SHOW_PII", "1")
    at = churn_page({"risk": "high", "rfm": "Champions"})
    assert not at.exception
    shown = screen_table(at)
    emails = table.set_index("customer_id").loc[shown.customer_id, "email"]
    assert shown.email.tolist() == emails.tolist()
    written = pd.read_csv(io.StringIO(downloads["winback-high-risk-champions-2026-11-15.csv"]()))
    assert written.email.str.contains("@").all() and not written.email.str.contains(r"\*\*\*").any()


def test_viewer_role_sees_counts_but_no_customers(app_env, table):
    app_env.setenv("DASHBOARD_DEFAULT_ROLE", "viewer")
    at = churn_page()
    assert not at.exception
    assert metric(at, "Customers in the list") == f"{(table.risk_band == 'high').sum():,}"
    assert len(at.dataframe) == 0 and len(at.get("download_button")) == 0
    assert any("aggregates only" in info.value for info in at.info)


def test_empty_export_explains_instead_of_failing(monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = churn_page()
    assert not at.exception
    assert at.error and "orders" in at.error[0].value
