"""Issue 15: real exports that broke in more ways. Never a silently wrong number, never all-or-nothing.

Each test names the numbered point of the issue it proves. The broken exports and their clean twins are entries of
the generated corpus (tests/broken_exports.py), so ``validate`` is also checked line by line on each of them by
tests/test_validate_cli.py; the tests here check the numbers and the commands' exit codes.
"""

from __future__ import annotations

import json
import re
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


# Point 2: partition folders named like a column of the files never replace the files' values.


def test_partition_folders_named_like_a_column_do_not_replace_its_values(broken_export, open_checked):
    database = open_checked(broken_export("hive_folder_shadows_columns"))
    assert database.connection.execute(
        "select count(distinct customer_id), sum(revenue), min(revenue) from orders").fetchone() == (3, 310.5, 15.0)
    metrics = contract_metrics(database.cursor(LATE_AS_OF))
    assert (metrics["customers"], metrics["revenue"]) == (3, 290.5)


def test_partition_folders_add_a_column_the_files_lack(broken_export, open_checked):
    database = open_checked(broken_export("hive_folder_adds_a_column"))
    assert database.findings() == []
    assert database.connection.execute("select order_id, channel from orders order by order_id").fetchall() == [
        ("o1", "email"), ("o2", "email"), ("o3", "paid_social"), ("o4", "paid_social"), ("o5", "referral"),
        ("o6", "referral"),
    ]


# Point 5: ids are compared as exact text: int64 ids beyond 2**53 beside a float64 file keep every digit.


def test_ids_beyond_float_precision_stay_distinct(broken_export, open_checked):
    from tests.broken_exports import BIG_ID

    database = open_checked(broken_export("ids_beyond_float_precision"))
    ids = column(database, "select distinct customer_id from orders")
    assert len(ids) == 103  # 100 big ids and 1, 2, 3; the float 2**60 is the first big id
    assert {str(BIG_ID + number) for number in range(100)} | {"1", "2", "3"} == set(ids)
    assert column(database, f"select count(*) from orders where customer_id = '{BIG_ID}'") == [2]
    assert contract_metrics(database.cursor(LATE_AS_OF))["customers"] == 103


def test_integer_and_float_ids_below_the_limit_are_one_customer(broken_export, open_checked):
    database = open_checked(broken_export("ids_int_and_float_within_precision"))
    assert database.findings() == []
    assert column(database, "select distinct customer_id from orders order by 1") == ["1", "2", "3"]


# Point 8: one date beyond DuckDB's range costs its row (or its value), not the file, the table or the app.


def test_a_date_beyond_duckdbs_range_costs_one_row(broken_export, open_checked, validate_environment, capsys,
                                                     tmp_path):
    data_dir = broken_export("date_beyond_duckdb_range")
    database = open_checked(data_dir)
    assert column(database, "select order_id from clean_orders order by 1") == ["o1", "o3", "o4", "o5", "o6"]
    assert database.connection.execute("select ticket_id, resolved_at from tickets order by 1").fetchall()[1] == (
        "t2", None)
    assert contract_metrics(database.cursor(LATE_AS_OF))["revenue"] == 250.5
    code, _, err = run_cli(capsys, "report", "--data", str(data_dir), "--out", str(tmp_path / "r.json"),
                           "--as-of", "2024-12-31")
    assert code == 0, err


def test_every_page_works_with_a_date_beyond_duckdbs_range(broken_export, monkeypatch, tmp_path):
    from tests.test_app import PAGES, run_page

    data_dir = broken_export("date_beyond_duckdb_range")
    monkeypatch.setenv("DASHBOARD_STALE_AFTER_DAYS", "1000000")
    for page in PAGES:
        at = run_page(monkeypatch, tmp_path, data_dir, page)
        assert not at.exception, (page, [item.value for item in at.exception])
        errors = [item.value for item in at.error]
        assert not any("could not be opened" in text or "Conversion Error" in text for text in errors), (page, errors)


