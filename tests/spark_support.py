"""One local SparkSession for the tests marked ``spark`` (make test-spark), and the rule that decides whether
they skip: without pyspark or Java they skip under ``make test``, and fail under ``make test-spark``
(``DASHBOARD_REQUIRE_SPARK=1``), so a skip never hides a failure there."""

from __future__ import annotations

import os
import shutil

import pytest


def spark_session():
    """local[2] with two shuffle partitions: the machine is small and shared; one JVM for every test module."""
    required = os.environ.get("DASHBOARD_REQUIRE_SPARK") == "1"
    missing = None
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as error:
        missing = f"{error.name} is not installed (pip install -r requirements-spark.txt)"
    if missing is None and shutil.which("java") is None:
        missing = "Java is not installed (apt-get install openjdk-17-jre-headless)"
    if missing:
        if required:
            pytest.fail(f"make test-spark needs Spark: {missing}")
        pytest.skip(missing)
    from dashboard.engines import spark as spark_engine

    session = spark_engine.session("local[2]", shuffle_partitions=2)
    session.sparkContext.setLogLevel("ERROR")
    return session
