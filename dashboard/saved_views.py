"""Saved views: named bookmarks of a page and its URL state (filters, grain, the page's own switches), shared by
the team in the state folder (``state_dir/saved_views.json``), so "Gold tier, quarterly cohorts" is one click.

No Streamlit import: the sidebar (``dashboard/pages/saved_views_sidebar.py``) lists and saves them. The file is
rewritten whole on every change (written to a temporary file, then renamed), so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

FILE_NAME = "saved_views.json"
MAX_VIEWS = 200
MAX_NAME_LENGTH = 80
MAX_PARAMETERS = 40
MAX_VALUE_LENGTH = 500
DATE_PARAMETERS = ("as_of", "range")  # left out unless the view pins its dates: a view follows new data
_LOCK = threading.Lock()


class SavedViewError(ValueError):
    """A view that cannot be saved, or a saved-views file that cannot be read; the message says which."""


@dataclass(frozen=True)
class SavedView:
    """A named page and URL state. ``params``: query parameter -> its values (a list, as in the URL)."""

    name: str
    page: str  # the page's url_path ("" is the default page)
    title: str  # the page's title when saved, for the list
    params: dict[str, list[str]] = field(default_factory=dict)
    saved_at: str = ""
    saved_by: str = ""


def path(state_dir: Path) -> Path:
    """Where the saved views of this dashboard live."""
    return Path(state_dir) / FILE_NAME


def load(state_dir: Path) -> list[SavedView]:
    """Every saved view, by name; [] when none was saved. SavedViewError when the file is not ours."""
    file = path(state_dir)
    if not file.is_file():
        return []
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        views = [SavedView(name=str(item["name"]), page=str(item["page"]), title=str(item.get("title", "")),
                           params={str(key): [str(value) for value in values]
                                   for key, values in dict(item.get("params", {})).items()},
                           saved_at=str(item.get("saved_at", "")), saved_by=str(item.get("saved_by", "")))
                 for item in data["views"]]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise SavedViewError(f"{file} cannot be read as saved views ({type(error).__name__}: {error}); "
                             "move it away to start a new list") from error
    return sorted(views, key=lambda view: view.name.lower())


def _write(state_dir: Path, views: list[SavedView]) -> None:
    file = path(state_dir)
    file.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"views": [asdict(view) for view in views]}, indent=2, ensure_ascii=False) + "\n"
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".saved_views-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def clean_params(params: dict, keep_dates: bool = False) -> dict[str, list[str]]:
    """The URL state worth keeping: every parameter as a list of text values, the dates only when pinned."""
    cleaned = {}
    for key, values in params.items():
        if not keep_dates and key in DATE_PARAMETERS:
            continue
        values = [values] if isinstance(values, str) else list(values)
        if any(len(str(value)) > MAX_VALUE_LENGTH for value in values):
            raise SavedViewError(f"the value of {key} is longer than {MAX_VALUE_LENGTH} characters")
        cleaned[str(key)] = [str(value) for value in values]
    if len(cleaned) > MAX_PARAMETERS:
        raise SavedViewError(f"a view keeps at most {MAX_PARAMETERS} URL parameters, not {len(cleaned)}")
    return dict(sorted(cleaned.items()))


def save(state_dir: Path, name: str, page: str, title: str, params: dict, keep_dates: bool = False,
         saved_by: str = "", now: datetime | None = None) -> SavedView:
    """Save (or replace, by name) a view of a page with its URL state. Example::

        save(state, "Gold tier, quarterly cohorts", "cohorts", "Cohorts", {"tier": ["gold"], "grain": ["quarter"]})
    """
    name = " ".join(str(name).split())
    if not name:
        raise SavedViewError("a saved view needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise SavedViewError(f"a view's name has at most {MAX_NAME_LENGTH} characters")
    view = SavedView(name, str(page), str(title), clean_params(params, keep_dates),
                     (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"), saved_by or "")
    with _LOCK:
        views = [existing for existing in load(state_dir) if existing.name.lower() != name.lower()]
        if len(views) >= MAX_VIEWS:
            raise SavedViewError(f"{MAX_VIEWS} views are saved already; remove one first")
        _write(state_dir, views + [view])
    return view


def remove(state_dir: Path, name: str) -> bool:
    """Remove a view by name; False when there was none."""
    with _LOCK:
        views = load(state_dir)
        kept = [view for view in views if view.name.lower() != str(name).lower()]
        if len(kept) == len(views):
            return False
        _write(state_dir, kept)
    return True