def test_dates_in_milliseconds_within_range_are_read(broken_export, open_checked):
    database = open_checked(broken_export("dates_in_milliseconds"))
    assert database.findings() == []
    assert column(database, "select count(resolved_at) from tickets") == [1]


# Point 9: a list or struct column is left out; every other check of its table still runs.


def test_a_list_or_struct_column_is_left_out_and_the_rest_is_read(broken_export, open_checked):
    database = open_checked(broken_export("nested_columns"))
    assert database.connection.execute("select count(*), count(channel) from orders").fetchone() == (6, 0)
    assert database.connection.execute("select count(*), count(comment) from surveys").fetchone() == (3, 0)
    lines = [finding.line() for finding in database.findings()]
    assert "WARN orders.order_id: duplicate values, later copies left out (1 rows)" in lines
    assert not any("cannot be checked" in line for line in lines), lines


# Point 10: files of one table that cannot be read together are each read on their own schema.


def test_files_that_do_not_read_together_are_each_read(broken_export, open_checked):
    database = open_checked(broken_export("files_of_one_table_that_do_not_read_together"))
    rows = database.connection.execute("select order_id, ordered_at from orders order by order_id").fetchall()
    assert [str(ordered_at) for _, ordered_at in rows] == [
        "2024-01-05 10:00:00", "2024-02-10 12:00:00", "2024-01-20 08:00:00", "2024-03-02 09:30:00",
        "2024-02-01 18:00:00", "2024-04-15 20:00:00",
    ]
    assert contract_metrics(database.cursor(LATE_AS_OF))["revenue"] == 290.5
    assert len(database.catalog.tables["orders"].groups) == 4  # month=01, year=2024 alone, epoch month=03, stray


def test_epoch_numbers_are_read_and_said_so(broken_export, validate_environment, capsys):
    code, out, _ = run_cli(capsys, "validate", "--data", str(broken_export("ordered_at_as_integers")), "--verbose")
    assert code == 0
    assert out.splitlines() == [
        "INFO orders.ordered_at: column 'ordered_at' (BIGINT) holds numbers: read as time since 1970-01-01 UTC, "
        "in seconds, milliseconds, microseconds or nanoseconds by their size"
    ]


# Point 11: text that is not UTF-8 in an optional column costs that value, not the file.


def test_text_that_is_not_utf8_costs_only_that_value(broken_export, open_checked):
    database = open_checked(broken_export("invalid_utf8_in_comment"))
    assert database.connection.execute("select response_id, comment from surveys order by 1").fetchall() == [
        ("s1", "great"), ("s2", None), ("s3", None)
    ]
    assert contract_metrics(database.cursor(LATE_AS_OF))["nps_responses_90d"] >= 0
    assert column(database, "select count(*) from clean_surveys") == [3]


def test_accented_and_emoji_text_is_read_as_it_is(broken_export, open_checked):
    database = open_checked(broken_export("non_ascii_comment"))
    assert database.findings() == []
    assert column(database, "select comment from surveys order by response_id") == [
        "café était très bien 🙂", None, "ok"]


# Point 12: epoch seconds beyond 2262 and a repeated header say what is wrong.


def test_epoch_seconds_beyond_2262_are_a_date_in_the_future(broken_export, open_checked):
    database = open_checked(broken_export("epoch_seconds_beyond_2262"))
    assert column(database, "select year(ordered_at) from orders where order_id = 'o2'") == [2300]
    assert column(database, "select count(*) from clean_orders") == [5]


def test_a_repeated_header_row_is_left_out_as_one(broken_export, open_checked):
    database = open_checked(broken_export("repeated_header_row"))
    assert column(database, "select count(*) from clean_orders") == [6]
    assert contract_metrics(database.cursor(LATE_AS_OF))["revenue"] == 290.5
    lines = [finding.line() for finding in database.findings()]
    assert not any("cannot be read" in line for line in lines), lines


# Point 1: a file that cannot be read (cut short while it was being written) makes its table incomplete: an ERROR,
# a banner on every page, a warning in the weekly report, and report / scores / prepare refuse unless told.

INCOMPLETE = "orders is incomplete: orders/part-1.parquet could not be read; numbers exclude it"


