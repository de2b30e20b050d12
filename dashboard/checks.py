"""Data checks: what is wrong with the exports, as findings a person can act on.

A finding names the table (or file), the column, what is wrong and how many rows it affects.
ERROR means a table or column cannot be used; WARN means rows are left out or look suspicious
but the dashboard keeps working; INFO is context (an optional table that was not exported).
The row rules here are the same ones ``model.py`` applies when it builds the clean tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

LEVELS = ("ERROR", "WARN", "INFO")
EARLIEST_VALID_AT = datetime(1990, 1, 1)


@dataclass(frozen=True)
class Finding:
    """One problem found in the exports."""

    level: str
    table: str
    column: str
    message: str
    row_count: int | None = None

    def line(self) -> str:
        """``ERROR orders.order_id: duplicate values, later copies left out (3 rows)``."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        rows = "" if self.row_count is None else f" ({self.row_count:,} rows)"
        return f"{self.level} {where}: {self.message}{rows}"


# (table, column, SQL condition that makes a row unusable, message): rows matching are left out.
# model.py builds clean_<table> as "not (any of these)", so checks and the model agree.
UNUSABLE_ROW_RULES: dict[str, list[tuple[str, str, str]]] = {
    "orders": [
        ("order_id", "order_id is null", "null order_id, rows left out"),
        ("customer_id", "customer_id is null", "null customer_id, rows left out"),
        ("ordered_at", "ordered_at is null", "missing or unreadable timestamp, rows left out"),
        ("ordered_at", "ordered_at < $earliest_at", "timestamp before 1990, rows left out"),
        ("ordered_at", "ordered_at >= $latest_at", "timestamp in the future, rows left out"),
        ("revenue", "revenue is null", "missing or unreadable revenue, rows left out"),
    ],
    "surveys": [
        ("customer_id", "customer_id is null", "null customer_id, rows left out"),
        ("submitted_at", "submitted_at is null", "missing or unreadable timestamp, rows left out"),
        ("submitted_at", "submitted_at < $earliest_at", "timestamp before 1990, rows left out"),
        ("submitted_at", "submitted_at >= $latest_at", "timestamp in the future, rows left out"),
        ("kind", "coalesce(lower(trim(kind)), '') not in ('nps', 'csat')",
         "unknown survey kind (expected nps or csat), rows left out"),
        ("score", "lower(trim(kind)) = 'nps' and (score is null or score < 0 or score > 10)",
         "NPS score missing or outside 0-10, rows left out"),
        ("score", "lower(trim(kind)) = 'csat' and (score is null or score < 1 or score > 5)",
         "CSAT score missing or outside 1-5, rows left out"),
    ],
    "tickets": [
        ("customer_id", "customer_id is null", "null customer_id, rows left out"),
        ("opened_at", "opened_at is null", "missing or unreadable timestamp, rows left out"),
        ("opened_at", "opened_at < $earliest_at", "timestamp before 1990, rows left out"),
        ("opened_at", "opened_at >= $latest_at", "timestamp in the future, rows left out"),
        ("resolved_at", "resolved_at < opened_at", "resolved before it was opened, rows left out"),
    ],
    "returns": [
        ("customer_id", "customer_id is null", "null customer_id, rows left out"),
        ("requested_at", "requested_at is null", "missing or unreadable timestamp, rows left out"),
        ("requested_at", "requested_at < $earliest_at", "timestamp before 1990, rows left out"),
        ("requested_at", "requested_at >= $latest_at", "timestamp in the future, rows left out"),
    ],
    "customers": [
        ("customer_id", "customer_id is null", "null customer_id, rows left out"),
    ],
}

# Rows kept but worth knowing about: (table, column, condition, message).
SUSPICIOUS_ROW_RULES: dict[str, list[tuple[str, str, str]]] = {
    "orders": [
        ("revenue", "revenue < 0", "negative revenue (kept as a refund adjustment)"),
    ],
    "returns": [
        ("refund_amount", "refund_amount < 0", "negative refund amount"),
    ],
}

