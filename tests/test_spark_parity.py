"""Every node of the build graph and every query, built on local Spark and on DuckDB from the same exports, give
the same rows: on the demo (5,000 customers) and on the edge-case exports (tests/spark_edge_exports.py), in UTC
and in America/New_York. Each case records its results; ``make test-spark`` ends with the summary line
``spark parity: N of M nodes equal`` (dashboard/engines/parity.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from dashboard import demo
from dashboard.engines import parity
from tests import spark_edge_exports
from tests.spark_support import spark_session

pytestmark = pytest.mark.spark
NOW = datetime(2026, 11, 22, 12, 0)


@pytest.fixture(scope="session")
def spark():
    return spark_session()


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark-exports")
    demo.generate(root / "demo", customers=5_000, seed=7)
    spark_edge_exports.write(root / "edge")
    return root


@pytest.mark.parametrize("fixture", ["edge", "demo"])
@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_every_node_and_query_equals_duckdb(spark, exports, tmp_path, fixture, timezone):
    case = f"{fixture} {timezone}"
    results = parity.run_case(spark, exports / fixture, timezone, tmp_path / "prepared", tmp_path / "state", NOW)
    for name, difference in results.items():
        parity.record(case, name, difference)
    differences = {name: difference for name, difference in results.items() if difference is not None}
    assert not differences, f"{len(differences)} of {len(results)} differ on Spark ({case}):\n" + "\n".join(
        f"{name}: {difference}" for name, difference in sorted(differences.items()))
