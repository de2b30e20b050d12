"""A finding: one problem found in the exports, as a line a person can act on. No other dashboard import.

``sources`` (reading the files), ``checks`` (row rules) and ``freshness`` (age, drift, completeness) all make
findings; keeping the type here lets each import it without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("ERROR", "WARN", "INFO")
MAX_NAME_LENGTH = 120


def printable(text: str, limit: int | None = None) -> str:
    """Text safe for one terminal line: control characters escaped, long text cut.

    Example: ``printable("a\\nb") == "a\\\\nb"``.
    """
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


@dataclass(frozen=True)
class Finding:
    """One problem found in the exports."""

    level: str
    table: str
    column: str
    message: str
    row_count: int | None = None

    def line(self) -> str:
        """``ERROR orders.order_id: duplicate values, later copies left out (3 rows)``.

        Names and messages can carry text from the files (column names, values): they are made printable,
        so a finding is always one line.
        """
        table = printable(self.table, MAX_NAME_LENGTH)
        where = f"{table}.{printable(self.column, MAX_NAME_LENGTH)}" if self.column else table
        rows = "" if self.row_count is None else f" ({self.row_count:,} rows)"
        return f"{self.level} {where}: {printable(self.message)}{rows}"
