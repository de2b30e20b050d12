"""Plain-language findings for the weekly review: which segments moved apart from the total, as sentences.

A segment that rises 22% while the whole company rises 21% has not moved: it moved with the total. So each
segment's week-over-week change is compared with the change of the total it belongs to (the customers in the
sidebar's filters), and only a segment whose change differs from the total's by enough to matter, and by more
than chance, gets a sentence; rises and falls alike. The first sentence is always the total's own movement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard import formatting

METRIC_WORDS = {
    "orders": ("Orders", "orders"),
    "revenue": ("Revenue", "revenue"),
    "new_customers": ("New customers", "new customers"),
    "active_customers": ("Active customers", "active customers"),
}
METRIC_RANK = {"orders": 0, "revenue": 1, "active_customers": 2, "new_customers": 3}
# A segment must have had at least this much last week for its change to be worth a sentence.
MINIMUM_BASE = {"orders": 20, "revenue": 1000.0, "new_customers": 10, "active_customers": 20}
# ... its change must differ from the total's by at least this many percentage points ...
MINIMUM_GAP = 0.10
# ... the difference must be at least this much in the metric's unit ...
MINIMUM_EXCESS = {"orders": 10, "revenue": 1000.0, "new_customers": 10, "active_customers": 10}
# ... and at least this many standard deviations of week-to-week noise (counts vary like Poisson counts;
# revenue like the segment's orders times its average order value).
MINIMUM_Z = 2.0
RULE = (f"A segment is named when its change differs from the total's by at least {100 * MINIMUM_GAP:.0f} points, "
        "by at least 10 orders, customers or $1,000, and by more than week-to-week chance; segments below 20 orders "
        "or 10 new customers last week, and values not recorded, are left out.")
NOTHING_MOVED = "Nothing moved apart from the total"


def _amount(metric: str, value: float, cents: bool | None = None) -> str:
    return formatting.money(value, cents=cents) if metric == "revenue" else formatting.count(value)


def _from_to(metric: str, before: float, after: float) -> str:
    """``1,203 → 1,252`` or ``$2,145 → $997`` (one precision for both amounts)."""
    if metric == "revenue":
        return " → ".join(formatting.money_pair(before, after))
    return f"{formatting.count(before)} → {formatting.count(after)}"


def _direction(change_rate: float | None, this_week: float, previous_week: float) -> str:
    if change_rate is None or pd.isna(change_rate):
        return "rose from zero" if this_week else "stayed at zero"
    if abs(change_rate) < 0.0005:
        return "held level"
    return f"{'rose' if change_rate > 0 else 'fell'} {abs(100 * change_rate):.1f}%"


def totals(movements: pd.DataFrame) -> pd.DataFrame:
    """The total of each metric this week and last (every dimension adds up to it: each customer has one value
    per dimension)."""
    if movements is None or movements.empty:
        return pd.DataFrame(columns=["metric", "this_week", "previous_week", "change_rate"])
    first = movements["dimension"].iloc[0]
    rows = movements[movements["dimension"] == first].groupby("metric", sort=False)[["this_week", "previous_week"]].sum()
    rows["change_rate"] = (rows["this_week"] - rows["previous_week"]) / rows["previous_week"].where(
        rows["previous_week"] != 0)
    return rows.reset_index()


def segment_movements(movements: pd.DataFrame) -> pd.DataFrame:
    """Every segment's movement beside its total's: the expected value had it moved with the total, the excess
    over it, the gap in points and a noise score ``z``; ``is_notable`` marks the ones worth a sentence."""
    columns = list(movements.columns) + ["total_change_rate", "expected", "excess", "gap", "z", "is_notable"]
    if movements is None or movements.empty:
        return pd.DataFrame(columns=columns)
    total = totals(movements).set_index("metric")["change_rate"]
    rows = movements.copy()
    rows["total_change_rate"] = rows["metric"].map(total)
    rows["expected"] = rows["previous_week"] * (1 + rows["total_change_rate"])
    rows["excess"] = rows["this_week"] - rows["expected"]
    rows["gap"] = rows["change_rate"] - rows["total_change_rate"]
    # The noise of a count is the square root of its expected value (at least 1); revenue's is the segment's
    # average order value last week times the noise of its expected orders (none when it had no orders).
    # Column-wise: a row-by-row loop was most of a segment change's rerun of the Overview (~20 ms at 1M).
    orders = rows.loc[rows["metric"] == "orders", ["dimension", "segment_value", "previous_week", "expected"]]
    orders = orders.drop_duplicates(["dimension", "segment_value"])
    matched = rows[["dimension", "segment_value"]].merge(orders, how="left", on=["dimension", "segment_value"])
    order_base = matched["previous_week"].to_numpy(dtype=float, na_value=np.nan)
    expected_orders = matched["expected"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        revenue_noise = np.where(order_base > 0, rows["previous_week"].to_numpy(dtype=float, na_value=np.nan)
                                 / order_base * np.sqrt(np.maximum(expected_orders, 1.0)), np.nan)
    count_noise = np.sqrt(np.maximum(rows["expected"].to_numpy(dtype=float, na_value=np.nan), 1.0))
    noise = np.where((rows["metric"] == "revenue").to_numpy(), revenue_noise, count_noise)
    rows["z"] = rows["excess"].abs() / pd.Series(noise, index=rows.index)
    values_per_dimension = rows[rows["previous_week"] > 0].groupby("dimension")["segment_value"].nunique()
    rows["is_notable"] = (
        rows["segment_value"].map(formatting.is_recorded)
        & rows["dimension"].map(values_per_dimension).fillna(0).gt(1)
        & (rows["previous_week"] >= rows["metric"].map(MINIMUM_BASE).fillna(0))
        & rows["gap"].abs().ge(MINIMUM_GAP)
        & rows["excess"].abs().ge(rows["metric"].map(MINIMUM_EXCESS).fillna(0))
        & rows["z"].ge(MINIMUM_Z)
    ).fillna(False).astype(bool)
    return rows


def total_sentence(movements: pd.DataFrame, is_segmented: bool = False) -> str | None:
    """``All orders rose 4.1% week over week (1,203 → 1,252); revenue rose 3.2% (...); ...``."""
    rows = totals(movements).set_index("metric")
    if rows.empty:
        return None
    parts = []
    for metric in ("orders", "revenue", "new_customers", "active_customers"):
        if metric not in rows.index:
            continue
        row = rows.loc[metric]
        _, noun = METRIC_WORDS[metric]
        parts.append(f"{noun} {_direction(row['change_rate'], row['this_week'], row['previous_week'])} "
                     f"({_from_to(metric, row['previous_week'], row['this_week'])})")
    whole = "In the filtered segment as a whole" if is_segmented else "Company-wide"
    return f"{whole}, week over week: " + "; ".join(parts) + "."


def movement_sentences(movements: pd.DataFrame, limit: int = 5, is_segmented: bool = False) -> list[str]:
    """The total's movement, then the segments that moved apart from it (biggest surprise first, one sentence
    per segment), or "Nothing moved apart from the total".

    Example: ``"Orders from customers acquired via paid social fell 18.0% (412 → 338) while all orders rose
    4.1%: 91 fewer than if they had moved with the total."``
    """
    if movements is None or movements.empty:
        return ["No orders in the last two weeks, so nothing to compare."]
    sentences = [total_sentence(movements, is_segmented)]
    rows = segment_movements(movements)
    # Biggest surprise first; on a tie (a segment's orders and active customers often move alike) orders, then
    # revenue, active and new customers.
    notable = rows[rows["is_notable"]].assign(
        rounded_z=lambda frame: frame["z"].round(6),
        metric_rank=lambda frame: frame["metric"].map(METRIC_RANK).fillna(len(METRIC_RANK)),
    ).sort_values(["rounded_z", "metric_rank", "dimension", "segment_value"], ascending=[False, True, True, True])
    notable = notable.drop_duplicates(["dimension", "segment_value"]).head(limit)
    if notable.empty:
        sentences.append(f"{NOTHING_MOVED}: no segment's change differed from the total's by "
                         f"{100 * MINIMUM_GAP:.0f} points or more beyond week-to-week chance.")
        return sentences
    for row in notable.itertuples():
        _, noun = METRIC_WORDS.get(row.metric, (row.metric, row.metric))
        total_words = _direction(row.total_change_rate, 0, 0)
        difference = abs(row.excess)
        more = "more" if row.excess > 0 else ("less" if row.metric == "revenue" else "fewer")
        pronoun = "it" if row.metric == "revenue" else "they"
        sentences.append(
            f"{subject_phrase(row.metric, row.dimension, row.segment_value)} "
            f"{_direction(row.change_rate, row.this_week, row.previous_week)} "
            f"({_from_to(row.metric, row.previous_week, row.this_week)}) while all {noun} {total_words}: "
            f"{_amount(row.metric, difference, cents=bool(difference < 999.995))} {more} than if {pronoun} had moved with "
            "the total."
        )
    return sentences


def _in_sentence(value, field: str) -> str:
    """A stored value as it reads inside a sentence: lower case when it was stored lower case."""
    text = formatting.label(value, field)
    stored = str(value)
    if stored == stored.lower() and not text.isupper():
        return text[0].lower() + text[1:]
    return text


def segment_phrase(dimension: str, value) -> str:
    """``customers acquired via paid social``, ``customers in North America``, ``gold-tier customers``."""
    return customers_phrase(dimension, value, "customers")


def customers_phrase(dimension: str, value, noun: str) -> str:
    """The segment's customers, with ``noun`` as the head: ``new customers acquired via paid social``,
    ``active gold-tier customers``, ``customers in the UK``."""
    if dimension == "acquisition_channel":
        return f"{noun} acquired via {_in_sentence(value, dimension)}"
    if dimension == "region":
        place = formatting.label(value, dimension)
        the = "the " if place in ("UK", "US", "USA", "EU") or place.startswith(("United ", "Netherlands")) else ""
        return f"{noun} in {the}{place}"
    if dimension == "first_category":
        return f"{noun} whose first order was {_in_sentence(value, dimension)}"
    if dimension == "loyalty_tier":
        if str(value).strip().lower() == "none":
            return f"{noun} with no loyalty tier"
        head, _, rest = noun.rpartition(" ")
        return f"{head + ' ' if head else ''}{_in_sentence(value, dimension)}-tier {rest}"
    return f"{noun} with {formatting.header(dimension).lower()} {formatting.label(value, dimension)}"


def subject_phrase(metric: str, dimension: str, value) -> str:
    """The sentence's subject: ``Orders from customers in Europe``, ``New gold-tier customers``."""
    if metric in ("orders", "revenue"):
        return f"{METRIC_WORDS[metric][0]} from {customers_phrase(dimension, value, 'customers')}"
    adjective = "New" if metric == "new_customers" else "Active"
    return customers_phrase(dimension, value, f"{adjective} customers")