# Identifier columns whose duplicates are left out (the first by time is kept).
UNIQUE_KEYS = {
    "orders": ("order_id", "ordered_at"),
    "surveys": ("response_id", "submitted_at"),
    "tickets": ("ticket_id", "opened_at"),
    "returns": ("return_id", "requested_at"),
    "customers": ("customer_id", "created_at"),
}

# Activity tables checked for customers that have no usable order.
ORPHAN_CHECKS = ("surveys", "tickets", "returns")


def row_rule_parameters(now: datetime | None = None) -> dict[str, datetime]:
    """Bound values for the rules: the earliest plausible time and 'the future' (now + 1 day)."""
    now = now or datetime.utcnow()
    return {"earliest_at": EARLIEST_VALID_AT, "latest_at": now + timedelta(days=1)}


def check_rows(con, catalog, now: datetime | None = None) -> list:
    """Row-level findings for every usable table of a registered catalog (see ``sources.register_sources``)."""
    findings: list[Finding] = []
    parameters = row_rule_parameters(now)
    for table, source in catalog.tables.items():
        if not source.is_usable:
            continue
        findings.extend(_conversion_findings(con, table, source))
        rules = UNUSABLE_ROW_RULES.get(table, []) + SUSPICIOUS_ROW_RULES.get(table, [])
        if rules:
            counts_sql = ", ".join(f"count(*) filter (where {condition})" for _, condition, _ in rules)
            used = {name: value for name, value in parameters.items() if f"${name}" in counts_sql}
            counts = con.execute(f"select {counts_sql} from {table}", used).fetchone()
            for (column, _, message), count in zip(rules, counts):
                if count:
                    findings.append(Finding("WARN", table, column, message, count))
        key, _ = UNIQUE_KEYS[table]
        duplicates = con.execute(
            f"select coalesce(sum(copies - 1), 0) from "
            f"(select count(*) as copies from {table} where {key} is not null group by {key} having count(*) > 1)"
        ).fetchone()[0]
        if duplicates:
            findings.append(Finding("WARN", table, key, "duplicate values, later copies left out", int(duplicates)))
    findings.extend(_orphan_findings(con, catalog, parameters))
    return findings


def _conversion_findings(con, table: str, source) -> list[Finding]:
    """Values present in the file that cannot be read as the canonical type."""
    findings = []
    parts = []
    columns = []
    for canonical, (source_column, source_type, expression) in source.columns.items():
        if source_column is None:
            continue
        raw = '"' + source_column.replace('"', '""') + '"'
        parts.append(f"count(*) filter (where {raw} is not null and ({expression}) is null)")
        columns.append((canonical, source_column, source_type))
    if not parts:
        return findings
    counts = con.execute(f"select {', '.join(parts)} from raw_{table}").fetchone()
    for (canonical, source_column, source_type), count in zip(columns, counts):
        if count:
            findings.append(
                Finding("WARN", table, canonical,
                        f"values in column {source_column!r} ({source_type}) cannot be read as {canonical}", count)
            )
    return findings


def _orphan_findings(con, catalog, parameters) -> list[Finding]:
    """Surveys, tickets or returns whose customer has no usable order."""
    findings = []
    if not catalog.tables["orders"].is_usable:
        return findings
    for table in ORPHAN_CHECKS:
        if not catalog.tables[table].is_usable:
            continue
        count = con.execute(
            f"select count(*) from {table} as activity where activity.customer_id is not null "
            f"and not exists (select 1 from orders where orders.customer_id = activity.customer_id)"
        ).fetchone()[0]
        if count:
            findings.append(Finding("WARN", table, "customer_id", "customer has no orders (rows kept)", count))
    return findings


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an ERROR."""
    return any(finding.level == "ERROR" for finding in findings)
