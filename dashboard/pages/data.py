"""Data page: which files were found, how many rows, the date range, freshness, findings, mapping."""

import pandas as pd
import streamlit as st

from dashboard import cache, formatting
from dashboard.pages.common import current_view, empty, table

st.title("Data")
st.caption("What the dashboard read, what it left out and why. Exports are read in place, never changed.")
view = current_view()
database = view.database
if database is None:
    st.error(view.problem or "The exports could not be opened.", icon=":material/error:")
    st.stop()

catalog = database.catalog
st.markdown(f"**Data folder:** `{catalog.data_dir}` · data version `{database.fingerprint[:8]}` · "
            f"time zone `{database.settings.timezone}`")

overview = cache.query(database, view.as_of or database.default_as_of(), "data_overview") if database.has_orders else None
rows = []
for name, source in catalog.tables.items():
    usable = None
    earliest = latest = None
    if overview is not None:
        match = overview[overview["table_name"] == name]
        if len(match):
            usable = int(match["usable_rows"].iloc[0])
            earliest, latest = match["earliest_at"].iloc[0], match["latest_at"].iloc[0]
    rows.append(
        {
            "table": name,
            "status": ("incomplete" if source.is_incomplete else "read") if source.is_usable
            else ("not exported" if not source.files else "unusable"),
            "files": len(source.files),
            "location": source.location if source.files else "–",
            "rows in files": source.row_count,
            "usable rows": usable,
            "earliest (UTC)": earliest,
            "latest (UTC)": latest,
        }
    )
tables = pd.DataFrame(rows)
st.subheader("Tables")
table(tables, key="tables", kinds={"rows in files": "count", "usable rows": "count", "files": "count",
                                   "earliest (UTC)": "date", "latest (UTC)": "date", "status": "label",
                                   "table": "text", "location": "text"},
      headers={"rows in files": "Rows in files", "usable rows": "Usable rows", "earliest (UTC)": "Earliest (UTC)",
               "latest (UTC)": "Latest (UTC)"})

if database.has_orders:
    latest_order = database.default_as_of()
    age = (database.opened_at.date() - latest_order).days
    message = (f"Latest order on {formatting.date_text(latest_order)}, "
               f"{'the day' if age == 0 else formatting.plural(age, 'day') + ' before the day'} this data was read.")
    if age > database.settings.stale_after_days:
        st.warning(message + f" That is older than the {database.settings.stale_after_days}-day freshness limit.",
                   icon=":material/schedule:")
    else:
        st.success(message, icon=":material/check_circle:")

st.subheader("Findings")
findings = database.findings()
if not findings:
    st.success("No problems found: every row of every export is usable.", icon=":material/check_circle:")
else:
    frame = pd.DataFrame(
        [{"level": f.level, "table": f.table, "column": f.column, "problem": f.message, "rows": f.row_count}
         for f in findings]
    )
    counts = frame["level"].value_counts()
    st.caption(f"{formatting.plural(counts.get('ERROR', 0), 'error')}, {formatting.plural(counts.get('WARN', 0), 'warning')}, "
               f"{formatting.plural(counts.get('INFO', 0), 'note')}")
    table(frame, key="findings", kinds={"level": "label", "table": "text", "column": "text", "problem": "text",
                                        "rows": "count"})

st.subheader("Column mapping in use")
mapping_rows = []
for name, source in catalog.tables.items():
    for canonical, (source_column, source_type, _) in source.columns.items():
        mapping_rows.append({"table": name, "canonical column": canonical, "source column": source_column or "–",
                             "source type": source_type or "–"})
if mapping_rows:
    # Column names are the subject here, shown as they are named in the contract and in the files.
    table(pd.DataFrame(mapping_rows), key="mapping", kinds={column: "text" for column in mapping_rows[0]},
          headers={"table": "Table", "canonical column": "Contract column", "source column": "Column in the file",
                   "source type": "Type in the file"})
else:
    empty("No table could be read, so there is no column mapping to show.")
if catalog.mapping_text:
    with st.expander("mapping.toml"):
        st.code(catalog.mapping_text, language="toml")
