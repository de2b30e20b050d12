"""Docs that must not drift from the code: every setting is documented, and the README's commands exist."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from dashboard.cli import build_parser
from dashboard.settings import _ENVIRONMENT, Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme():
    for field in dataclasses.fields(Settings):
        assert f"| `{field.name}` |" in README, f"setting {field.name} is not in the README's settings table"
        if field.name in _ENVIRONMENT:
            assert f"`{_ENVIRONMENT[field.name][0]}`" in README, f"{_ENVIRONMENT[field.name][0]} is not documented"


def test_every_command_in_the_readme_exists():
    commands = set(re.findall(r"python -m dashboard ([a-z-]+)", README))
    parser = build_parser()
    available = set(parser._subparsers._group_actions[0].choices)
    assert commands and commands <= available, f"README mentions commands that do not exist: {commands - available}"


def test_the_two_commands_are_in_the_readme_exactly():
    assert "\nmake run\n" in README and "\nmake test\n" in README
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:", makefile, re.MULTILINE) and re.search(r"^test:", makefile, re.MULTILINE)
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
