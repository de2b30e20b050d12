"""``python -m dashboard validate``: one line per finding, the right level and exit code, never a traceback."""

from __future__ import annotations

import pathlib

import re
import subprocess
import sys

import pytest

from dashboard import cli, sources
from dashboard.settings import PROJECT_ROOT
from tests.broken_exports import (  # noqa: F401 (fixtures)
    CASES,
    CLEAN,
    UNREADABLE,
    Expect,
    broken_export,
    build,
    permissions_are_enforced,
    validate_environment,
)


def run_validate(capsys, data_dir, *options) -> tuple[int, list[str], str]:
    """Exit code, printed lines and stderr of ``validate --data data_dir`` run in this process."""
    code = cli.main(["validate", "--data", str(data_dir), *options])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def assert_prints_exactly(lines: list[str], expected: tuple[Expect, ...]) -> None:
    """Every expected line is printed once, and nothing else is."""
    for expect in expected:
        assert sum(expect.matches(line) for line in lines) == 1, (expect, lines)
    unexpected = [line for line in lines if not any(expect.matches(line) for expect in expected)]
    assert unexpected == []


# One finding per line: "ERROR|WARN <table>[.<column>]: <what> [(<n> rows)]".
FINDING_LINE = re.compile(r"(ERROR|WARN) [^ .:]+(\.[^:]+)?: .+?( \([0-9,]+ rows\))?")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_validate_names_each_problem_with_level_count_and_exit_code(case, broken_export, validate_environment, capsys):
    code, lines, err = run_validate(capsys, broken_export(case.name))
    assert_prints_exactly(lines, case.expected)
    assert code == case.exit_code
    for line in lines:
        assert FINDING_LINE.fullmatch(line) and line.isprintable(), line
    assert "Traceback" not in err
    errors = sum(expect.level == "ERROR" for expect in case.expected)
    warnings = sum(expect.level == "WARN" for expect in case.expected)
    assert err.strip().endswith(f"{errors} errors, {warnings} warnings")


def test_clean_export_gives_no_finding_even_verbose(broken_export, validate_environment, capsys):
    code, lines, err = run_validate(capsys, broken_export(CLEAN.name), "--verbose")
    assert (code, lines) == (0, [])
    assert err.strip().endswith(": 0 errors, 0 warnings")


def test_optional_table_not_exported_is_info_shown_only_when_verbose(tmp_path, validate_environment, capsys):
    data_dir = build(CLEAN.name, tmp_path)
    (data_dir / "returns.parquet").unlink()
    code, lines, _ = run_validate(capsys, data_dir)
    assert (code, lines) == (0, [])
    code, lines, _ = run_validate(capsys, data_dir, "--verbose")
    assert code == 0
    assert lines == ["INFO returns: optional table not exported (expected returns.parquet or returns/)"]


def test_missing_orders_table_is_an_error(tmp_path, validate_environment, capsys):
    data_dir = build(CLEAN.name, tmp_path)
    (data_dir / "orders.parquet").unlink()
    code, lines, _ = run_validate(capsys, data_dir)
    assert code == 1
    assert lines == ["ERROR orders: required table not found (expected orders.parquet or orders/)"]


def test_unreadable_data_folder(broken_export, validate_environment, capsys, monkeypatch):
    """chmod 000 where permissions apply; as root (CI), listing the folder is refused the same way on purpose."""
    data_dir = broken_export(UNREADABLE.name)
    if not permissions_are_enforced(data_dir):
        real_scandir = sources.os.scandir

        def refuse_listing(path="."):
            if pathlib.Path(path) == data_dir:
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(sources.os, "scandir", refuse_listing)
    code, lines, _ = run_validate(capsys, data_dir)
    assert_prints_exactly(lines, UNREADABLE.expected)
    assert code == UNREADABLE.exit_code


def test_a_table_folder_that_cannot_be_listed_is_named(broken_export, validate_environment, capsys, monkeypatch):
    """Root can list any folder, so the listing error os.walk reports is raised for orders/ on purpose."""
    data_dir = broken_export("empty_file")
    real_walk = sources.os.walk

    def walk_refusing_orders(top, onerror=None, **options):
        if top.name == "orders":
            onerror(PermissionError(13, "Permission denied", str(top)))
        yield from real_walk(top, onerror=onerror, **options)

    monkeypatch.setattr(sources.os, "walk", walk_refusing_orders)
    code, lines, _ = run_validate(capsys, data_dir)
    assert code == 1
    assert "ERROR orders: folder orders is not readable (Permission denied); table not used" in lines


def test_validate_as_a_real_process_prints_no_traceback(broken_export, validate_environment):
    """A file whose footer is fine but whose pages are garbage: DuckDB raises while reading it."""
    data_dir = broken_export("corrupt_data_pages")
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "validate", "--data", str(data_dir)],
        cwd=PROJECT_ROOT, env=validate_environment, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert done.stdout.splitlines()[0].startswith(
        "ERROR orders: file orders/part-1.parquet is not readable Parquet, skipped: Invalid Input Error: "
    )
    assert done.stderr.strip().splitlines()[-1] == f"{data_dir}: 2 errors, 1 warnings"
