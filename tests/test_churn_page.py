"""The churn page, run headless on small demo exports: it renders the lifecycle states and the list, the URL restores
the win-back rules, the counts shown are the counts of the customer_scores rows those rules match, one click on a
group makes it the list, the campaign file holds exactly the opted-in matches minus the holdout (the same bytes
as the command line's), every row has a reason, and e-mails follow the user's role."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from dashboard import churn, demo, lifecycle, winback
from dashboard.cli import main
from dashboard.model import Database
from dashboard.settings import load_settings
from tests.exports import server_state

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
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(demo_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    monkeypatch.delenv("DASHBOARD_SHOW_PII", raising=False)
    monkeypatch.delenv("DASHBOARD_DEFAULT_ROLE", raising=False)
    monkeypatch.delenv("DASHBOARD_TIMEZONE", raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def table(demo_dir, tmp_path_factory) -> pd.DataFrame:
    """customer_scores at the as-of date, read straight from DuckDB (the page's source of truth)."""
    settings = load_settings(environ={}, data_dir=demo_dir, state_dir=tmp_path_factory.mktemp("state"))
    cursor = Database.open(settings).cursor(AS_OF)
    churn.model_info(cursor)
    return cursor.execute("select * from customer_scores").df()


def churn_page(query_params: dict | None = None) -> AppTest:
    """The churn page opened with a URL query (the sidebar's filters are read on the first run)."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page("dashboard/pages/churn.py")
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    return at.run()


def metric(at: AppTest, label: str) -> str:
    values = [element.value for element in at.metric if element.label == label]
    assert len(values) == 1, f"no single metric {label!r}"
    return values[0]


def money(value: float) -> str:
    return f"${value:,.0f}" if value >= 1000 else f"${value:,.2f}"


def list_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["value_at_stake_365d", "revenue", "customer_id"], ascending=[False, False, True])


def test_page_renders_the_states_the_list_and_the_backtest(app_env, table):
    at = churn_page()
    assert not at.exception
    assert not at.error
    for state in lifecycle.STATES:  # one tile per state, counted like the table
        assert metric(at, lifecycle.STATE_LABELS[state]) == f"{(table.lifecycle_state == state).sum():,}"
    slipping = table[table.lifecycle_state == "slipping"]
    assert metric(at, "Customers in the list") == f"{len(slipping):,}"  # default rule: slipping
    assert metric(at, "Value at stake (365 days)") == money(slipping.value_at_stake_365d.sum())
    assert metric(at, "Predicted value, next 365 days") == money(slipping.predicted_clv_365d.sum())
    assert metric(at, "Lifetime revenue") == money(slipping.revenue.sum())
    keys = {element.key for element in at.get("plotly_chart")}
    assert {"rfm_grid", "lifecycle_by_rfm", "risk_distribution", "backtest_auc", "backtest_calibration"} <= keys
    assert float(metric(at, "AUC, churn risk")) > float(metric(at, "AUC, days since last order"))
    assert len(at.dataframe) == 1
    shown = at.dataframe[0].value
    assert len(shown) == 50  # one page, never the whole list
    assert shown["Customer"].tolist() == list_order(slipping).customer_id.head(50).tolist()
    assert shown["E-mail (masked)"].str.fullmatch(r"[^@*]\*\*\*@[\w.-]+").all()  # masked without the PII setting
    assert (shown["Why this customer"].str.len() > 0).all()
    assert any("marketing** role sees" in caption.value for caption in at.caption)


def test_url_restores_the_rules_and_the_count_matches_sql(app_env, table):
    at = churn_page({"state": ["Slipping", "Lapsed"], "rfm": "Loyal", "days_min": "100", "opt_in": "Yes"})
    assert not at.exception
    assert at.multiselect(key="state").value == ["slipping", "lapsed"]
    assert at.multiselect(key="rfm").value == ["Loyal"]
    assert at.number_input(key="days_min").value == 100
    assert at.segmented_control(key="opt_in").value == "yes"
    expected = table[
        table.lifecycle_state.isin(["slipping", "lapsed"]) & (table.rfm_segment == "Loyal")
        & (table.days_since_last_order >= 100) & table.is_marketing_opt_in
    ]
    assert len(expected) > 0
    assert metric(at, "Customers in the list") == f"{len(expected):,}"
    assert metric(at, "Lifetime revenue") == money(expected.revenue.sum())


def test_one_click_on_a_state_makes_it_the_list(app_env, table):
    at = churn_page({"rfm": "Loyal"})
    at.button(key="list_one_time").click().run()
    assert not at.exception
    assert at.multiselect(key="state").value == ["one_time"] and at.multiselect(key="rfm").value == []
    assert metric(at, "Customers in the list") == f"{(table.lifecycle_state == 'one_time').sum():,}"


def test_silent_unhappy_rules(app_env, table):
    at = churn_page({"state": "", "nps": "Detractor", "complained": "No"})
    assert not at.exception
    expected = table[(table.latest_nps_category == "detractor") & ~table.has_complained]
    assert len(expected) > 0
    assert metric(at, "Customers in the list") == f"{len(expected):,}"


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


def test_campaign_file_holds_the_opted_in_matches_minus_the_holdout(app_env, tmp_path, table, downloads):
    app_env.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))  # the campaign record written here alone
    at = churn_page({"state": ["Slipping", "One-time buyer"], "rfm": ["Loyal", "Potential loyalists",
                                                                             "Promising"]})
    assert not at.exception
    button = at.get("download_button")
    assert [item.key for item in button] == ["winback_download", "winback_description"]
    assert button[0].proto.deferred_file_id  # nothing built until it is clicked
    name = "winback-slipping-one-time-loyal-potential-loyalists-promising-2026-11-15.csv"
    assert name in downloads and name.replace(".csv", ".json") in downloads
    text = downloads[name]()  # what a click serves
    written = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    matches = table[table.lifecycle_state.isin(["slipping", "one_time"])
                    & table.rfm_segment.isin(["Loyal", "Potential loyalists", "Promising"])]
    opted_in = matches[matches.is_marketing_opt_in]
    assert 0 < len(opted_in) < len(matches)
    record = json.loads(next((tmp_path / "state" / "campaigns").glob("*.json")).read_text())
    holdout = {member["customer_id"] for member in record["members"] if member["group"] == "holdout"}
    treatment = {member["customer_id"] for member in record["members"] if member["group"] == "treatment"}
    assert holdout | treatment == set(opted_in.customer_id) and not holdout & treatment
    for state, members in opted_in.groupby("lifecycle_state"):  # 10% of each state, rounded
        assert len(holdout & set(members.customer_id)) == int(0.1 * len(members) + 0.5), state
    assert set(written["Customer ID"]) == treatment  # opted-out and held-out customers are not in the file
    assert written["Customer ID"].tolist() == list_order(opted_in[opted_in.customer_id.isin(treatment)]).customer_id.tolist()
    assert (written["Why this customer"].str.len() > 10).all()  # a reason on every row
    assert written["Marketing opt-in"].eq("Yes").all()
    assert written["E-mail (masked)"].str.fullmatch(r"[^@*]\*\*\*@[\w.-]+").all()
    assert written["Chance still a customer"].str.fullmatch(r"(\d{1,2}|100|<1|>99)%").all()
    assert written["Value at stake, next 365 days ($)"].str.fullmatch(r"\d+\.\d{2}").all()
    assert written["Last order"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert not written.isin(["None", "nan", "NaN", "NaT"]).any().any()
    description = json.loads(downloads[name.replace(".csv", ".json")]())
    assert description["customers_matching"] == len(matches)
    assert description["excluded_without_marketing_opt_in"] == len(matches) - len(opted_in)
    assert description["customers_in_file"] == len(written) and description["holdout"]["customers"] == len(holdout)
    assert "marketing role" in description["emails"]
    audit = (tmp_path / "state").rglob("*")
    assert any(path.is_file() and name in path.read_text(encoding="utf-8", errors="ignore") for path in audit)


def test_unticking_opt_in_keeps_everyone_and_no_holdout_keeps_everyone_in_the_file(app_env, table, downloads):
    at = churn_page({"state": "Slipping", "consent": "false", "holdout": "0"})
    assert not at.exception
    written = pd.read_csv(io.StringIO(downloads["winback-slipping-2026-11-15.csv"]()), dtype=str)
    assert set(written["Customer ID"]) == set(table[table.lifecycle_state == "slipping"].customer_id)


def test_command_line_writes_the_same_bytes_as_the_page(app_env, demo_dir, tmp_path, downloads, capsys):
    query = {"state": ["Slipping", "Lapsed"], "rfm": ["Loyal", "Champions"], "holdout": "15", "seed": "42",
             "channel": "email"}
    at = churn_page(query)
    assert not at.exception
    assert at.multiselect(key="channel").value == ["email"]
    name = "winback-slipping-lapsed-loyal-champions-2026-11-15.csv"
    from_page = downloads[name]().encode("utf-8")
    out = tmp_path / "cli" / "list.csv"
    assert main(["winback", "--data", str(demo_dir), "--rules", urlencode(query, doseq=True),
                 "--out", str(out)]) == 0
    assert out.read_bytes() == from_page
    assert json.loads(out.with_suffix(".json").read_text())["holdout"]["seed"] == 42
    assert "e-mails are masked" in capsys.readouterr().err
    # the whole URL works too, and values instead of labels
    assert main(["winback", "--data", str(demo_dir), "--rules",
                 "http://localhost:8501/churn?state=slipping&state=lapsed&rfm=Loyal&rfm=Champions&holdout=15&seed=42"
                 "&channel=email&grain=week", "--out", str(tmp_path / "again.csv")]) == 0
    assert (tmp_path / "again.csv").read_bytes() == from_page


def test_marketing_role_sees_real_emails(app_env, table, downloads):
    app_env.setenv("DASHBOARD_SHOW_PII", "1")
    at = churn_page({"state": "Active", "rfm": "Champions"})
    assert not at.exception
    shown = at.dataframe[0].value
    emails = table.set_index("customer_id").loc[shown["Customer"], "email"]
    assert shown["E-mail"].tolist() == emails.tolist()
    written = pd.read_csv(io.StringIO(downloads["winback-active-champions-2026-11-15.csv"]()))
    assert written["E-mail"].str.contains("@").all() and not written["E-mail"].str.contains(r"\*\*\*").any()


def test_viewer_role_sees_counts_but_no_customers(app_env, table):
    app_env.setenv("DASHBOARD_DEFAULT_ROLE", "viewer")
    at = churn_page()
    assert not at.exception
    assert metric(at, "Customers in the list") == f"{(table.lifecycle_state == 'slipping').sum():,}"
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


def test_orders_only_export_disables_rules_it_cannot_serve(monkeypatch, tmp_path, demo_dir):
    """Only orders: no NPS, complaint, return or opt-in rules, nobody left out for opt-in, a warning to check
    consent."""
    only = tmp_path / "orders-only"
    only.mkdir()
    (only / "orders").symlink_to(demo_dir / "orders")
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(only))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = churn_page()
    assert not at.exception
    assert at.multiselect(key="nps").proto.disabled and at.segmented_control(key="complained").proto.disabled
    assert at.segmented_control(key="returned").proto.disabled and at.checkbox(key="consent").proto.disabled
    assert any("Check consent before sending" in warning.value for warning in at.warning)


def test_holdout_split_is_reproducible_and_balanced_across_states():
    frame = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(1000)],
                          "lifecycle_state": ["slipping"] * 600 + ["one_time"] * 333 + ["lapsed"] * 67})
    first = winback.holdout_split(frame, 0.1, 7)
    again = winback.holdout_split(frame.sample(frac=1.0, random_state=3), 0.1, 7).sort_index()
    assert first.tolist() == again.tolist()  # the same customers and seed, in any row order
    assert first.tolist() != winback.holdout_split(frame, 0.1, 8).tolist()
    held = frame[first == "holdout"].groupby("lifecycle_state").size().to_dict()
    assert held == {"slipping": 60, "one_time": 33, "lapsed": 7}
    assert (winback.holdout_split(frame, 0.0, 7) == "treatment").all()


def links_on(page: str) -> dict[str, str]:
    """label -> query string of every link to the churn page on a page of the app."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.switch_page(f"dashboard/pages/{page}.py")
    at.run()
    assert not at.exception
    return {link.proto.label: link.proto.query_string for link in at.get("page_link") if link.proto.page == "churn"}


def expected_from(table: pd.DataFrame, query: dict) -> pd.DataFrame:
    """The customer_scores rows a link's rules select, in pandas."""
    keep = pd.Series(True, index=table.index)
    states = [state for state in lifecycle.STATES if lifecycle.STATE_LABELS[state] in query.get("state", [])]
    if states:
        keep &= table.lifecycle_state.isin(states)
    for key, column in (("complaint", "has_open_complaint"), ("complained", "has_complained"),
                        ("returned", "has_returned")):
        if key in query:
            keep &= table[column] == (query[key][0] == "Yes")
    if "nps" in query:
        keep &= table.latest_nps_category.isin([value.lower() for value in query["nps"]])
    return table[keep]


def test_every_care_group_opens_its_customer_list(app_env, table):
    """The care page's cards and sections link to the churn page's list of exactly their customers: open
    complaints, complainers, returners, detractors and the silent unhappy (detractors who never complained)."""
    from urllib.parse import parse_qs

    links = links_on("care")
    assert len(links) >= 5, links
    for label, query_string in links.items():
        query = parse_qs(query_string, keep_blank_values=True)
        expected = expected_from(table, query)
        assert 0 < len(expected) < len(table), label
        at = churn_page({key: values if len(values) > 1 else values[0] for key, values in query.items()})
        assert not at.exception
        assert metric(at, "Customers in the list") == f"{len(expected):,}", label


def test_overview_lifecycle_cards_open_each_states_list(app_env, table):
    from urllib.parse import parse_qs

    links = links_on("overview")
    assert len(links) == len(lifecycle.STATES)
    for query_string in links.values():
        query = parse_qs(query_string)
        expected = expected_from(table, query)
        at = churn_page({"state": query["state"][0]})
        assert metric(at, "Customers in the list") == f"{len(expected):,}"
        assert at.multiselect(key="state").value == [state for state in lifecycle.STATES
                                                     if lifecycle.STATE_LABELS[state] == query["state"][0]]


def test_a_movement_cell_opens_its_list(app_env, demo_dir, tmp_path):
    """The rules a click on the movement matrix sets (where they were 4 weeks ago, where they are now) restore from
    the URL and count the cell's customers, as churn_movements.sql counts them."""
    settings = load_settings(environ={}, data_dir=demo_dir, state_dir=tmp_path / "cell")
    cells = churn.movements(Database.open(settings).cursor(AS_OF), 28, "lifecycle_state")
    cell = cells[(cells.previous_value == "slipping") & (cells.current_value == "lapsed")]
    assert len(cell) == 1
    at = churn_page({"movement_days": "4 weeks ago"})
    assert not at.exception
    assert [element.key for element in at.get("plotly_chart")].count("movement_matrix") == 1
    at = churn_page({"since": "4 weeks ago", "from_state": "Slipping", "state": "Lapsed"})
    assert not at.exception
    assert at.segmented_control(key="since").value == 28
    assert at.multiselect(key="from_state").value == ["slipping"]
    assert metric(at, "Customers in the list") == f"{int(cell.customers.iloc[0]):,}"
    rules = churn.WinbackRules.from_query(parse_qs("since=4+weeks+ago&from_state=Slipping&state=Lapsed"))
    assert (rules.moved_days, rules.previous_states, rules.states) == (28, ("slipping",), ("lapsed",))
