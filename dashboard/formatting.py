"""How every number, stored value and column name reads to a person: one layer for the pages, their tables,
the CSVs meant for people, the figures and the weekly report. No Streamlit import.

How to use it (the same way everywhere)
---------------------------------------
- A number in a card, a sentence or a caption: ``number(value, kind)`` or the kind's own function::

      count(14791)            -> "14,791"          count(10_986_123, short=True) -> "10.99M" (cards)
      money(2433909.65)       -> "$2,433,910"       money(48.7) -> "$48.70"  (no cents from $1,000 on)
      rate(0.4058)            -> "40.6%"            (every rate: one decimal)
      score(42.04)            -> "42.0"             (NPS: one decimal)
      days(1) -> "1 day"      days(12.5) -> "12.5 days"
      plural(1, "customer")   -> "1 customer"       plural(3, "reply", "replies") -> "3 replies"
      change(0.42, 0.40, "rate") -> "+2.0 pts"      change(110, 100, "count") -> "+10.0%"
  Missing values (None, NaN) read ``MISSING`` ("–"), never "None" or "nan".
- A stored data value (a channel, region, touchpoint, category, care group, ...): ``label(value, field)``::

      label("organic_search") -> "Organic search"    label(None) -> "Not recorded"
      label("unknown")        -> "Not recorded"       label("none", "loyalty_tier") -> "No tier"
  Add a value to ``VALUE_LABELS`` (or ``FIELD_LABELS`` when it depends on the field) when the humanised form
  is not what a person says; never build display text from a raw stored value.
- A column name shown as a header: ``header(column)`` (``HEADERS`` first, else humanised, units spelled out).
- A table: ``frame_for_screen(frame)`` for ``st.dataframe`` (numbers stay numbers so columns sort; it returns the
  number format of each column, which ``pages.common.table`` turns into ``column_config``) and
  ``frame_for_people(frame)`` for a CSV meant for people or an HTML table (every cell text). The kind of each
  column is read from its name (``_rate`` -> rate, ``revenue`` -> money, ``customers`` -> count, ``_at`` -> date,
  ...); pass ``kinds={"column": "rate"}`` where the name does not say it.
- A Plotly hover or tick format: ``d3_format(kind, values)``; round tick steps: ``nice_step``/``aligned_ticks``.
- Find what still reads badly with ``dashboard.hygiene``.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

import pandas as pd

MISSING = "–"
NOT_RECORDED = "Not recorded"
CURRENCY = "$"
# Stored values that mean "nobody recorded this" (compared lower-case, after trimming).
UNRECORDED_VALUES = frozenset({"", "unknown", "null", "nan", "none", "n/a", "na", "undefined", "nat"})

# Stored value -> display text, where the humanised form is not what a person would say.
VALUE_LABELS = {
    "nps": "NPS",
    "csat": "CSAT",
    "ces": "CES",
    "email": "E-mail",
    "post_delivery": "After delivery",
    "post_support": "After a support ticket",
    "post_return": "After a return",
    "UK": "UK",
    "web": "Web shop",
    "app": "App",
    "unresolved": "Unresolved",
    "no ticket": "No ticket",
    "< 1 day": "Under 1 day",
    "> 7 days": "Over 7 days",
    "INFO": "Note",
    "WARN": "Warning",
    "ERROR": "Error",
}
# (field, stored value) -> display text, where the same value means different things in different fields.
FIELD_LABELS = {
    ("loyalty_tier", "none"): "No tier",
    ("latest_nps_category", "none"): "Never answered",
    ("nps_category", "none"): "No NPS answer",
    ("lifecycle_state", "active"): "Active",
    ("lifecycle_state", "slipping"): "Slipping",
    ("lifecycle_state", "new"): "New",
    ("lifecycle_state", "one_time"): "One-time buyer",
    ("lifecycle_state", "lapsed"): "Lapsed",
    ("previous_lifecycle_state", "active"): "Active",
    ("previous_lifecycle_state", "slipping"): "Slipping",
    ("previous_lifecycle_state", "new"): "New",
    ("previous_lifecycle_state", "one_time"): "One-time buyer",
    ("previous_lifecycle_state", "lapsed"): "Lapsed",
    ("previous_lifecycle_state", "none"): "No order yet",
    ("previous_rfm_segment", "none"): "No order yet",
    ("group", "treatment"): "Treatment",
    ("group", "holdout"): "Holdout",
}
# Text for a missing value in fields where "Not recorded" is not the right words.
FIELD_MISSING = {
    "comment_masked": "(no comment)",
    "last_comment_masked": "(no comment)",
    "reasons": MISSING,
    "email": MISSING,
    "nps_category": MISSING,
}

# Column name -> header. Columns not listed are humanised: "repeat_customers" -> "Repeat customers".
HEADERS = {
    "customer_id": "Customer",
    "order_id": "Order",
    "email": "E-mail",
    "segment_value": "Segment",
    "customers": "Customers",
    "orders": "Orders",
    "revenue": "Revenue",
    "aov": "Average order value",
    "repeat_rate": "Repeat rate",
    "repeat_customers": "Customers with 2+ orders",
    "second_order_rate_90d": "2nd order within 90 days",
    "second_order_customers": "Ordered again within 90 days",
    "eligible_customers": "Customers 90+ days since first order",
    "eligible_customers_90d": "Customers 90+ days since first order",
    "revenue_per_customer": "Revenue per customer",
    "care_dimension": "Care",
    "care_group": "Group",
    "anchor_orders": "Orders (90+ days old)",
    "repurchased_orders": "Followed by an order within 90 days",
    "repurchase_rate_90d": "Repurchase within 90 days",
    "ci_low": "95% interval, low",
    "ci_high": "95% interval, high",
    "submitted_at": "Submitted",
    "comment_masked": "Comment",
    "last_comment_masked": "Last comment (masked)",
    "kind": "Survey",
    "score": "Score",
    "nps_category": "NPS category",
    "touchpoint": "Touchpoint",
    "first_ordered_at": "First order",
    "last_ordered_at": "Last order",
    "count_orders": "Orders",
    "rfm_segment": "RFM segment",
    "risk_band": "Risk",
    "churn_risk": "Churn risk",
    "p_alive": "Chance still a customer",
    "days_since_last_order": "Days since last order",
    "frequency": "Repeat purchases",
    "predicted_clv_365d": "Predicted value, next 365 days",
    "expected_orders_90d": "Expected orders, next 90 days",
    "latest_nps_category": "Latest NPS answer",
    "has_open_complaint": "Open complaint",
    "is_marketing_opt_in": "Marketing opt-in",
    "reasons": "Why at risk",
    "nps": "NPS",
    "csat": "CSAT",
    "nps_responses": "NPS responses",
    "csat_responses": "CSAT responses",
    "acquisition_channel": "Acquisition channel",
    "region": "Region",
    "first_category": "First-order category",
    "loyalty_tier": "Loyalty tier",
    "period_start": "Period",
    "cohort_start": "Cohort",
    "cohort_size": "Cohort size",
    "lifecycle_state": "Lifecycle state",
    "winback_reason": "Why this customer",
    "expected_next_order_on": "Next order expected by",
    "is_overdue": "Overdue",
    "expected_orders_365d": "Expected orders, next 365 days",
    "predicted_value_90d": "Predicted value, next 90 days",
    "value_if_active_365d": "Value if they stay, next 365 days",
    "value_at_stake_365d": "Value at stake, next 365 days",
    "first_purchased_on": "First order",
    "last_purchased_on": "Last order",
    "has_complained": "Ever complained",
    "has_returned": "Ever returned",
    "campaign_id": "Campaign",
    "sent_at": "Sent",
}
_UNIT_SUFFIXES = (("_90d", " (90 days)"), ("_365d", " (365 days)"), ("_days", " (days)"), ("_at", ""))

# Column kinds, read from the name when not given (the house style puts type and unit in column names).
KINDS = ("count", "money", "rate", "score", "days", "decimal", "date", "bool", "label", "text", "money_cents",
         "percent", "date_iso")
_KIND_BY_NAME = (
    (re.compile(r"^(is|has)_"), "bool"),
    (re.compile(r"(_at|_date|_start|_end|_on)$"), "date"),
    (re.compile(r"(rate|_share|^share|_risk|^p_alive|^ci_low|^ci_high|^csat|_per_order)(_\d+d)?$"), "rate"),
    (re.compile(r"(revenue|aov|clv|spend|_value)(_\w+)?$"), "money"),
    (re.compile(r"^(nps|nps_90d|mean_score)$"), "score"),
    (re.compile(r"(^|_)days(_|$)"), "days"),
    (re.compile(r"(^count_|customers|orders|responses|tickets|returns|matches|rows|size|frequency|purchases)"),
     "count"),
)
# Stored categorical fields whose values are labelled (other text columns are shown verbatim).
LABEL_FIELDS = frozenset({
    "acquisition_channel", "region", "first_category", "loyalty_tier", "segment_value", "touchpoint", "kind",
    "care_group", "care_dimension", "risk_band", "latest_nps_category", "nps_category", "category", "channel",
    "dimension_value", "status", "product_category", "level", "response_group", "lifecycle_state", "group",
})


def is_missing(value) -> bool:
    """True for None, NaN, NaT and pandas' NA."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or bool(pd.isna(value) is True)
    except (TypeError, ValueError):
        return False


