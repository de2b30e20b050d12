"""Compare what Spark built with what DuckDB built: the same rows, whatever the order and the engine's types.

``compare(duckdb_frame, spark_frame)`` returns None when the two hold the same multiset of rows (floats equal to
1e-9 relative, timestamps and dates as instants, intervals as seconds, nulls and NaN alike, lists as multisets:
a ``list()`` without an order has none in either engine), else one line saying
what differs. ``record``/``summary`` keep the per-node results of a ``make test-spark`` run and print its last line,
``spark parity: N of M nodes equal``.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parents[2] / ".state" / "spark-parity.json"
RELATIVE_TOLERANCE = 1e-9


def _normalise_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return ("t", stamp.value // 1000)
    if isinstance(value, date):
        return ("t", pd.Timestamp(value).value // 1000)
    if isinstance(value, (pd.Timedelta, timedelta, np.timedelta64)):
        return ("n", pd.Timedelta(value).total_seconds())
    if isinstance(value, (bool, np.bool_)):
        return ("b", bool(value))
    if isinstance(value, (int, np.integer, float, np.floating)):
        return ("n", float(value))
    if isinstance(value, (list, tuple, np.ndarray)):
        # A multiset: list() without an order has none in either engine (an ordered list() does not translate).
        return ("l", tuple(sorted((_normalise_value(item) for item in value), key=lambda item: _sort_key((item,)))))
    if isinstance(value, dict):
        return ("d", tuple(sorted((key, _normalise_value(item)) for key, item in value.items())))
    return ("s", str(value))


def _rows(frame: pd.DataFrame) -> list[tuple]:
    columns = [frame[column].astype(object).tolist() for column in frame.columns]
    return [tuple(_normalise_value(value) for value in row) for row in zip(*columns)]


def _sort_key(row: tuple):
    def key(value):
        if value is None:
            return (0, "")
        kind, item = value
        if kind == "n":
            return (1, float(f"{item:.9g}") if math.isfinite(item) else item)
        if kind == "t":
            return (2, item)
        return (3, str(item))

    return tuple(key(value) for value in row)


def _equal(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if left[0] != right[0]:
        return False
    if left[0] == "n":
        a, b = left[1], right[1]
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-9)
    if left[0] == "l":
        return len(left[1]) == len(right[1]) and all(_equal(a, b) for a, b in zip(left[1], right[1]))
    return left[1] == right[1]


def compare(duckdb_frame: pd.DataFrame, spark_frame: pd.DataFrame) -> str | None:
    """None when the frames hold the same rows (any order), else what differs, in one line."""
    left_columns = [column.lower() for column in duckdb_frame.columns]
    right_columns = [column.lower() for column in spark_frame.columns]
    if left_columns != right_columns:
        return f"columns differ: DuckDB {left_columns}, Spark {right_columns}"
    if len(duckdb_frame) != len(spark_frame):
        return f"row counts differ: DuckDB {len(duckdb_frame):,}, Spark {len(spark_frame):,}"
    left = sorted(_rows(duckdb_frame), key=_sort_key)
    right = sorted(_rows(spark_frame), key=_sort_key)
    for index, (a, b) in enumerate(zip(left, right)):
        for column, x, y in zip(left_columns, a, b):
            if not _equal(x, y):
                return (f"row {index} (sorted) differs in {column}: DuckDB {x[1] if x else None!r}, "
                        f"Spark {y[1] if y else None!r}")
    return None


# A valid value for every parameter a query file takes: what the pages pass with no filter set.
QUERY_DEFAULTS = {
    "channels": None, "regions": None, "categories": None, "tiers": None,
    "start_date": None, "end_date": None, "grain": "month", "small_cohort_size": 30,
    "dimension": "acquisition_channel", "weeks": 8, "period_number": 1,
    "activity": "active", "show_email": False, "show_pii": False, "limit": 50, "offset": 0, "search": None,
    "kinds": None, "min_score": None, "max_score": None,
}


def query_variants(name: str, theme_id: int) -> list[dict]:
    """The parameter sets a query is compared with beyond QUERY_DEFAULTS: the Why page's queries take a group or
    a theme the page picks (each kind of group once; ``theme_id`` a theme DuckDB found, the same fit on Spark)."""
    variants = {
        "reasons_customers": [
            {"fact_kind": "ticket_category", "fact_value": "delivery", "outcome": None, "source": "any",
             "ordered_since": None},
            {"fact_kind": "return_reason", "fact_value": "too small", "outcome": None, "source": "any",
             "ordered_since": False},
            {"fact_kind": "theme", "fact_value": str(theme_id), "outcome": None, "source": "survey",
             "ordered_since": None},
        ],
        "theme_summary": [{"source": "any"}, {"source": "survey"}],
        "theme_trend": [{"source": "any"}],
        "theme_examples": [{"source": "any", "theme_id": theme_id}],
        # The churn page's "Who moved" matrix: both dimensions, a week and 4 weeks back.
        "churn_movements": [{"days_back": days, "dimension": dimension} for days in (7, 28)
                            for dimension in ("lifecycle_state", "rfm_segment")],
        # The seasonal index's repeat purchase days, from the start of the data on.
        "churn_season_repeat_days": [{"since_date": date(2000, 1, 1)}],
        # The campaign export (opted-in customers only) and the churn page's list (every customer).
        "winback_segment": [{"opted_in_only": True}, {"opted_in_only": False}],
    }
    return variants.get(name, [{}])


def run_case(spark, data_dir: Path, timezone: str, out: Path, state_dir: Path, now: datetime,
             as_of: date | None = None) -> dict[str, str | None]:
    """Build the graph on DuckDB (``Database.warm``) and on Spark (``spark.prepare``) from the same exports and
    compare every node's tables and every query (run with ``QUERY_DEFAULTS``, and once per grain when it takes
    one): name -> None when equal, else what differs."""
    from dashboard import access
    from dashboard.engines import spark as spark_engine
    from dashboard.model import Database
    from dashboard.settings import load_settings

    settings = load_settings(environ={}, data_dir=data_dir, timezone=timezone, state_dir=state_dir,
                             model_snapshots=False)
    database = Database.open(settings, now=now)
    as_of = as_of or database.default_as_of()
    problems = database.warm(as_of)
    # The same pseudonym key as DuckDB's: queries showing customer ids give the same labels on both engines.
    manifest, target = spark_engine.prepare(spark, data_dir, out, as_of, timezone, now=now,
                                            pseudonym_key=access.pseudonym_key(state_dir))
    target.state_dir = state_dir  # the same recorded campaigns as the DuckDB app's (graph.CALLER_FRAMES)
    results: dict[str, str | None] = {}
    cursor = database.cursor(as_of)
    try:
        for name in manifest["tables"]:
            try:
                expected = cursor.execute(f"select * from {name}").df()
            except Exception as error:  # the DuckDB build failed too: not a parity result
                results[name] = f"DuckDB has no table {name}: {str(error).splitlines()[0]} ({problems})"
                continue
            actual = pd.read_parquet(out / name)
            for column in manifest["tables"][name]["interval_columns"]:
                actual[column] = pd.to_timedelta(actual[column], unit="us")
            results[name] = compare(expected, actual)
        results.update(compare_queries(cursor, target, as_of))
    finally:
        cursor.close()
        database.connection.close()
    return results


def compare_queries(cursor, target, as_of: date, names: list[str] | None = None) -> dict[str, str | None]:
    """Every query (or ``names``) run with ``QUERY_DEFAULTS`` and its variants, once per grain when it takes one,
    on a DuckDB cursor and on a Spark target of the same exports and date: name -> None when equal, else what
    differs."""
    from dashboard import churn, queries
    from dashboard.engines import spark as spark_engine

    results: dict[str, str | None] = {}
    cohort_start = cursor.execute("select max(cohort_month) from customer_summary").fetchall()[0][0]
    theme_id = cursor.execute("select coalesce(min(theme_id) filter (where theme_id >= 0), 0) from themes"
                              ).fetchall()[0][0]
    for name in names or spark_engine.query_names():
        grains = ("week", "month", "quarter") if "grain" in queries.used_parameters(name) else ("month",)
        differences = []
        for grain, variant in [(grain, variant) for variant in query_variants(name, int(theme_id))
                               for grain in grains]:
            params = {**QUERY_DEFAULTS, **churn.WINBACK_ANY, "cohort_start": cohort_start, **variant}
            params["grain"] = grain
            if "as_of" in queries.used_parameters(name):  # a query of an earlier date too (churn_features)
                params.setdefault("as_of", as_of)
            if variant:
                grain = f"{grain} {variant}"
            try:
                expected = queries.run_query(cursor, name, **params)
            except Exception as error:
                differences.append(f"{grain}: DuckDB failed: {str(error).splitlines()[0]}")
                continue
            try:
                actual = target.query(name, **params)
            except Exception as error:
                differences.append(f"{grain}: Spark failed: {str(error).splitlines()[0][:300]}")
                continue
            difference = compare(expected, actual)
            if difference:
                differences.append(f"{grain}: {difference}")
        results[name] = "; ".join(differences) or None
    return results


def record(case: str, name: str, difference: str | None, path: Path = RESULTS) -> None:
    """Keep one node's (or query's) result of a parity run: ``case`` is the fixture and time zone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(path.read_text()) if path.is_file() else {}
    results.setdefault(case, {})[name] = difference
    path.write_text(json.dumps(results, indent=1, sort_keys=True))


