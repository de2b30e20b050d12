"""Issue 15: real exports that broke in more ways. Never a silently wrong number, never all-or-nothing.

Each test names the numbered point of the issue it proves. The broken exports and their clean twins are entries of
the generated corpus (tests/broken_exports.py), so ``validate`` is also checked line by line on each of them by
tests/test_validate_cli.py; the tests here check the numbers and the commands' exit codes.
"""

from __future__ import annotations

from datetime import date

import pytest

from dashboard import cli
from dashboard.metrics import contract_metrics
from tests.broken_exports import (  # noqa: F401 (fixtures)
    SIGNED_TEXT_AMOUNTS,
    broken_export,
    open_checked,
    validate_environment,
)

LATE_AS_OF = date(2024, 12, 31)


def run_cli(capsys, *arguments: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``python -m dashboard <arguments>`` run in this process."""
    code = cli.main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def column(database, sql: str) -> list:
    return [row[0] for row in database.connection.execute(sql).fetchall()]


# Point 3: text numbers with a minus sign, an en dash, or accounting parentheses are negative.


def test_amounts_written_with_a_minus_sign_dash_or_parentheses_are_negative(broken_export, open_checked):
    database = open_checked(broken_export("revenue_with_written_signs"))
    assert column(database, "select revenue from orders order by order_id") == [
        value for _, value in SIGNED_TEXT_AMOUNTS
    ]
    assert contract_metrics(database.cursor(LATE_AS_OF))["revenue"] < 0


def test_amounts_written_without_a_sign_stay_positive(broken_export, open_checked):
    database = open_checked(broken_export("revenue_text_positive"))
    assert column(database, "select revenue from orders order by order_id") == [12.5, 1234.5, 12.0, 1234.5, 7.0,
                                                                                   15.0]
    assert database.findings() == []


# Point 4: "9/10" is read as 9 and "0/10" as 0 (a detractor), never as 910 or 10.


def test_scores_written_as_fractions_are_read_on_their_surveys_scale(broken_export, open_checked):
    database = open_checked(broken_export("nps_as_fraction_text"))
    assert database.connection.execute("select response_id, score from surveys order by response_id").fetchall() == [
        ("s1", 9.0), ("s2", 0.0), ("s3", 4.0), ("s4", 10.0), ("s5", None), ("s6", None)
    ]
    cursor = database.cursor(LATE_AS_OF)
    categories = cursor.execute(
        "select response_id, nps_category from valid_surveys where kind = 'nps' order by response_id").fetchall()
    assert categories == [("s1", "promoter"), ("s2", "detractor"), ("s4", "promoter")]


def test_scores_written_as_plain_text_are_read(broken_export, open_checked):
    database = open_checked(broken_export("nps_as_plain_text"))
    assert column(database, "select score from surveys order by response_id") == [9.0, 6.0, 4.0]
    assert database.findings() == []


# Point 6: two contract columns mapped to one source column: an ERROR naming both, and no report.


def test_two_columns_mapped_to_one_source_column_are_refused(broken_export, validate_environment, capsys, tmp_path):
    data_dir = broken_export("mapping_same_source_twice")
    code, _, err = run_cli(capsys, "report", "--data", str(data_dir), "--out", str(tmp_path / "r.json"))
    assert code == 2
    assert err.splitlines() == [
        "error: cannot build the report: orders: mapping.toml maps order_id and customer_id to the same column "
        "'Name': one column cannot be both, so neither is read; table not used (6 rows)"
    ]
    assert not (tmp_path / "r.json").exists()


def test_a_mapping_with_one_column_each_and_a_byte_order_mark_is_read(broken_export, open_checked):
    """Point 12 too: the mapping.toml of this clean twin starts with a UTF-8 byte order mark."""
    database = open_checked(broken_export("mapping_with_bom"))
    assert database.findings() == []
    metrics = contract_metrics(database.cursor(LATE_AS_OF))
    assert (metrics["customers"], metrics["orders"], metrics["revenue"]) == (3, 5, 290.5)


# Point 7: no usable order: report, scores, prepare and backtest refuse in one line instead of all-zero metrics.

REFUSING_COMMANDS = {
    "report": ["--out", "{out}"],
    "scores": ["--out", "{out}"],
    "prepare": [],
    "backtest": ["--cutoff", "2024-02-15", "--horizon-days", "30"],
}


@pytest.mark.parametrize("name", ["no_usable_order", "revenue_as_a_list", "boolean_revenue"])
@pytest.mark.parametrize("command", REFUSING_COMMANDS)
def test_without_a_usable_order_every_command_refuses_in_one_line(name, command, broken_export, validate_environment,
                                                                   capsys, tmp_path):
    """boolean_revenue is point 12: true/false read as 1/0 made a revenue of 3.0."""
    out = tmp_path / "out.csv"
    arguments = [part.format(out=out) for part in REFUSING_COMMANDS[command]]
    code, stdout, err = run_cli(capsys, command, "--data", str(broken_export(name)), *arguments)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot "), err
    assert {"no_usable_order": "cannot be read as a timestamp", "revenue_as_a_list": "holds lists, not a number",
            "boolean_revenue": "holds true/false, not a number"}[name] in lines[0]
    assert stdout == "" and not out.exists()
    assert not list((tmp_path / "state" / "snapshots").glob("*.duckdb"))


@pytest.mark.parametrize("command", REFUSING_COMMANDS)
def test_with_usable_orders_every_command_runs(command, broken_export, validate_environment, capsys, tmp_path):
    out = tmp_path / "out.csv"
    arguments = [part.format(out=out) for part in REFUSING_COMMANDS[command]]
    code, _, err = run_cli(capsys, command, "--data", str(broken_export("clean")), *arguments)
    assert code == 0, err