def plural(n, word: str, plural_word: str | None = None) -> str:
    """``1 day``, ``2 days``, ``1,204 customers``; ``plural(1, "reply", "replies")``."""
    if is_missing(n):
        return f"{MISSING} {plural_word or word + 's'}"
    text = f"{n:,.0f}" if float(n) == int(n) else f"{n:,.1f}"
    return f"{text} {word if abs(float(n)) == 1 else (plural_word or word + 's')}"


def count(value, short: bool = False) -> str:
    """``14,791``; with ``short`` (a metric card has room for about nine characters) ``10.99M`` from a million."""
    if is_missing(value):
        return MISSING
    if short and abs(value) >= 1_000_000_000:
        return f"{value / 1_000_000_000:,.2f}B"
    if short and abs(value) >= 1_000_000:
        return f"{value / 1_000_000:,.2f}M"
    return f"{value:,.0f}"


def money(value, short: bool = False, cents: bool | None = None) -> str:
    """``$2,433,910`` from $1,000 on, ``$48.70`` below; with ``short`` ``$2.43M`` from a million. ``cents``
    forces the choice, e.g. for amounts compared side by side (``$2,145 → $997``): ``money_pair``."""
    if is_missing(value):
        return MISSING
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if short and magnitude >= 1_000_000_000:
        return f"{sign}{CURRENCY}{magnitude / 1_000_000_000:,.2f}B"
    if short and magnitude >= 1_000_000:
        return f"{sign}{CURRENCY}{magnitude / 1_000_000:,.2f}M"
    if (cents is not None and not cents) or (cents is None and round(magnitude, 2) >= 1_000):
        return f"{sign}{CURRENCY}{magnitude:,.0f}"
    return f"{sign}{CURRENCY}{magnitude:,.2f}"


