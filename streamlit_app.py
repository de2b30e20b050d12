"""Router: page config, the shared sidebar filters, and the pages (st.navigation)."""

from pathlib import Path

import streamlit as st

from dashboard import cache
from dashboard.model import people_first
from dashboard.pages import ghost_control, saved_views_sidebar
from dashboard.pages.common import build_view

PAGES = Path(__file__).resolve().parent / "dashboard" / "pages"

st.set_page_config(page_title="Retention after the sale", page_icon=":material/autorenew:", layout="wide")
sections = {
    # Each page's title in the navigation is the title at the top of the page.
    "": [
        st.Page(PAGES / "overview.py", title="Weekly review", icon=":material/dashboard:", default=True),
    ],
    "Retention": [
        st.Page(PAGES / "repeat.py", title="Repeat purchase", icon=":material/replay:", url_path="repeat"),
        st.Page(PAGES / "cohorts.py", title="Cohorts", icon=":material/grid_on:", url_path="cohorts"),
        st.Page(PAGES / "churn.py", title="Churn risk and win-back", icon=":material/person_remove:", url_path="churn"),
        st.Page(PAGES / "campaigns.py", title="Campaigns", icon=":material/campaign:", url_path="campaigns"),
        st.Page(PAGES / "compare.py", title="Compare segments", icon=":material/compare_arrows:", url_path="compare"),
    ],
    "After the sale": [
        st.Page(PAGES / "satisfaction.py", title="Satisfaction", icon=":material/sentiment_satisfied:", url_path="satisfaction"),
        st.Page(PAGES / "care.py", title="Post-purchase care", icon=":material/support_agent:", url_path="care"),
        st.Page(PAGES / "reasons.py", title="Why customers leave", icon=":material/sentiment_dissatisfied:",
                url_path="reasons"),
    ],
    "Data": [
        st.Page(PAGES / "data.py", title="Data", icon=":material/database:", url_path="data"),
    ],
}
# Under the title while the exports are read and the sidebar's tables built (shown only then).
WAIT_NOTE = ("Reading these exports for the first time (or building this as-of date's tables): once, then every view "
             "is quick. To do it ahead of time, run `python -m dashboard prepare` where the exports land.")
navigation = st.navigation(sections)
with people_first():  # the background build of new exports waits while a page runs (dashboard/model.py)
    # On a first start the exports are read and the sidebar's tables built before the page runs (10-20 s at 10M
    # orders): the page's title shows above that progress meanwhile, and gives way to the page's own.
    heading = st.empty()

    def announce() -> None:
        with heading.container():
            st.title(navigation.title)
            st.caption(WAIT_NOTE)

    with cache.announcing(announce):
        build_view()
    heading.empty()
    ghost_control.show()
    saved_views_sidebar.show(navigation, [page for pages in sections.values() for page in pages])
    navigation.run()
