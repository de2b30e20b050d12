"""Data checks: what is wrong with the exports, as findings a person can act on.

A finding names the table (or file), the column, what is wrong and how many rows it affects.
ERROR means a table or column cannot be used; WARN means rows are left out or look suspicious
but the dashboard keeps working; INFO is context (an optional table that was not exported).
The row rules here are the same ones ``model.py`` applies when it builds the clean tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from dashboard.findings import LEVELS, Finding, printable  # noqa: F401 (Finding and printable are used from here too)

EARLIEST_VALID_AT = datetime(1990, 1, 1)


# (column, SQL condition that makes a row unusable, message): rows matching are left out.
# model.py builds clean_<table> as "every condition is false" (a NULL condition leaves the row out too),
# so each condition is written to be true or false, never NULL, except where a NULL is already left out.
UNUSABLE_ROW_RULES: dict[str, list[tuple[str, str, str]]] = {
    "orders": [
        ("order_id", "order_id is null", "missing order_id (null or empty), rows left out"),
        ("customer_id", "customer_id is null", "missing customer_id (null or empty), rows left out"),
        ("ordered_at", "ordered_at is null", "missing or unreadable timestamp, rows left out"),
        ("ordered_at", "ordered_at < $earliest_at", "timestamp before 1990, rows left out"),
        ("ordered_at", "ordered_at >= $latest_at", "timestamp in the future, rows left out"),
        ("revenue", "revenue is null", "missing or unreadable revenue, rows left out"),
    ],
    "surveys": [
        ("customer_id", "customer_id is null", "missing customer_id (null or empty), rows left out"),
        ("submitted_at", "submitted_at is null", "missing or unreadable timestamp, rows left out"),
        ("submitted_at", "submitted_at < $earliest_at", "timestamp before 1990, rows left out"),
        ("submitted_at", "submitted_at >= $latest_at", "timestamp in the future, rows left out"),
        ("kind", "coalesce(lower(trim(kind)), '') not in ('nps', 'csat')",
         "unknown survey kind (expected nps or csat), rows left out"),
        ("score", "coalesce(lower(trim(kind)) = 'nps', false) and (score is null or score < 0 or score > 10)",
         "NPS score missing or outside 0-10, rows left out"),
        ("score", "coalesce(lower(trim(kind)) = 'csat', false) and (score is null or score < 1 or score > 5)",
         "CSAT score missing or outside 1-5, rows left out"),
    ],
    "tickets": [
        ("customer_id", "customer_id is null", "missing customer_id (null or empty), rows left out"),
        ("opened_at", "opened_at is null", "missing or unreadable timestamp, rows left out"),
        ("opened_at", "opened_at < $earliest_at", "timestamp before 1990, rows left out"),
        ("opened_at", "opened_at >= $latest_at", "timestamp in the future, rows left out"),
        # An open ticket has no resolved_at: it is kept.
        ("resolved_at", "coalesce(resolved_at < opened_at, false)", "resolved before it was opened, rows left out"),
    ],
    "returns": [
        ("customer_id", "customer_id is null", "missing customer_id (null or empty), rows left out"),
        ("requested_at", "requested_at is null", "missing or unreadable timestamp, rows left out"),
        ("requested_at", "requested_at < $earliest_at", "timestamp before 1990, rows left out"),
        ("requested_at", "requested_at >= $latest_at", "timestamp in the future, rows left out"),
    ],
    "customers": [
        ("customer_id", "customer_id is null", "missing customer_id (null or empty), rows left out"),
    ],
    "campaigns": [
        ("campaign_id", "campaign_id is null", "missing campaign_id (null or empty), rows left out"),
        ("customer_id", "customer_id is null", "missing customer_id (null or empty), rows left out"),
        ("group", "coalesce(lower(trim(\"group\")), '') not in ('treatment', 'holdout')",
         "group is not treatment or holdout, rows left out"),
        ("sent_at", "sent_at is null", "missing or unreadable timestamp, rows left out"),
        ("sent_at", "sent_at < $earliest_at", "timestamp before 1990, rows left out"),
        ("sent_at", "sent_at >= $latest_at", "timestamp in the future, rows left out"),
    ],
}

# Rows kept but worth knowing about: (column, condition, message).
SUSPICIOUS_ROW_RULES: dict[str, list[tuple[str, str, str]]] = {
    "orders": [
        ("revenue", "revenue < 0", "negative revenue (kept as a refund adjustment)"),
    ],
    "returns": [
        ("refund_amount", "refund_amount < 0", "negative refund amount (kept)"),
    ],
}

# Identifier columns whose duplicates are left out (the first by time is kept).
UNIQUE_KEYS = {
    "orders": ("order_id", "ordered_at"),
    "surveys": ("response_id", "submitted_at"),
    "tickets": ("ticket_id", "opened_at"),
    "returns": ("return_id", "requested_at"),
    "customers": ("customer_id", "created_at"),
    # a customer listed twice in one campaign counts once (the earliest send)
    "campaigns": ("campaign_id || '|' || customer_id", "sent_at"),
}

# Activity tables checked for customers that have no usable order.
ORPHAN_CHECKS = ("surveys", "tickets", "returns")

# How a canonical column kind is named in a message.
KIND_NAMES = {"id": "an id", "text": "text", "timestamp": "a timestamp", "number": "a number", "boolean": "true/false"}
# Columns whose readable values are narrower than their kind.
READABLE_AS = {("surveys", "score"): "a score (a number; n/10 on an NPS survey, n/5 on a CSAT one)"}


def row_rule_parameters(now: datetime | None = None) -> dict[str, datetime]:
    """Bound values for the rules: the earliest plausible time and 'the future' (now + 1 day)."""
    now = now or datetime.utcnow()
    return {"earliest_at": EARLIEST_VALID_AT, "latest_at": now + timedelta(days=1)}


def usable_condition(table: str) -> str:
    """The SQL condition a usable row meets: no unusable-row rule holds (a rule that is NULL holds).

    Takes $earliest_at and $latest_at. model.py's clean views must keep exactly these rows (then the
    first copy of each id), so checks and the model agree on what is left out.
    """
    conditions = [f"coalesce(not ({condition}), false)" for _, condition, _ in UNUSABLE_ROW_RULES.get(table, [])]
    return " and ".join(conditions) or "true"


def _bound(sql: str, parameters: dict) -> dict:
    """The parameters a statement uses (DuckDB refuses unused ones)."""
    return {name: value for name, value in parameters.items() if f"${name}" in sql}


def check_rows(con, catalog, now: datetime | None = None) -> list[Finding]:
    """Row-level findings for every usable table of a registered catalog (see ``sources.register_sources``).

    A table that cannot be read while checking gives one ERROR instead of an exception.
    """
    findings: list[Finding] = []
    parameters = row_rule_parameters(now)
    for table, source in catalog.tables.items():
        if not source.is_usable:
            continue
        try:
            findings.extend(_table_findings(con, table, source, parameters))
        except duckdb.Error as error:
            findings.append(Finding("ERROR", table, "", f"cannot be checked: {_first_line(error)}"))
    try:
        findings.extend(_orphan_findings(con, catalog, parameters))
    except duckdb.Error as error:
        message = f"customers without orders cannot be checked: {_first_line(error)}"
        findings.append(Finding("ERROR", "orders", "", message))
    return findings


def _first_line(error: BaseException) -> str:
    """The first line of an error message, cut to fit a finding."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:200]


