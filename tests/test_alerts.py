"""Alert rules: the `alerts` command's lines and exit codes on a planted NPS drop, on no drop, on bad rules and on
an orders-only export; and the weekly history the change rules compare with is the report a week earlier."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date, timedelta

import pandas as pd
import pytest

from dashboard import alerts, cli, demo
from dashboard.filters import Filters, Segment
from dashboard.metrics import WEEKLY_HISTORY, contract_metrics, weekly_history
from tests.conftest import FIXED_NOW
from tests.exports import write_table

AS_OF = date(2024, 6, 30)
RULES = """
[[alerts]]
name = "NPS fell"
metric = "nps_90d"
change = "last week"
comparison = "<"
threshold = -10

[[alerts]]
name = "NPS low"
metric = "nps_90d"
comparison = "<"
threshold = 25

[[alerts]]
name = "Gold NPS fell"
metric = "nps_90d"
change = "last week"
comparison = "<="
threshold = -10
segment = { tier = "gold" }

[[alerts]]
name = "No orders"
metric = "orders_7d"
comparison = "<"
threshold = 1
"""


def survey_rows(scores: list[int], start: str, customers: list[str], prefix: str) -> list[dict]:
    """One NPS response per score, a day apart from start, cycling over the customers."""
    first = pd.Timestamp(start)
    return [{"response_id": f"{prefix}{index}", "customer_id": customers[index % len(customers)],
             "submitted_at": first + pd.Timedelta(days=index), "kind": "nps", "score": score}
            for index, score in enumerate(scores)]


def write_exports(data_dir, last_week_scores: list[int]):
    """Ten customers (five gold, five silver) ordering every week; 20 NPS answers 30-50 days before the as-of
    date (10 promoters, 10 passives: NPS 50) and the given answers from gold customers in the last 7 days."""
    customers = [f"c{number}" for number in range(10)]
    gold = customers[:5]
    orders = [{"order_id": f"o{number}-{week}", "customer_id": customer,
               "ordered_at": pd.Timestamp(AS_OF) - pd.Timedelta(days=7 * week) + pd.Timedelta(hours=10),
               "revenue": 50.0}
              for number, customer in enumerate(customers) for week in range(30)]
    write_table(data_dir, "orders", orders)
    write_table(data_dir, "customers", {"customer_id": customers,
                                        "loyalty_tier": ["gold"] * 5 + ["silver"] * 5})
    before = survey_rows([10] * 10 + [8] * 10, str(AS_OF - timedelta(days=50)), customers, "b")
    recent = survey_rows(last_week_scores, str(AS_OF - timedelta(days=5)), gold, "r")
    write_table(data_dir, "surveys", before + recent)
    return data_dir


@pytest.fixture
def settings_file(tmp_path, monkeypatch):
    """A dashboard.toml with the given rules, used by the command line through DASHBOARD_SETTINGS."""

    def _write(text: str):
        path = tmp_path / "dashboard.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        monkeypatch.setenv("DASHBOARD_SETTINGS", str(path))
        monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
        return path

    return _write


def run_alerts(capsys, data_dir, as_of: date = AS_OF) -> tuple[int, list[str], str]:
    code = cli.main(["alerts", "--data", str(data_dir), "--as-of", as_of.isoformat()])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_a_planted_nps_drop_fires_its_rules_and_exits_1(tmp_path, settings_file, capsys):
    data_dir = write_exports(tmp_path / "drop", [0] * 5)  # NPS 50 -> (10 - 5) / 25 = 20: 30 points down
    settings_file(RULES)
    code, lines, err = run_alerts(capsys, data_dir)
    assert code == 1
    assert lines == [
        "ALERT NPS fell: nps_90d change vs last week -30 < -10 (all customers)",
        "ALERT NPS low: nps_90d 20 < 25 (all customers)",
        # gold: 5 promoters + 5 passives (NPS 50) then 5 detractors: (5 - 5) / 15 = 0
        "ALERT Gold NPS fell: nps_90d change vs last week -50 <= -10 (tier: gold)",
    ]
    assert "4 alert rules checked as of 2024-06-30: 3 fired" in err
    assert "Traceback" not in err


def test_no_drop_fires_nothing_and_exits_0(tmp_path, settings_file, capsys):
    data_dir = write_exports(tmp_path / "steady", [10] * 5)  # promoters: NPS 50 -> 60
    settings_file(RULES)
    code, lines, err = run_alerts(capsys, data_dir)
    assert (code, lines) == (0, [])
    assert "4 alert rules checked as of 2024-06-30: 0 fired" in err


def test_a_week_before_the_drop_nothing_fires(tmp_path, settings_file, capsys):
    data_dir = write_exports(tmp_path / "drop", [0] * 5)
    settings_file(RULES)
    code, lines, _ = run_alerts(capsys, data_dir, AS_OF - timedelta(days=7))
    assert (code, lines) == (0, [])


def test_outcomes_carry_the_numbers_the_lines_print(tmp_path, open_database):
    data_dir = write_exports(tmp_path / "drop", [0] * 5)
    database = open_database(data_dir)
    rule = alerts.parse_rule({"name": "n", "metric": "nps_90d", "change": "last week", "comparison": "<",
                              "threshold": -10}, 1)
    outcome, = alerts.evaluate(database, AS_OF, [rule])
    assert (outcome.value, outcome.earlier, outcome.observed, outcome.fired) == (20.0, 50.0, -30.0, True)
    assert outcome.sentence() == ("NPS (90 days) changed −30.0 pts vs last week (50.0 → 20.0): "
                                  "rule “n” (change < −10.0 pts, all customers).")
    relative = alerts.parse_rule({"name": "r", "metric": "nps_90d", "change": "last week", "relative": True,
                                  "comparison": "<", "threshold": -0.5}, 1)
    outcome, = alerts.evaluate(database, AS_OF, [relative])
    assert outcome.observed == pytest.approx(-0.6) and outcome.fired
    assert outcome.line() == "ALERT r: nps_90d relative change vs last week -0.6 < -0.5 (all customers)"


@pytest.mark.parametrize(
    "rule, message",
    [
        ('metric = "nps"\ncomparison = "<"\nthreshold = 1', "alert rule 'bad': metric 'nps' is not a number of the"),
        ('metric = "nps_90d"\ncomparison = "less"\nthreshold = 1', "alert rule 'bad': comparison must be one of"),
        ('metric = "nps_90d"\ncomparison = "<"', "alert rule 'bad': threshold is missing"),
        ('metric = "nps_90d"\ncomparison = "<"\nthreshold = "ten"', "alert rule 'bad': threshold must be a number"),
        ('metric = "customers"\nchange = "last week"\ncomparison = "<"\nthreshold = 1',
         "alert rule 'bad': customers has no weekly history"),
        ('metric = "nps_90d"\nchange = "yesterday"\ncomparison = "<"\nthreshold = 1',
         "alert rule 'bad': change must be \"last week\" or \"4 weeks ago\""),
        ('metric = "nps_90d"\ncomparison = "<"\nthreshold = 1\nrelative = true', "relative = true needs change"),
        ('metric = "nps_90d"\ncomparison = "<"\nthreshold = 1\nsegment = { colour = "red" }',
         "alert rule 'bad': segment key 'colour' is not one of channel, region, category, tier"),
        ('metric = "nps_90d"\ncomparison = "<"\nthreshold = 1\nsegment = { tier = "platinum" }',
         "alert rule 'bad': no customer has tier platinum (values in the data: gold, silver)"),
        ('metric = "nps_90d"\ncomparison = "<"\nthreshold = 1\nseverity = "high"', "unknown setting(s) severity"),
    ],
)
def test_a_bad_rule_exits_2_naming_the_rule(tmp_path, settings_file, capsys, rule, message):
    data_dir = write_exports(tmp_path / "drop", [0] * 5)
    settings_file(RULES + f'\n[[alerts]]\nname = "bad"\n{rule}\n')
    code, lines, err = run_alerts(capsys, data_dir)
    assert code == 2 and lines == []
    assert message in err and "Traceback" not in err


def test_rule_without_a_name_and_duplicate_names_are_bad_rules(tmp_path, settings_file, capsys):
    data_dir = write_exports(tmp_path / "drop", [0] * 5)
    settings_file(RULES + '\n[[alerts]]\nmetric = "orders_7d"\ncomparison = "<"\nthreshold = 1\n')
    code, _, err = run_alerts(capsys, data_dir)
    assert code == 2 and "alert rule #5 has no name" in err
    settings_file(RULES + '\n[[alerts]]\nname = "NPS low"\nmetric = "orders_7d"\ncomparison = "<"\nthreshold = 1\n')
    code, _, err = run_alerts(capsys, data_dir)
    assert code == 2 and "alert rule 'NPS low' is defined twice" in err


def test_alerts_as_a_non_table_is_a_settings_error(tmp_path, settings_file, capsys):
    data_dir = write_exports(tmp_path / "drop", [0] * 5)
    settings_file('alerts = "nps below 30"\n')
    code, _, err = run_alerts(capsys, data_dir)
    assert code == 2 and "alerts must be a list of [[alerts]] tables" in err


def test_no_rules_exits_0_and_says_so(tmp_path, settings_file, capsys):
    data_dir = write_exports(tmp_path / "drop", [0] * 5)
    settings_file("")
    code, lines, err = run_alerts(capsys, data_dir)
    assert (code, lines) == (0, []) and "no alert rules" in err


def test_orders_only_export_checks_order_rules_and_says_which_cannot_be_checked(tmp_path, settings_file, capsys):
    data_dir = write_exports(tmp_path / "drop", [0] * 5)
    (data_dir / "surveys.parquet").unlink()
    settings_file(RULES.replace('segment = { tier = "gold" }', "") + textwrap.dedent("""
        [[alerts]]
        name = "Quiet week"
        metric = "orders_7d"
        comparison = "<="
        threshold = 10
        """))
    code, lines, err = run_alerts(capsys, data_dir)
    assert code == 1
    assert lines == ["ALERT Quiet week: orders_7d 10 <= 10 (all customers)"]  # ten customers, one order each
    assert "not checked: NPS fell: nps_90d has no value (no NPS responses in the 90 days) as of 2024-06-30" in err
    assert "not checked: NPS low: nps_90d has no value" in err


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    from dashboard.model import Database
    from dashboard.settings import load_settings

    data_dir = tmp_path_factory.mktemp("alerts") / "demo"
    demo.generate(data_dir, customers=2_000, seed=5)
    settings = load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path_factory.mktemp("state"))
    return Database.open(settings, now=FIXED_NOW)


@pytest.mark.parametrize("filters", [Filters(), Filters(Segment(tiers=("gold",))), Filters(Segment(channels=("email", "referral")))])
def test_week_k_of_the_history_is_the_report_as_of_k_weeks_earlier(demo_database, filters):
    """What a change rule compares with: week k of weekly_history equals the JSON report of as_of - 7k days."""
    as_of = demo_database.default_as_of()
    history = weekly_history(demo_database.cursor(as_of), filters, weeks=5)
    for weeks_back in (0, 1, 4):
        earlier = contract_metrics(demo_database.cursor(as_of - timedelta(days=7 * weeks_back)), filters)
        for key in WEEKLY_HISTORY:
            expected, actual = earlier[key], history.loc[weeks_back, key]
            if expected is None:
                assert pd.isna(actual), (weeks_back, key)
            else:
                assert actual == pytest.approx(expected, rel=1e-9, abs=1e-6), (weeks_back, key)


def test_the_overview_shows_the_fired_rules_first(tmp_path, settings_file, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    data_dir = write_exports(tmp_path / "drop", [0] * 5)
    settings_file(RULES)
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    app = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
    at = AppTest.from_file(app, default_timeout=180)
    at.query_params["as_of"] = AS_OF.isoformat()
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    banner, = [error.value for error in at.error]
    assert banner.startswith("**3 of 4 alert rules fired as of 30 Jun 2024**")
    assert ("NPS (90 days) changed −30.0 pts vs last week (50.0 → 20.0): rule “NPS fell” "
            "(change < −10.0 pts, all customers).") in banner
    assert "rule “Gold NPS fell” (change <= −10.0 pts, Tier: Gold)" in banner
    assert "No orders" not in banner

    settings_file(RULES + '\n[[alerts]]\nname = "bad"\nmetric = "nps"\ncomparison = "<"\nthreshold = 1\n')
    at = AppTest.from_file(app, default_timeout=180)
    at.query_params["as_of"] = AS_OF.isoformat()
    at.run()
    assert not at.exception
    assert any("The alert rules could not be checked: alert rule 'bad': metric 'nps'" in warning.value
               for warning in at.warning)
    assert at.metric, "the rest of the review still renders"