def money_pair(first, second) -> tuple[str, str]:
    """Two amounts read side by side with one precision: cents only when both are under $1,000."""
    values = [abs(v) for v in (first, second) if not is_missing(v)]
    cents = bool(not values or max(values) < 999.995)
    return money(first, cents=cents), money(second, cents=cents)


def rate(value) -> str:
    """``40.6%`` for 0.4058: every rate with one decimal."""
    if is_missing(value):
        return MISSING
    return f"{100 * value:.1f}%"


def score(value) -> str:
    """An NPS-like score with one decimal: ``42.0``."""
    if is_missing(value):
        return MISSING
    return f"{value:,.1f}"


def days(value) -> str:
    """``1 day``, ``3 days``, ``12.5 days`` (whole numbers without a decimal)."""
    if is_missing(value):
        return MISSING
    rounded = round(float(value), 1)
    return plural(rounded, "day")


def decimal(value, digits: int = 2) -> str:
    """A plain number with separators: ``1,234.57``."""
    if is_missing(value):
        return MISSING
    return f"{value:,.{digits}f}"


def date_text(value, with_weekday: bool = False) -> str:
    """``14 Nov 2026`` (or ``Saturday 14 Nov 2026``)."""
    if is_missing(value):
        return MISSING
    stamp = pd.Timestamp(value)
    return stamp.strftime("%A %d %b %Y" if with_weekday else "%d %b %Y").lstrip("0")


