"""Saved views: named page + URL state kept in the state folder, listed in the sidebar as links that open the page
with that state; on the demo and on an orders-only export."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import demo, saved_views

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
NOW = datetime(2026, 11, 22, 12, 0)


def test_save_list_replace_and_remove(tmp_path):
    assert saved_views.load(tmp_path) == []
    saved_views.save(tmp_path, "  Gold tier,   quarterly cohorts ", "cohorts", "Cohorts",
                     {"tier": "gold", "grain": ["quarter"], "as_of": "2026-09-30", "range": ["2025-01-01", "2026-09-30"]},
                     now=NOW)
    saved_views.save(tmp_path, "Referral", "repeat", "Repeat purchase", {"channel": ["referral", "email"]}, now=NOW)
    views = saved_views.load(tmp_path)
    assert [view.name for view in views] == ["Gold tier, quarterly cohorts", "Referral"]
    assert views[0] == saved_views.SavedView("Gold tier, quarterly cohorts", "cohorts", "Cohorts",
                                             {"grain": ["quarter"], "tier": ["gold"]}, "2026-11-22T12:00:00Z", "")
    pinned = saved_views.save(tmp_path, "gold tier, QUARTERLY cohorts", "cohorts", "Cohorts",
                              {"tier": ["gold"], "as_of": ["2026-09-30"]}, keep_dates=True, now=NOW)
    assert pinned.params == {"as_of": ["2026-09-30"], "tier": ["gold"]}
    assert [view.name for view in saved_views.load(tmp_path)] == ["gold tier, QUARTERLY cohorts", "Referral"]
    assert saved_views.remove(tmp_path, "REFERRAL") and not saved_views.remove(tmp_path, "Referral")
    assert [view.name for view in saved_views.load(tmp_path)] == ["gold tier, QUARTERLY cohorts"]
    assert json.loads(saved_views.path(tmp_path).read_text())["views"][0]["page"] == "cohorts"
    assert [p.name for p in tmp_path.iterdir()] == ["saved_views.json"]  # no temporary file left


@pytest.mark.parametrize("name, params, message", [
    ("   ", {}, "a saved view needs a name"),
    ("x" * 81, {}, "at most 80 characters"),
    ("long", {"q": "y" * 501}, "longer than 500 characters"),
    ("many", {f"p{i}": "1" for i in range(41)}, "at most 40 URL parameters"),
])
def test_views_that_cannot_be_saved(tmp_path, name, params, message):
    with pytest.raises(saved_views.SavedViewError, match=message):
        saved_views.save(tmp_path, name, "cohorts", "Cohorts", params)
    assert saved_views.load(tmp_path) == []


def test_a_file_that_is_not_ours_is_reported_not_overwritten(tmp_path):
    saved_views.path(tmp_path).write_text("{not json", encoding="utf-8")
    with pytest.raises(saved_views.SavedViewError, match="cannot be read as saved views"):
        saved_views.load(tmp_path)
    with pytest.raises(saved_views.SavedViewError):
        saved_views.save(tmp_path, "x", "cohorts", "Cohorts", {})
    assert saved_views.path(tmp_path).read_text(encoding="utf-8") == "{not json"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("views")
    demo.generate(root / "demo", customers=1_500, seed=23)
    (root / "orders_only").mkdir()
    shutil.copytree(root / "demo" / "orders", root / "orders_only" / "orders")
    return {"demo": root / "demo", "orders_only": root / "orders_only"}


def app(monkeypatch, tmp_path, data_dir, page: str, params: dict) -> AppTest:
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(f"dashboard/pages/{page}.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


@pytest.mark.parametrize("dataset, region", [("demo", "Europe"), ("orders_only", "UK")])
def test_save_the_view_on_screen_and_open_it_from_the_sidebar(exports, monkeypatch, tmp_path, dataset, region):
    at = app(monkeypatch, tmp_path, exports[dataset], "cohorts",
             {"region": region, "grain": "quarter", "as_of": "2026-09-30"})
    assert not at.exception, [item.value for item in at.exception]
    assert at.multiselect(key="region").value == [region]
    assert any("No saved view yet" in caption.value for caption in at.caption)
    at.text_input(key="saved_view_name").input("Quarterly cohorts, one region")
    at.button(key="saved_view_save").click().run()
    assert not at.exception, [item.value for item in at.exception]
    assert [success.value for success in at.success] == ["Saved “Quarterly cohorts, one region”."]
    view, = saved_views.load(tmp_path / "state")
    assert (view.name, view.page, view.title) == ("Quarterly cohorts, one region", "cohorts", "Cohorts")
    assert view.params == {"grain": ["quarter"], "region": [region]}  # the as-of date is not pinned
    link, = at.get("page_link")
    assert (link.proto.label, link.proto.page, link.proto.query_string) == (
        "Quarterly cohorts, one region", "cohorts", f"grain=quarter&region={region.replace(' ', '+')}")

    # what the link opens: the page with that URL state, on another session
    opened = app(monkeypatch, tmp_path, exports[dataset], "cohorts", {"grain": "quarter", "region": region})
    assert not opened.exception
    assert opened.multiselect(key="region").value == [region]
    assert opened.segmented_control(key="grain").value == "quarter"

    opened.selectbox(key="saved_view_remove").select("Quarterly cohorts, one region").run()
    opened.button(key="saved_view_remove_button").click().run()
    assert saved_views.load(tmp_path / "state") == []
    assert not opened.get("page_link")


def test_a_broken_file_is_a_warning_in_the_sidebar(exports, monkeypatch, tmp_path):
    (tmp_path / "state").mkdir()
    saved_views.path(tmp_path / "state").write_text("[]", encoding="utf-8")
    at = app(monkeypatch, tmp_path, exports["demo"], "repeat", {})
    assert not at.exception
    assert any("cannot be read as saved views" in warning.value for warning in at.warning)
    assert at.metric, "the page still renders"