def _quoted(name: str) -> str:
    """A canonical column name for SQL (campaigns' "group" is a keyword)."""
    return '"' + name.replace('"', '""') + '"'


def _table_findings(con, table: str, source, parameters: dict) -> list[Finding]:
    """Unreadable values, rows matching each rule, duplicates and the total left out, from one scan of the table.

    ``raw_<table>`` (see ``sources._create_views``) has the canonical columns next to, per column, whether its
    source value is present but unreadable (and that value as text), and ``is_header_row``, so an unreadable value
    can be counted with an example, and a row that repeats the column names is counted once, as that.
    """
    converted = [(canonical, column, column_type) for canonical, (column, column_type, _) in source.columns.items()
                 if column]
    rules = UNUSABLE_ROW_RULES.get(table, []) + SUSPICIOUS_ROW_RULES.get(table, [])
    key, _ = UNIQUE_KEYS[table]
    measures = ["count(*)", "count(*) filter (where is_passing)",
                f"count(*) filter (where is_passing and {key} is null) + "
                f"count(distinct {key}) filter (where is_passing)",
                "count(*) filter (where is_header_row)"]
    for canonical, _, _ in converted:
        unreadable = f"not is_header_row and is_unreadable_{canonical}"
        measures.append(f"count(*) filter (where {unreadable})")
        measures.append(f"min(unreadable_{canonical}) filter (where {unreadable})")
    id_columns = [(canonical, column, column_type) for canonical, column, column_type in converted
                  if source.kinds[canonical] == "id"]
    measures += [f"count(*) filter (where is_imprecise_{canonical})" for canonical, _, _ in id_columns]
    measures += [f"count(*) filter (where not is_header_row and ({condition}))" for _, condition, _ in rules]
    sql = (
        f"select {', '.join(measures)} from (select *, not is_header_row and {usable_condition(table)} as is_passing "
        f"from raw_{table})"
    )
    row_count, passing_count, usable_count, header_count, *values = con.execute(sql, _bound(sql, parameters)).fetchone()

    findings = []
    if header_count:
        findings.append(Finding("WARN", table, "", "rows repeat the column names (a header written into the data), "
                                "left out", header_count))
    for index, (canonical, source_column, source_type) in enumerate(converted):
        count, example = values[2 * index], values[2 * index + 1]
        if count:
            kind = READABLE_AS.get((table, canonical), KIND_NAMES[source.kinds[canonical]])
            consequence = "rows left out" if _left_out_by_null(table, canonical) else "read as empty"
            example_text = f", e.g. {example!r}" if example is not None else ""
            findings.append(
                Finding("WARN", table, canonical,
                        f"values in column {source_column!r} ({source_type}) cannot be read as {kind}{example_text}; "
                        f"{consequence}", count)
            )
    imprecise_counts = values[2 * len(converted):2 * len(converted) + len(id_columns)]
    for (canonical, source_column, source_type), count in zip(id_columns, imprecise_counts):
        if count:
            findings.append(Finding(
                "WARN", table, canonical,
                f"ids in column {source_column!r} stored as floats are 2^53 or more, beyond the whole numbers a float "
                "holds exactly: they may not match the same ids stored as integers or text (rows kept)", count))
    for (column, _, message), count in zip(rules, values[2 * len(converted) + len(id_columns):]):
        if count:
            findings.append(Finding("WARN", table, column, message, count))
    if passing_count > usable_count:
        duplicates = passing_count - usable_count
        column, message = ("customer_id", "customer listed twice in one campaign, later copies left out") \
            if table == "campaigns" else (key, "duplicate values, later copies left out")
        findings.append(Finding("WARN", table, column, message, duplicates))
    if table == "orders" and usable_count == 0:
        findings.append(Finding("ERROR", table, "", "no usable rows: every metric is empty", row_count))
    elif usable_count < row_count:
        findings.append(
            Finding("WARN", table, "", f"rows left out in total, {usable_count:,} of {row_count:,} used",
                    row_count - usable_count)
        )
    return findings