def money_cents(value) -> str:
    """Money for files other tools read: ``1710.56`` (cents, no currency sign, no separators)."""
    if is_missing(value):
        return MISSING
    return f"{value:.2f}"


def percent(value) -> str:
    """A probability rounded to a whole percent: ``73%`` (``<1%`` and ``>99%`` at the ends, never a false 0 or
    100)."""
    if is_missing(value):
        return MISSING
    whole = round(100 * value)
    if whole == 0 and value > 0:
        return "<1%"
    if whole == 100 and value < 1:
        return ">99%"
    return f"{whole:.0f}%"


def date_iso(value) -> str:
    """A date as ``2026-11-15`` (files other tools read)."""
    if is_missing(value):
        return MISSING
    return pd.Timestamp(value).date().isoformat()


def number(value, kind: str, short: bool = False) -> str:
    """Display text of a value of a kind: count, money, rate, score, days, decimal, date, bool, label, text;
    for files other tools read also money_cents, percent and date_iso."""
    if kind == "money_cents":
        return money_cents(value)
    if kind == "percent":
        return percent(value)
    if kind == "date_iso":
        return date_iso(value)
    if kind == "count":
        return count(value, short)
    if kind in ("money", "money2"):
        return money(value, short)
    if kind == "rate":
        return rate(value)
    if kind == "score":
        return score(value)
    if kind == "days":
        return days(value)
    if kind == "decimal":
        return decimal(value)
    if kind == "date":
        return date_text(value)
    if kind == "bool":
        return MISSING if is_missing(value) else ("Yes" if bool(value) else "No")
    if kind == "label":
        return label(value)
    return MISSING if is_missing(value) else str(value)


# What ``change`` says for a change that rounds to nothing: no sign, so that it is not read (or drawn, as a green or
# red arrow) as a rise.
NO_CHANGE = ("0.0%", "0.0 pts")


def change(current, previous, kind: str) -> str | None:
    """``+4.2%`` for counts and money, ``+1.3 pts`` for rates and scores, ``0.0%`` / ``0.0 pts`` for a change that
    rounds to nothing (``is_no_change``); None when not comparable."""
    if is_missing(current) or is_missing(previous):
        return None
    if kind in ("rate", "score"):
        points = 100 * (current - previous) if kind == "rate" else current - previous
        return NO_CHANGE[1] if abs(points) < 0.05 else f"{points:+.1f} pts"
    if previous == 0:
        return None
    relative = (current - previous) / abs(previous)
    return NO_CHANGE[0] if abs(relative) < 0.0005 else f"{relative:+.1%}"


def is_no_change(text: str | None) -> bool:
    """True for a change text whose number reads as nothing (``0.0%``, ``0.0 pts``, ``$0.00 vs holdout``,
    ``0.000 vs recency``: digits, all zero): it gets no arrow and no colour."""
    return text is not None and re.search(r"\d", text) is not None and re.search(r"[1-9]", text) is None


def humanise(text: str) -> str:
    """``organic_search`` -> ``Organic search``; text that already has capitals (``North America``) is kept."""
    words = str(text).replace("_", " ").strip()
    words = re.sub(r"\s+", " ", words)
    if not words:
        return NOT_RECORDED
    if words == words.lower():
        return words[0].upper() + words[1:]
    return words


def is_recorded(value) -> bool:
    """False for a missing value or one of the stored spellings of "unknown"."""
    return not (is_missing(value) or str(value).strip().lower() in UNRECORDED_VALUES)


def label(value, field: str | None = None) -> str:
    """Display text of a stored data value; missing and "unknown" values read "Not recorded"."""
    if field and not is_missing(value) and (field, str(value)) in FIELD_LABELS:
        return FIELD_LABELS[(field, str(value))]
    if not is_recorded(value):
        if is_missing(value) and field in FIELD_MISSING:
            return FIELD_MISSING[field]
        return NOT_RECORDED
    text = str(value).strip()
    if text in VALUE_LABELS:
        return VALUE_LABELS[text]
    if text.lower() in VALUE_LABELS:
        return VALUE_LABELS[text.lower()]
    return humanise(text)


