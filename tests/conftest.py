"""Shared fixtures: settings and databases over tiny exports written to tmp_path."""

from __future__ import annotations

import functools
from datetime import datetime

import pytest

from dashboard.model import Database
from dashboard.settings import load_settings

FIXED_NOW = datetime(2026, 11, 22, 12, 0)


def _scan_installed_components_once() -> None:
    """Each AppTest starts a Streamlit runtime, which reads the metadata of every installed package looking for
    custom components (0.45 s of CPU each time, about 300 times a run). The packages do not change during a test
    run, so the first scan's answer is kept; nothing of the app or of DuckDB is replaced."""
    from streamlit.components.v2 import manifest_scanner

    manifest_scanner.scan_component_manifests = functools.lru_cache(maxsize=1)(
        manifest_scanner.scan_component_manifests)


_scan_installed_components_once()


@pytest.fixture(autouse=True)
def _pages_build_what_they_read(monkeypatch):
    """An AppTest plays one or two page views of a server: the app's background build of everything (setting
    ``background_build``) would build and save a whole model per test, in a thread still running during the next
    tests. Here each page builds what it reads, as it does when opened before that build is done. The background
    build keeps its own tests (test_cache.py, test_state_folder.py, and the browser tests' real server), which
    run with the setting at its default."""
    monkeypatch.setenv("DASHBOARD_BACKGROUND_BUILD", "false")


@pytest.fixture
def open_database(tmp_path):
    """Open a Database over a data folder, with settings isolated from the environment."""

    def _open(data_dir, **overrides):
        settings = load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path / "state", **overrides)
        return Database.open(settings, now=FIXED_NOW)

    return _open

