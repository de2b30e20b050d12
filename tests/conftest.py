"""Shared fixtures: settings and databases over tiny exports written to tmp_path."""

from __future__ import annotations

from datetime import datetime

import pytest

from dashboard.model import Database
from dashboard.settings import load_settings

FIXED_NOW = datetime(2026, 11, 22, 12, 0)


@pytest.fixture
def open_database(tmp_path):
    """Open a Database over a data folder, with settings isolated from the environment."""

    def _open(data_dir, **overrides):
        settings = load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path / "state", **overrides)
        return Database.open(settings, now=FIXED_NOW)

    return _open