def labels(values, field: str | None = None) -> list[str]:
    """``label`` of each value."""
    return [label(value, field) for value in values]


SNAKE_WORD = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def humanise_words(sentence) -> str:
    """A sentence with stored snake_case values in it made readable: ``complaint about delivery_delay`` ->
    ``complaint about delivery delay`` (for text built in SQL from stored values)."""
    if is_missing(sentence):
        return MISSING

    def readable(match) -> str:
        text = label(match.group())
        return text if text.isupper() or match.group() in VALUE_LABELS else text[0].lower() + text[1:]

    return SNAKE_WORD.sub(readable, str(sentence))


def header(column: str) -> str:
    """A column name as a person reads it: ``HEADERS`` first, else humanised with its unit spelled out."""
    if column in HEADERS:
        return HEADERS[column]
    name = str(column)
    suffix = ""
    for ending, words in _UNIT_SUFFIXES:
        if name.endswith(ending) and len(name) > len(ending):
            name, suffix = name[: -len(ending)], words
            break
    if name.startswith("count_"):
        name = name[len("count_"):]
    return humanise(name) + suffix


def column_kind(column: str, series: pd.Series | None = None) -> str:
    """The kind of a column from its name (and dtype when the name says nothing)."""
    name = str(column)
    if name in LABEL_FIELDS:
        return "label"
    for pattern, kind in _KIND_BY_NAME:
        if pattern.search(name):
            if kind in ("count", "money", "rate", "score", "days") and series is not None \
                    and not pd.api.types.is_numeric_dtype(series):
                continue
            if kind == "date" and series is not None and not (
                    pd.api.types.is_datetime64_any_dtype(series) or series.map(
                        lambda v: isinstance(v, (date, datetime)) or is_missing(v)).all()):
                continue
            return kind
    if series is not None:
        if pd.api.types.is_bool_dtype(series):
            return "bool"
        if pd.api.types.is_datetime64_any_dtype(series):
            return "date"
        if pd.api.types.is_integer_dtype(series):
            return "count"
        if pd.api.types.is_float_dtype(series):
            return "decimal"
    return "text"


def _kinds(frame: pd.DataFrame, kinds: dict | None) -> dict[str, str]:
    given = kinds or {}
    return {column: given.get(column) or column_kind(column, frame[column]) for column in frame.columns}


def frame_for_people(frame: pd.DataFrame, kinds: dict | None = None, fields: dict | None = None,
                     headers: dict | None = None) -> pd.DataFrame:
    """Every cell as the text a person reads, under human headers: for CSVs meant for people and HTML tables.

    ``kinds`` overrides a column's kind; ``fields`` names the field whose labels a column uses (e.g.
    ``{"segment_value": "loyalty_tier"}``); ``headers`` overrides headers. No cell reads "None" or "nan".
    """
    column_kinds = _kinds(frame, kinds)
    shown = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        kind = column_kinds[column]
        values = frame[column]
        if kind == "label":
            field = (fields or {}).get(column, column)
            text = [label(value, field) for value in values]
        elif kind == "text":
            missing = FIELD_MISSING.get(column, MISSING)
            text = [missing if is_missing(value) else str(value) for value in values]
        elif kind == "money":
            text = [money(value) for value in values]
        else:
            text = [number(value, kind) for value in values]
        shown[(headers or {}).get(column) or header(column)] = text
    return shown


# printf formats of st.dataframe's NumberColumn (sprintf-js with Streamlit's "," for thousands).
SCREEN_FORMATS = {"count": "%,.0f", "rate": "%.1f%%", "score": "%,.1f", "days": "%,.1f", "decimal": "%,.2f"}


