"""Post-purchase care in the weekly review: the care KPIs week by week (``metrics.weekly_care_history``), what
changed in them against last week in plain sentences, and their rows in the weekly report. No Streamlit import.

A KPI whose table was not exported says "Not exported"; one with nothing to measure says so; neither is a 0.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from dashboard import formatting
from dashboard.metrics import CARE_TABLES, WEEKLY_CARE_KPIS, not_exported

# KPI -> the count its value rests on (a change on a small base is not worth a sentence), and that base's minimum.
BASES = {
    "tickets_7d": ("tickets_7d", 10),
    "tickets_resolved_share_90d": ("tickets_90d", 30),
    "median_resolution_days_90d": ("resolved_tickets_window_90d", 30),
    "repurchase_after_resolved_90d": ("complaints_resolved_90d", 30),
    "repurchase_after_unresolved_90d": ("complaints_unresolved_90d", 30),
    "return_rate_90d": ("orders_90d", 30),
    "silent_unhappy_customers": ("silent_unhappy_customers", 10),
    "median_days_between_orders_90d": ("repeat_orders_90d", 30),
    "survey_responses_per_order_7d": ("orders_7d", 30),
}
# KPIs for which a rise is bad news (their card's change is coloured the other way round).
LOWER_IS_BETTER = {"tickets_7d", "median_resolution_days_90d", "return_rate_90d", "silent_unhappy_customers",
                   "median_days_between_orders_90d"}
# Why a KPI has no value for a week (nothing in its window).
EMPTY = {
    "tickets_resolved_share_90d": "no ticket opened in the 90 days",
    "median_resolution_days_90d": "no ticket resolved in the 90 days",
    "repurchase_after_resolved_90d": "no resolved complaint 90-180 days old",
    "repurchase_after_unresolved_90d": "no unresolved complaint 90-180 days old",
    "return_rate_90d": "no order in the 90 days",
    "median_days_between_orders_90d": "no repeat order in the 90 days",
    "survey_responses_per_order_7d": "no order in the 7 days",
}
# What counts as a change worth a sentence: rates by 2 points, counts and days by 15%.
RATE_POINTS = 0.02
RELATIVE = 0.15
RULE = ("Care changes are listed when a rate moved by 2 points or more, or a count or a median by 15% or more, "
        "against last week, on a base of at least 30 (10 for ticket and silent unhappy counts).")


def _value(history: pd.DataFrame, week: int, key: str):
    if week not in history.index:
        return None
    value = history.loc[week, key]
    return None if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value) else value


def missing_tables(key: str, missing: list[str]) -> list[str]:
    """The tables a KPI needs that the exports lack."""
    return [table for table in CARE_TABLES[key] if table in missing]


def change_sentences(history: pd.DataFrame, exported) -> list[str]:
    """The care KPIs that moved noticeably this week against last week, biggest move first.

    Example: ``"Return rate (orders in the 90 days) rose 2.4 pts to 8.1% (from 5.7%)."``
    """
    missing = not_exported(exported)
    moves = []
    for key, label, kind, _, _ in WEEKLY_CARE_KPIS:
        if missing_tables(key, missing):
            continue
        now, before = _value(history, 0, key), _value(history, 1, key)
        base_key, minimum = BASES[key]
        base = _value(history, 0, base_key) or 0
        if now is None or before is None or base < minimum or now == before:
            continue
        if kind == "rate":
            size = abs(now - before) / RATE_POINTS
        elif before == 0:
            continue
        else:
            size = abs(now - before) / abs(before) / RELATIVE
        if size < 1:
            continue
        direction = "rose" if now > before else "fell"
        change = formatting.change(now, before, kind).lstrip("+-")
        moves.append((size, f"{label} {direction} {change} to {formatting.number(now, kind)} "
                            f"(from {formatting.number(before, kind)})."))
    return [sentence for _, sentence in sorted(moves, key=lambda move: -move[0])]


def kpi_rows(history: pd.DataFrame, exported) -> list[dict]:
    """One row per care KPI: label, kind, definition, this week, last week, 4 weeks ago (text) and the changes,
    or why there is no value ("Not exported: tickets")."""
    missing = not_exported(exported)
    rows = []
    for key, label, kind, _, definition in WEEKLY_CARE_KPIS:
        absent = missing_tables(key, missing)
        if absent:
            rows.append({"key": key, "label": label, "kind": kind, "definition": definition,
                         "missing": f"Not exported: {', '.join(absent)}"})
            continue
        now, before, month = (_value(history, week, key) for week in (0, 1, 4))
        rows.append({"key": key, "label": label, "kind": kind, "definition": definition, "missing": "",
                     "value": now, "previous": before, "month_ago": month,
                     "week_change": formatting.change(now, before, kind),
                     "month_change": formatting.change(now, month, kind)})
    return rows


def report_rows_html(history: pd.DataFrame, exported) -> str:
    """The care KPIs as rows of the weekly report's KPI table (same columns)."""
    cells = []
    for row in kpi_rows(history, exported):
        title = html.escape(row["definition"])
        if row["missing"]:
            cells.append(f"<tr><th title='{title}'>{html.escape(row['label'])}</th>"
                         f"<td class='num flat' colspan='5'>{html.escape(row['missing'])}</td></tr>")
            continue
        texts = [formatting.number(row[name], row["kind"]) for name in ("value", "previous", "month_ago")]
        changes = [row["week_change"] or formatting.MISSING, row["month_change"] or formatting.MISSING]
        cells.append(
            f"<tr><th title='{title}'>{html.escape(row['label'])}</th><td class='num'>{texts[0]}</td>"
            f"<td class='num'>{texts[1]}</td><td class='num'>{changes[0]}</td><td class='num'>{texts[2]}</td>"
            f"<td class='num'>{changes[1]}</td></tr>")
    return "\n".join(cells)
