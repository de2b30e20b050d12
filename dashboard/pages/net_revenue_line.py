"""Revenue net of refunds beside gross (issue 18, point 4): one line the Overview and Repeat purchase pages show.

The page runs ``queries/net_revenue.sql`` itself (the JSON report's ``refunds``, ``net_revenue`` and ``net_aov``; in
the script, so the benchmark reads it there) when returns were exported: ``show(view, query(view, "net_revenue")
if is_exported(view.database, "returns") else None)``. Without returns, or without refund amounts, the line says
so instead of showing gross as net.
"""

import streamlit as st

from dashboard import formatting
from dashboard.pages.common import is_exported, not_exported


def show(view, rows) -> None:
    """Revenue to date, gross and net of refunds (``rows``: net_revenue.sql's), with the average order both ways."""
    if not is_exported(view.database, "returns"):
        st.caption(not_exported("returns", "revenue net of refunds"))
        return
    if rows is None or rows.empty:
        return
    row = rows.iloc[0]
    gross = (f"Revenue to date **{formatting.money(row['revenue'])}** gross, "
             f"average order {formatting.money(row['revenue'] / row['orders']) if row['orders'] else formatting.MISSING}")
    if not row["has_refund_amounts"]:
        st.caption(_dollars(gross + ". Net of refunds: unknown, the returns export carries no refund amount "
                            "(`refund_amount`)."))
        return
    text = (gross + f"; net of refunds **{formatting.money(row['net_revenue'])}** "
            f"({formatting.money(row['refunds'])} refunded on {formatting.plural(row['refunded_returns'], 'return')}), "
            f"average order {formatting.money(row['net_aov']) if row['orders'] else formatting.MISSING} net.")
    if row["returns_without_amount"]:
        text += (f" {formatting.plural(row['returns_without_amount'], 'return')} without an amount "
                 "not subtracted.")
    st.caption(_dollars(text))


def _dollars(text: str) -> str:
    """Markdown with its dollar signs shown as such (two of them would start a formula)."""
    return text.replace("$", "\\$")