def frame_for_screen(frame: pd.DataFrame, kinds: dict | None = None, fields: dict | None = None,
                     headers: dict | None = None) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """A table for the screen: human headers, labelled values, numbers kept as numbers (so columns sort).

    Returns the frame and ``{header: (kind, format)}`` for its numeric, date and bool columns: a printf format
    for numbers (rates are multiplied by 100 here, so ``"%.1f%%"`` reads 40.6%), ``"D MMM YYYY"`` for dates.
    Money columns show cents only when every value is under $1,000 (one precision per column, so digits
    line up). Missing text reads "Not recorded" (labels) or "–"; missing numbers are left to the table's
    placeholder (``MISSING``).
    """
    column_kinds = _kinds(frame, kinds)
    shown = pd.DataFrame(index=frame.index)
    formats: dict[str, tuple[str, str]] = {}
    for column in frame.columns:
        kind = column_kinds[column]
        name = (headers or {}).get(column) or header(column)
        values = frame[column]
        if kind == "label":
            field = (fields or {}).get(column, column)
            shown[name] = [label(value, field) for value in values]
        elif kind == "text":
            missing = FIELD_MISSING.get(column, MISSING)
            shown[name] = [missing if is_missing(value) else str(value) for value in values]
        elif kind == "rate":
            shown[name] = pd.to_numeric(values, errors="coerce") * 100
            formats[name] = ("number", SCREEN_FORMATS["rate"])
        elif kind == "money":
            numbers = pd.to_numeric(values, errors="coerce")
            large = bool((numbers.abs().round(2) >= 1_000).any())
            shown[name] = numbers
            formats[name] = ("number", f"{CURRENCY}%,.0f" if large else f"{CURRENCY}%,.2f")
        elif kind in SCREEN_FORMATS:
            numbers = pd.to_numeric(values, errors="coerce")
            whole = bool(((numbers.dropna() % 1) == 0).all())
            shown[name] = numbers
            formats[name] = ("number", "%,.0f" if kind == "days" and whole else SCREEN_FORMATS[kind])
        elif kind == "date":
            shown[name] = pd.to_datetime(values, errors="coerce")
            formats[name] = ("date", "D MMM YYYY")
        elif kind == "bool":
            shown[name] = values
            formats[name] = ("bool", "")
        else:
            shown[name] = values
    return shown, formats


def d3_format(kind: str, values=None) -> str:
    """The d3 format of a kind for Plotly hovers and ticks (money: cents only when every value is under $1,000)."""
    if kind == "rate":
        return ".1%"
    if kind == "money":
        if values is not None:
            numbers = pd.Series(values, dtype="float64").abs()
            if len(numbers) and not (numbers.round(2) >= 1_000).any():
                return "$,.2f"
        return "$,.0f"
    if kind == "score":
        return ",.1f"
    if kind in ("days", "decimal"):
        return ",.1f"
    return ",.0f"


def nice_step(top: float, intervals: int, integer: bool = False) -> float:
    """The smallest round step (1, 2, 2.5 or 5 x 10^k; whole numbers when ``integer``) with
    ``intervals`` x step >= top: 2,301 over 4 intervals -> 1,000 (ticks 0, 1,000, 2,000, 3,000, 4,000)."""
    if top is None or not math.isfinite(top) or top <= 0:
        return 1.0
    raw = top / intervals
    exponent = math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * 10 ** exponent
        if integer and step < 1:
            continue
        if integer and step != int(step):
            continue
        if step * intervals >= top * (1 - 1e-9):
            return float(step)
    return float(10 ** (exponent + 1))


def aligned_ticks(left_top: float, right_top: float, integer_left: bool = False,
                  integer_right: bool = False, choices=(4, 5, 3, 6)) -> tuple[dict, dict]:
    """Tick settings for the two y axes of a dual-axis chart: both start at 0, both have the same number of
    round steps, so their grid lines coincide. Returns two dicts for ``update_layout(yaxis=..., yaxis2=...)``.

    The number of intervals is the one (of ``choices``) that wastes the least height on both axes.
    """
    best = None
    for intervals in choices:
        left = nice_step(left_top, intervals, integer_left)
        right = nice_step(right_top, intervals, integer_right)
        waste = (left * intervals - max(left_top or 0, 0)) / (left * intervals) + \
            (right * intervals - max(right_top or 0, 0)) / (right * intervals)
        if best is None or waste < best[0] - 1e-9:
            best = (waste, intervals, left, right)
    _, intervals, left, right = best
    return ({"range": [0, left * intervals], "tick0": 0, "dtick": left, "tickmode": "linear"},
            {"range": [0, right * intervals], "tick0": 0, "dtick": right, "tickmode": "linear"})
