"""Personal data: roles decide who sees emails and customer lists; every download is audited."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from dashboard import access, demo
from dashboard.settings import load_settings
from tests.test_app import captured_downloads, run_page


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("access") / "demo"
    demo.generate(data_dir, customers=1_500, seed=4)
    return data_dir


def test_roles_from_the_settings_map():
    settings = load_settings(environ={}, roles={"ana@acme.com": "marketing", "*@acme.com": "analyst"})
    assert access.resolve_access(settings, "Ana@Acme.com", True).role == "marketing"
    assert access.resolve_access(settings, "bo@acme.com", True).role == "analyst"
    assert access.resolve_access(settings, "eve@other.com", True).role == "viewer"
    anonymous = access.resolve_access(settings, None, False)
    assert anonymous.role == "analyst" and not anonymous.can_see_pii and anonymous.can_download
    assert access.resolve_access(load_settings(environ={}, show_pii=True), None, False).can_see_pii
    assert access.resolve_access(load_settings(environ={"DASHBOARD_DEFAULT_ROLE": "viewer"}), None, False).role == "viewer"


def test_unknown_role_in_the_map_falls_back_to_viewer():
    settings = load_settings(environ={}, roles={"x@acme.com": "admin"})
    assert access.resolve_access(settings, "x@acme.com", True).role == "viewer"


def test_audit_log_records_who_what_and_how_many(tmp_path):
    user = access.Access("ana@acme.com", "marketing")
    access.record_download(tmp_path, user, "win-back list", {"channels": ["email"], "regions": None}, 42, "w.csv")
    entries = access.read_audit_log(tmp_path)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["user"] == "ana@acme.com" and entry["rows"] == 42 and entry["segment"] == {"channels": ["email"]}
    assert entry["with_emails"] is True and entry["file_name"] == "w.csv" and entry["at"].endswith("+00:00")


def cohort_table(at) -> pd.DataFrame | None:
    tables = [frame.value for frame in at.dataframe if "email" in getattr(frame.value, "columns", [])]
    return tables[0] if tables else None


def test_viewer_sees_aggregates_only(demo_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("DASHBOARD_DEFAULT_ROLE", "viewer")
    at = run_page(monkeypatch, tmp_path, demo_dir, "cohorts")
    assert not at.exception
    assert cohort_table(at) is None
    assert any("aggregates only" in info.value for info in at.info)
    assert not at.get("download_button")


def test_anonymous_user_sees_masked_emails_and_the_download_is_audited(demo_dir, monkeypatch, tmp_path):
    captured = captured_downloads(monkeypatch)
    at = run_page(monkeypatch, tmp_path, demo_dir, "cohorts")
    assert not at.exception
    table = cohort_table(at)
    assert table is not None and len(table)
    emails = table["email"].dropna()
    assert len(emails) and all("***@" in email for email in emails)
    name, build = next((name, build) for name, build in captured if name and name.startswith("cohort-"))
    csv = pd.read_csv(io.StringIO(build()))
    assert all("***@" in email for email in csv["email"].dropna())
    log = access.read_audit_log(tmp_path / "state")
    assert log[-1]["user"] == "anonymous" and log[-1]["rows"] == len(csv) and log[-1]["with_emails"] is False


def test_marketing_login_sees_real_emails(demo_dir, monkeypatch, tmp_path):
    settings_file = tmp_path / "dashboard.toml"
    settings_file.write_text('[roles]\n"ana@acme.com" = "marketing"\n')
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(settings_file))
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(demo_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    at = AppTest.from_file(APP, default_timeout=180)
    at.user = {"email": "ana@acme.com", "is_logged_in": True}
    at.switch_page("dashboard/pages/cohorts.py")
    at.run()
    assert not at.exception
    emails = cohort_table(at)["email"].dropna()
    assert len(emails) and not any("***" in email for email in emails)
    at.user = {"email": "someone@else.com", "is_logged_in": True}
    at.run()
    assert cohort_table(at) is None  # an unmapped signed-in user is a viewer