def _left_out_by_null(table: str, column: str) -> bool:
    """True when a row whose column is NULL is left out."""
    return any(
        (rule_column, condition) == (column, f"{column} is null")
        for rule_column, condition, _ in UNUSABLE_ROW_RULES.get(table, [])
    )


def _orphan_findings(con, catalog, parameters) -> list[Finding]:
    """Usable surveys, tickets or returns whose customer has no usable order (cancelled orders count as orders).

    Rows are counted once per id, as the model keeps only the first copy of each.
    """
    if not catalog.tables["orders"].is_usable:
        return []
    tables = [table for table in ORPHAN_CHECKS if catalog.tables[table].is_usable]
    if not tables:
        return []
    counts = ", ".join(
        f"(select count(distinct {UNIQUE_KEYS[table][0]}) + count(*) filter (where {UNIQUE_KEYS[table][0]} is null) "
        f"from {table} as activity where {usable_condition(table)} and "
        f"not exists (select 1 from ordering where ordering.customer_id = activity.customer_id))"
        for table in tables
    )
    ordering = f"select distinct customer_id from orders where {usable_condition('orders')}"
    sql = f"with ordering as ({ordering}) select {counts}"
    counts = con.execute(sql, _bound(sql, parameters)).fetchone()
    return [
        Finding("WARN", table, "customer_id", "customer has no usable order (rows kept)", count)
        for table, count in zip(tables, counts)
        if count
    ]


def why_no_orders(findings: list[Finding]) -> str:
    """Why no metric can be computed, in one line: the ERRORs about the orders (or the data folder), and when the
    orders were read but none is usable, the reason that left out the most of them.

    Example: ``"orders: no usable rows: every metric is empty (6 rows); most left out by: orders.ordered_at:
    values in column 'ordered_at' (VARCHAR) cannot be read as a timestamp, e.g. 'soon'; rows left out (6 rows)"``.
    """
    def text(finding: Finding) -> str:
        return finding.line().split(" ", 1)[1]

    errors = [finding for finding in findings
              if finding.level == "ERROR" and finding.table in ("orders", "data", "mapping.toml")]
    if not errors:
        return "orders has no usable row"
    reasons = [text(finding) for finding in errors]
    if any(finding.message.startswith("no usable rows") for finding in errors):
        causes = [finding for finding in findings if finding.level == "WARN" and finding.table == "orders"
                  and finding.column and finding.row_count]
        if causes:
            reasons.append("most left out by: " + text(max(causes, key=lambda finding: finding.row_count)))
    return "; ".join(reasons)


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an ERROR."""
    return any(finding.level == "ERROR" for finding in findings)
