"""Find what reads badly on a page, in a table or in a figure: stored snake_case values, "None", "nan", "1 days",
"unknown" shown as a value, and a period that is not over drawn as if it were. No Streamlit import.

Used by the tests on every page (AppTest and a real browser) and handy while building a page::

    from dashboard import hygiene
    hygiene.text_problems("Orders from customers acquired via organic_search rose")   # -> ["... organic_search ..."]
    hygiene.figure_problems(fig, as_of=date(2026, 11, 15))   # a go.Figure or a chart spec (JSON)
    hygiene.frame_problems(shown_frame)

Each function returns a list of problems (empty when clean), each naming what it found and where.

The unfinished-period rule: every figure with dates on an axis declares its periods in
``layout.meta["periods"]`` as ``{"grain": "week"|"month"|"quarter"|"day", "anchor": "start"|"end",
"window_days": n}`` (``figures.declare_periods``): a point dated ``x`` covers the period starting (or ending)
at ``x``, and it is final once that period and ``window_days`` more have passed by the end of the as-of day.
A point that is not final must be drawn in a trace whose name and hover say "in progress".
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pandas as pd

# snake_case words, not file names, paths, code (``st.date_input``, ``x_y.sql``, ``f(x_y)``) or URLs.
SNAKE_CASE = re.compile(r"(?<![\w./$`=?&-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?!\w|[/`(=-]|\.\w)")
NONE_WORD = re.compile(r"(?<![\w-])None(?![\w-])")
NAN_WORD = re.compile(r"(?<![\w-])(?:nan|NaN|NAN|NaT|inf|-inf)(?![\w-])")
ONE_PLURAL = re.compile(r"(?<![\d.,])\b1 ([a-z]{2,}s)\b")
# "unknown"/"none" used as a value ("acquired via unknown", "in unknown", "unknown-tier", "none-tier", ": unknown"),
# not the words in prose ("unknown survey kind").
UNKNOWN_WORD = re.compile(r"\b(?:via|in|was|from|is|of|by|for)\s+(?:unknown|none)\b|\b(?:unknown|none)-[a-z]"
                          r"|(?:^|[:(\"'])\s*(?:unknown|none)\s*(?:$|[)\"',.;])")
NOT_PLURALS = frozenset({"this", "is", "was", "has", "its", "plus", "across", "less", "always", "yes", "as", "us"})
# Words a cell or a category must never be on its own.
BARE_VALUES = frozenset({"none", "null", "nan", "nat", "unknown", "undefined", "n/a"})
TEMPLATE_FIELD = re.compile(r"%\{[^}]*\}|<extra>.*?</extra>|<[^>]+>")
IN_PROGRESS = "in progress"


def text_problems(text: str, where: str = "", allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Problems in text a person reads. ``allowed`` lists tokens that may appear (e.g. column names on the
    Data page, where they are the subject)."""
    if text is None:
        return [f"{where}: a missing value (None) instead of text"]
    text = str(text)
    problems = []
    for match in SNAKE_CASE.finditer(text):
        if match.group() not in allowed:
            problems.append(f"{where}: stored value {match.group()!r} shown in snake_case in {_context(text, match)}")
    for pattern, what in ((NONE_WORD, "None"), (NAN_WORD, "nan")):
        for match in pattern.finditer(text):
            if match.group() not in allowed:
                problems.append(f"{where}: {what!r} shown in {_context(text, match)}")
    for match in ONE_PLURAL.finditer(text):
        if match.group(1) not in NOT_PLURALS and match.group(1) not in allowed:
            problems.append(f"{where}: singular count with a plural word {match.group()!r} in {_context(text, match)}")
    for match in UNKNOWN_WORD.finditer(text):
        if "unknown" not in allowed:
            problems.append(f"{where}: a missing value shown as 'unknown'/'none' (say 'Not recorded') in "
                            f"{_context(text, match)}")
    return problems