def reset(path: Path = RESULTS) -> None:
    """Forget the last run's results (``make test-spark`` starts with this)."""
    if path.is_file():
        path.unlink()


def excluded() -> dict[str, str]:
    """Nodes and queries make test-spark does not compare, and why."""
    from dashboard import churn

    reasons = {
        "churn_backtest_outcomes": "run only inside the backtest, at its cutoff date (compared through the backtest "
                                   "node when it is built)",
        "churn_model_scores": "an intermediate frame of the customer_scores node (features plus the model's "
                              "outputs), compared through customer_scores",
    }
    if getattr(churn, "_compute_backtest", None) is None:
        why = ("not built on Spark until the build graph (issue 16) gives churn a backtest that runs on any engine; "
               "the app computes it with DuckDB from the prepared clean tables when the churn page asks")
        reasons.update({"churn_backtest (node)": why, "churn_backtest_stored": why,
                        "churn_backtest_stored_calibration": why})
    return reasons


def summary(path: Path = RESULTS, excluded: dict[str, str] | None = None) -> str:
    """The lines ``make test-spark`` ends with: each difference, then ``spark parity: N of M nodes equal``.

    A node or query counts as equal only when it was equal in every case (fixture and time zone) it ran in.
    """
    results = json.loads(path.read_text()) if path.is_file() else {}
    names: dict[str, list[str | None]] = {}
    for case, by_name in sorted(results.items()):
        for name, difference in by_name.items():
            names.setdefault(name, []).append(None if difference is None else f"{case}: {difference}")
    lines = []
    for name, differences in sorted(names.items()):
        for difference in differences:
            if difference is not None:
                lines.append(f"  differs: {name}: {difference}")
    for name, why in sorted((excluded or {}).items()):
        lines.append(f"  excluded: {name}: {why}")
    equal = sum(all(difference is None for difference in differences) for differences in names.values())
    lines.append(f"cases: {', '.join(sorted(results)) or 'none ran'}")
    lines.append(f"spark parity: {equal} of {len(names)} nodes equal")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(excluded=excluded()))
    sys.exit(0)
