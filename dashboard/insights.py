"""Plain-language findings for the weekly review: the largest movements by segment, as sentences."""

from __future__ import annotations

import math

import pandas as pd

from dashboard.filters import SEGMENT_DIMENSIONS

METRIC_WORDS = {
    "orders": ("Orders", "orders"),
    "revenue": ("Revenue", "revenue"),
    "new_customers": ("New customers", "new customers"),
    "active_customers": ("Active customers", "active customers"),
}
# A segment must have had at least this much last week for its change to be worth a sentence.
MINIMUM_BASE = {"orders": 20, "revenue": 1000.0, "new_customers": 10, "active_customers": 20}


def _amount(metric: str, value: float) -> str:
    if metric == "revenue":
        return f"${value:,.0f}"
    return f"{value:,.0f}"


def movement_sentences(movements: pd.DataFrame, limit: int = 5) -> list[str]:
    """The largest week-over-week movements by segment, as sentences, biggest first.

    Example output: ``"Orders from customers acquired via paid_social fell 32% (210 → 143)."``
    A movement is ranked by |change rate| x sqrt(last week's value), so a big segment's 20% move
    outranks a tiny segment's 300%; segments below a minimum size are ignored.
    """
    if movements is None or movements.empty:
        return []
    rows = movements.copy()
    rows["minimum"] = rows["metric"].map(MINIMUM_BASE).fillna(0)
    rows = rows[(rows["previous_week"] >= rows["minimum"]) & rows["change_rate"].notna()]
    rows = rows[rows["change"] != 0]
    if rows.empty:
        return []
    rows["weight"] = rows["change_rate"].abs() * rows["previous_week"].clip(lower=0).map(math.sqrt)
    rows = rows.sort_values(["weight", "dimension", "segment_value", "metric"], ascending=[False, True, True, True])
    sentences = []
    for row in rows.head(limit).itertuples():
        subject, _ = METRIC_WORDS.get(row.metric, (row.metric, row.metric))
        who = _segment_phrase(row.dimension, row.segment_value)
        direction = "rose" if row.change > 0 else "fell"
        sentences.append(
            f"{subject} from {who} {direction} {abs(row.change_rate):.0%} week over week "
            f"({_amount(row.metric, row.previous_week)} → {_amount(row.metric, row.this_week)})."
        )
    return sentences


def _segment_phrase(dimension: str, value: str) -> str:
    if dimension == "acquisition_channel":
        return f"customers acquired via {value}"
    if dimension == "region":
        return f"customers in {value}"
    if dimension == "first_category":
        return f"customers whose first order was {value}"
    if dimension == "loyalty_tier":
        return f"{value}-tier customers"
    return f"{SEGMENT_DIMENSIONS.get(dimension, dimension)} {value}"