def value_problems(value, where: str = "", allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Problems in one table cell or chart category: text checks, and a bare "none"/"unknown"/"nan"."""
    if value is None:
        return [f"{where}: empty cell shows 'None'"]
    if isinstance(value, float) and value != value:
        return [f"{where}: empty cell shows 'nan'"]
    if not isinstance(value, str):
        return []
    if value.strip().lower() in BARE_VALUES:
        return [f"{where}: {value!r} shown as a value"]
    return text_problems(value, where, allowed)


def frame_problems(frame: pd.DataFrame, where: str = "table", placeholder: str | None = None,
                   allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Problems in a table as shown: headers, text cells, and missing numbers without a placeholder. ``allowed``
    lists tokens that may appear (identifiers in a table whose subject they are)."""
    problems = []
    for column in frame.columns:
        problems += text_problems(str(column), f"{where} header")
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            for index, value in enumerate(values):
                if pd.isna(value) and not placeholder:
                    problems.append(f"{where} column {column!r} row {index}: empty cell without a placeholder")
                elif isinstance(value, str) and value not in allowed:
                    problems += value_problems(value, f"{where} column {column!r} row {index}", allowed)
        elif values.isna().any() and not placeholder:
            problems.append(f"{where} column {column!r}: missing numbers shown as 'None' (no placeholder)")
    return problems


def _context(text: str, match: re.Match) -> str:
    start, end = max(0, match.start() - 40), min(len(text), match.end() + 40)
    return repr(text[start:end])


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        found = []
        for item in value:
            found += _strings(item)
        return found
    return []


def _is_date(value) -> bool:
    return isinstance(value, str) and bool(re.match(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?(\.\d+)?)?$", value))


def _period_bounds(stamp: date, grain: str, anchor: str) -> tuple[date, date]:
    """First and last day of the period a point dated ``stamp`` covers."""
    if grain == "day":
        return stamp, stamp
    length = {"week": pd.DateOffset(days=7), "month": pd.DateOffset(months=1),
              "quarter": pd.DateOffset(months=3)}[grain]
    if anchor == "end":
        return (pd.Timestamp(stamp) - length + pd.DateOffset(days=1)).date(), stamp
    return stamp, (pd.Timestamp(stamp) + length - pd.DateOffset(days=1)).date()


def is_final(stamp: date, grain: str, anchor: str, window_days: int, as_of: date) -> bool:
    """True when the period a point covers, and window_days after it, ended by the end of the as-of day."""
    _, last = _period_bounds(stamp, grain, anchor)
    return last + timedelta(days=int(window_days or 0)) <= as_of


def as_spec(figure) -> dict:
    """A figure's JSON as the browser gets it (dates as ISO text): from a Plotly figure, a JSON string or a dict."""
    if hasattr(figure, "to_json"):
        return json.loads(figure.to_json())
    if isinstance(figure, str):
        return json.loads(figure)
    return json.loads(json.dumps(figure, default=str))


def figure_problems(figure, as_of: date | None = None, where: str = "figure") -> list[str]:
    """Problems in a Plotly figure (a ``go.Figure``, or its JSON as a chart's spec carries it): every text a
    person reads (titles, axis titles, legend names, categories, point labels, hover text, annotations), and,
    given the as-of date, every point of an unfinished period drawn without the "in progress" mark."""
    spec = as_spec(figure)
    layout = spec.get("layout", {}) or {}
    data = spec.get("data", []) or []
    title = _title(layout.get("title"))
    where = f"{where} {title!r}" if title else where
    problems = []
    texts = [title]
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            texts.append(_title(axis.get("title")))
            texts += _strings(axis.get("ticktext"))
    texts += [annotation.get("text", "") for annotation in layout.get("annotations", []) or []]
    for text in texts:
        if text:
            problems += text_problems(TEMPLATE_FIELD.sub(" ", text), where)
    for index, trace in enumerate(data):
        label = f"{where} trace {trace.get('name') or index}"
        if trace.get("showlegend") is not False and trace.get("name"):
            problems += text_problems(trace["name"], f"{label} legend")
        for key in ("x", "y"):
            values = trace.get(key)
            if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
                if not all(_is_date(v) for v in values):
                    for value in values:
                        problems += value_problems(TEMPLATE_FIELD.sub(" ", value), f"{label} category")
        for key in ("text", "hovertext"):
            for value in _strings(trace.get(key)):
                problems += text_problems(TEMPLATE_FIELD.sub(" ", value), f"{label} {key}")
        for value in _strings(trace.get("customdata")):
            if not _is_date(value):
                problems += text_problems(value, f"{label} hover data")
        template = trace.get("hovertemplate")
        if isinstance(template, str):
            problems += text_problems(TEMPLATE_FIELD.sub(" ", template), f"{label} hover")
        if isinstance(trace.get("colorbar"), dict):
            problems += text_problems(_title(trace["colorbar"].get("title")), f"{label} colour bar")
    if as_of is not None:
        problems += unfinished_period_problems(spec, as_of, where)
    return problems


def _title(title) -> str:
    if isinstance(title, dict):
        return title.get("text") or ""
    return title or ""


def unfinished_period_problems(figure, as_of: date, where: str = "figure") -> list[str]:
    """Points of periods not over (or windows not elapsed) at the as-of date drawn without "in progress"."""
    spec = as_spec(figure)
    layout = spec.get("layout", {}) or {}
    meta = layout.get("meta") if isinstance(layout.get("meta"), dict) else {}
    periods = (meta or {}).get("periods")
    problems = []
    for index, trace in enumerate(spec.get("data", []) or []):
        for key in ("x", "y"):
            values = trace.get(key)
            present = [v for v in values if v is not None] if isinstance(values, list) else []
            if not (present and all(_is_date(v) for v in present)):
                continue
            if not periods:
                problems.append(f"{where}: dates on the {key} axis but no period declared (figures.declare_periods)")
                return problems
            marked = IN_PROGRESS in (trace.get("name") or "").lower() and (
                IN_PROGRESS in str(trace.get("hovertemplate") or "").lower()
                or IN_PROGRESS in " ".join(_strings(trace.get("hovertext"))).lower())
            for value in values:
                if value is None:
                    continue
                stamp = pd.Timestamp(value).date()
                if not is_final(stamp, periods["grain"], periods.get("anchor", "start"),
                                periods.get("window_days", 0), as_of) and not marked:
                    problems.append(f"{where} trace {trace.get('name') or index}: the point at {stamp} is not final "
                                    f"at {as_of} ({periods}) but is drawn without the 'in progress' mark")
    return problems