@pytest.mark.parametrize("command", ["report", "scores", "prepare"])
def test_an_incomplete_table_stops_report_scores_and_prepare(command, broken_export, validate_environment, capsys,
                                                            tmp_path):
    out = tmp_path / "out.json"
    arguments = [part.format(out=out) for part in REFUSING_COMMANDS[command]]
    code, stdout, err = run_cli(capsys, command, "--data", str(broken_export("half_written_file")), *arguments)
    assert code == 2
    assert err.splitlines() == [f"error: cannot {REFUSAL_VERBS[command]}: {INCOMPLETE}. "
                                "Pass --allow-incomplete to go on without them"]
    assert stdout == "" and not out.exists()
    assert not [path for path in (tmp_path / "state").rglob("*.duckdb*")], "no model file is left behind"


REFUSAL_VERBS = {"report": "build the report", "scores": "score customers", "prepare": "prepare the model"}


@pytest.mark.parametrize("command", ["report", "scores", "prepare"])
def test_allow_incomplete_goes_on_and_says_so(command, broken_export, validate_environment, capsys, tmp_path):
    out = tmp_path / "out.json"
    arguments = [part.format(out=out) for part in REFUSING_COMMANDS[command]]
    code, _, err = run_cli(capsys, command, "--data", str(broken_export("half_written_file")), *arguments,
                           "--allow-incomplete")
    assert code == 0, err
    assert f"warning: {INCOMPLETE}" in err.splitlines()
    if command == "report":
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["incomplete_tables"] == {"orders": INCOMPLETE}
        assert report["orders"] == 3  # the readable file's orders: o1, o2, o3


def test_the_weekly_review_warns_that_a_table_is_incomplete(broken_export, validate_environment, capsys, tmp_path):
    for name, warned in (("half_written_file", True), ("clean", False)):
        out = tmp_path / f"{name}.html"
        code, _, err = run_cli(capsys, "report", "--data", str(broken_export(name)), "--format", "html", "--out",
                               str(out), "--allow-incomplete")
        assert code == 0, err
        page = out.read_text(encoding="utf-8")
        assert (f"<b>Warning:</b> {INCOMPLETE}." in page) is warned


def test_an_incomplete_table_is_compared_with_the_last_complete_load(tmp_path, validate_environment, capsys):
    from tests.broken_exports import _orders_in_two_files

    data_dir = tmp_path / "exports"
    _, second = _orders_in_two_files(data_dir)
    code, out, _ = run_cli(capsys, "validate", "--data", str(data_dir))
    assert (code, out) == (0, "")
    content = second.read_bytes()
    second.write_bytes(content[: len(content) // 3])
    code, out, _ = run_cli(capsys, "validate", "--data", str(data_dir))
    assert code == 1
    incomplete = [line for line in out.splitlines() if ": incomplete: " in line]
    assert len(incomplete) == 1
    assert re.fullmatch(r"ERROR orders: incomplete: orders/part-1\.parquet could not be read; numbers exclude it "
                        r"\(the last complete load, \d{4}-\d\d-\d\d \d\d:\d\d, had 6 rows; 3 are read now\) "
                        r"\(3 rows\)", incomplete[0]), incomplete
    assert not any("row count dropped" in line for line in out.splitlines())  # said once, in the ERROR


def test_every_page_shows_that_a_table_is_incomplete(broken_export, monkeypatch, tmp_path):
    from tests.test_app import PAGES, run_page

    monkeypatch.setenv("DASHBOARD_STALE_AFTER_DAYS", "1000000")
    for name, shown in (("half_written_file", True), ("clean", False)):
        data_dir = broken_export(name)
        for page in PAGES:
            at = run_page(monkeypatch, tmp_path, data_dir, page)
            assert not at.exception, (page, [item.value for item in at.exception])
            banners = [item.value for item in at.error if "is incomplete" in item.value]
            expected = [f"{INCOMPLETE}. The Data page lists the files and why."] if shown else []
            assert banners == expected, (name, page, banners)
