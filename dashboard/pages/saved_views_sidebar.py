"""The sidebar's saved views: one link per saved view (its page with its URL state) and a form that saves the
page and filters on screen under a name (dashboard/saved_views.py keeps them in the state folder)."""

from __future__ import annotations

import streamlit as st

from dashboard import saved_views
from dashboard.pages.common import current_access, current_view

DESCRIBED = {"channel": "channel", "region": "region", "category": "first category", "tier": "tier",
             "grain": "period", "as_of": "as of", "range": "trend range"}


def describe(view: saved_views.SavedView) -> str:
    """``Cohorts · tier: gold · period: quarter`` for the link's help text."""
    parts = [f"{DESCRIBED.get(key, key.replace('_', ' '))}: {', '.join(values) or 'none'}"
             for key, values in view.params.items()]
    return " · ".join([view.title or view.page or "Overview", *parts])


def _current_params() -> dict[str, list[str]]:
    """The URL state of this rerun, every value of a repeated parameter kept."""
    return {key: st.query_params.get_all(key) for key in st.query_params.keys()}


def show(current_page, pages) -> None:
    """List the saved views as links and offer to save the one on screen (current_page: st.navigation's page)."""
    settings = current_view().settings
    by_path = {page.url_path: page for page in pages}
    box = st.sidebar.expander("Saved views", icon=":material/bookmarks:", expanded=True)
    flash = st.session_state.pop("saved_view_flash", None)
    if flash:
        box.success(flash, icon=":material/bookmark_added:")
    try:
        views = saved_views.load(settings.state_dir)
    except saved_views.SavedViewError as error:
        box.warning(str(error), icon=":material/warning:")
        views = []
    for view in views:
        page = by_path.get(view.page)
        if page is None:
            box.caption(f"{view.name}: its page ({view.title or view.page}) is no longer in the app.")
            continue
        box.page_link(page, label=view.name, icon=":material/bookmark:", query_params=view.params or None,
                      help=describe(view))
    if not views:
        box.caption("No saved view yet. Set the page and its filters, name the view below and save it.")

    with box.form("saved_view_form", clear_on_submit=True, border=False):
        name = st.text_input("Name this view", key="saved_view_name", max_chars=saved_views.MAX_NAME_LENGTH,
                             placeholder="e.g. Gold tier, quarterly cohorts")
        keep_dates = st.checkbox("Keep the as-of date and trend range", key="saved_view_dates",
                                 help="Off: the view opens on the latest data. On: it always shows these dates.")
        submitted = st.form_submit_button("Save this view", icon=":material/bookmark_add:", key="saved_view_save")
    if submitted:
        user = current_access(settings)
        try:
            saved = saved_views.save(settings.state_dir, name, current_page.url_path, current_page.title,
                                     _current_params(), keep_dates, saved_by="" if user.user == "anonymous" else user.user)
        except (saved_views.SavedViewError, OSError) as error:
            box.error(f"Not saved: {error}", icon=":material/error:")
        else:  # draw the list again with it
            st.session_state["saved_view_flash"] = f"Saved “{saved.name}”."
            st.rerun()

    if views:
        left, right = box.columns([3, 1], vertical_alignment="bottom")
        doomed = left.selectbox("Remove a view", options=[view.name for view in views], index=None,
                                key="saved_view_remove", placeholder="Pick a view")
        if right.button("Remove", key="saved_view_remove_button", disabled=doomed is None):
            saved_views.remove(settings.state_dir, doomed)
            st.session_state["saved_view_flash"] = f"Removed “{doomed}”."
            st.rerun()
