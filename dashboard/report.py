"""The metrics report (JSON) and the executives' weekly review (HTML, PDF)."""

from __future__ import annotations

from datetime import date

from dashboard.filters import Filters
from dashboard.metrics import contract_metrics


def metrics_report(database, as_of: date, filters: Filters | None = None) -> dict:
    """The JSON metrics report: the contract keys of docs/metrics.md for as_of."""
    cursor = database.cursor(as_of)
    return contract_metrics(cursor, filters)
