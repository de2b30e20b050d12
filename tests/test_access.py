"""Personal data: roles decide who sees emails and customer lists; every download is audited."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from dashboard import access, demo
from dashboard.settings import load_settings
from tests.exports import server_state
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
    """The drill-down's member list, its e-mail column (headed "E-mail" or "E-mail (masked)") as ``email``."""
    for frame in at.dataframe:
        columns = [str(column) for column in getattr(frame.value, "columns", [])]
        email = [column for column in columns if column.startswith("E-mail")]
        if email:
            return frame.value.rename(columns={email[0]: "email"})
    return None


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
    log = access.read_audit_log(server_state(demo_dir))  # the state folder of the server run_page plays
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


# Issue 15, points 13 and 15: no customer-level row for a viewer; ids that are contact details are pseudonyms.


@pytest.fixture(scope="module")
def contact_id_dir(demo_dir, tmp_path_factory):
    """The demo with a third of its customer ids e-mail addresses and a third phone numbers."""
    from tests.broken_exports import with_contact_detail_ids

    return with_contact_detail_ids(demo_dir, tmp_path_factory.mktemp("contact-ids") / "exports")


def raw_contact_ids(frame: pd.DataFrame) -> list[str]:
    """Values of a table that are e-mail addresses or phone numbers written as the demo's ids were relabelled."""
    values = [str(value) for value in frame.to_numpy().ravel()]
    return [value for value in values if "@example.com" in value or value.startswith("+44 20 ")]


def customer_frames(at) -> list[pd.DataFrame]:
    """The tables on screen that list customers, their id column (headed "Customer" by the formatting layer, or
    still ``customer_id``) as ``customer_id``."""
    frames = []
    for frame in at.dataframe:
        columns = [str(column) for column in getattr(frame.value, "columns", [])]
        for name in ("customer_id", "Customer"):
            if name in columns:
                frames.append(frame.value.rename(columns={name: "customer_id"}))
                break
    return frames


def test_a_viewer_gets_no_comment_and_no_customer_id_on_the_satisfaction_page(contact_id_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("DASHBOARD_DEFAULT_ROLE", "viewer")
    at = run_page(monkeypatch, tmp_path, contact_id_dir, "satisfaction")
    assert not at.exception
    assert customer_frames(at) == []
    assert any("Your role (viewer) sees aggregates only" in info.value and "Individual comments" in info.value
               for info in at.info)


def test_an_analyst_sees_pseudonyms_for_contact_detail_ids_on_every_list(contact_id_dir, monkeypatch, tmp_path):
    """Satisfaction comments, the cohort drill-down and the win-back list, on screen and in the CSV downloads."""
    captured = captured_downloads(monkeypatch)
    shown = []
    for page, params in (("satisfaction", {}), ("cohorts", {"cohort": "2026-03", "period": "2"}), ("churn", {})):
        at = run_page(monkeypatch, tmp_path, contact_id_dir, page, params)
        assert not at.exception, (page, [item.value for item in at.exception])
        frames = customer_frames(at)
        assert frames, page
        for frame in frames:
            assert raw_contact_ids(frame[["customer_id"]]) == [], page
            shown += [value for value in frame["customer_id"] if str(value).startswith("anon-")]
    assert shown, "some listed customers have contact-detail ids"
    # The campaign-ready win-back CSV heads its id column "Customer ID"; the other downloads keep customer_id.
    csvs = [pd.read_csv(io.StringIO(build())).rename(columns={"Customer ID": "customer_id"})
            for name, build in captured if name and name.endswith(".csv")]
    assert len(csvs) >= 2
    for csv in csvs:
        assert raw_contact_ids(csv[["customer_id"]]) == []
        assert any(str(value).startswith("anon-") for value in csv["customer_id"])


def test_marketing_sees_the_real_ids(contact_id_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("DASHBOARD_SHOW_PII", "1")
    at = run_page(monkeypatch, tmp_path, contact_id_dir, "cohorts", {"cohort": "2026-03", "period": "2"})
    table = customer_frames(at)[0]
    assert raw_contact_ids(table[["customer_id"]]) and not any(str(v).startswith("anon-") for v in table["customer_id"])


def test_pseudonyms_are_stable_and_only_for_contact_details(tmp_path):
    from dashboard import churn
    from dashboard.model import Database
    from tests.broken_exports import CONTACT_DETAIL_IDS, customer_ids_are_contact_details

    data_dir = customer_ids_are_contact_details(tmp_path / "exports")
    settings = load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path / "state")
    labels = []
    for _ in range(2):  # a restart on the same state folder gives the same pseudonyms
        database = Database.open(settings)
        cursor = database.cursor()
        labels.append(dict(cursor.execute(
            "select customer_id, customer_label(customer_id, false) from clean_customers").fetchall()))
        scores = churn.score_customers(cursor, include_email=False).scores
        assert raw_contact_ids(scores[["customer_id"]]) == []
        assert set(churn.score_customers(cursor, include_email=True).scores["customer_id"]) == {
            *CONTACT_DETAIL_IDS.values(), "c3"}
        cursor.close()
    assert labels[0] == labels[1]
    assert labels[0]["c3"] == "c3"
    pseudonyms = [labels[0][value] for value in CONTACT_DETAIL_IDS.values()]
    assert all(pseudonym.startswith("anon-") and len(pseudonym) == 17 for pseudonym in pseudonyms)
    assert len(set(pseudonyms)) == 2
    key = (tmp_path / "state" / "pseudonym.key")
    assert key.stat().st_mode & 0o077 == 0, "the key is readable by its owner only"


def test_the_scores_csv_shows_pseudonyms_unless_pii_is_on(tmp_path, monkeypatch, capsys):
    from dashboard import cli
    from tests.broken_exports import CONTACT_DETAIL_IDS, customer_ids_are_contact_details

    data_dir = customer_ids_are_contact_details(tmp_path / "exports")
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "none.toml"))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    for show_pii in ("0", "1"):
        monkeypatch.setenv("DASHBOARD_SHOW_PII", show_pii)
        out = tmp_path / f"scores-{show_pii}.csv"
        assert cli.main(["scores", "--data", str(data_dir), "--out", str(out), "--as-of", "2024-12-31"]) == 0, \
            capsys.readouterr().err
        ids = set(pd.read_csv(out, dtype=str)["customer_id"])
        assert (ids >= set(CONTACT_DETAIL_IDS.values())) is (show_pii == "1")
        assert "c3" in ids
