"""Every node of the build graph and every query, built on local Spark and on DuckDB from the same exports, give
the same rows: on the demo (5,000 customers) and on the edge-case exports (tests/spark_edge_exports.py), in UTC
and in America/New_York. Each case records its results; ``make test-spark`` ends with the summary line
``spark parity: N of M nodes equal`` (dashboard/engines/parity.py)."""

from __future__ import annotations

import base64
import json
import math
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

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
    return tmp_path_factory.mktemp("spark-exports")


def fixture_exports(exports: Path, fixture: str) -> Path:
    """The exports of one fixture, written the first time a case asks (-k edge runs without the demo's)."""
    folder = exports / fixture
    if not folder.is_dir():
        if fixture == "demo":
            demo.generate(folder, customers=5_000, seed=7)
        else:
            spark_edge_exports.write(folder)
    return folder


_CASES: dict[str, tuple[dict, Path]] = {}


def parity_case(spark, exports, root: Path, fixture: str, timezone: str) -> tuple[dict, Path]:
    """Build one case on both engines once per session: (results, the prepared folder)."""
    case = f"{fixture} {timezone}"
    if case not in _CASES:
        out = root / case.replace(" ", "-").replace("/", "-")
        _CASES[case] = (parity.run_case(spark, fixture_exports(exports, fixture), timezone, out / "prepared", out / "state", NOW),
                        out / "prepared")
    return _CASES[case]


@pytest.fixture(scope="session")
def cases_root(tmp_path_factory):
    return tmp_path_factory.mktemp("spark-cases")


@pytest.mark.parametrize("fixture", ["edge", "demo"])
@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_every_node_and_query_equals_duckdb(spark, exports, cases_root, fixture, timezone):
    case = f"{fixture} {timezone}"
    results, _ = parity_case(spark, exports, cases_root, fixture, timezone)
    for name, difference in results.items():
        parity.record(case, name, difference)
    differences = {name: difference for name, difference in results.items() if difference is not None}
    assert not differences, f"{len(differences)} of {len(results)} differ on Spark ({case}):\n" + "\n".join(
        f"{name}: {difference}" for name, difference in sorted(differences.items()))


APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PAGES = sorted(path.stem for path in (Path(__file__).resolve().parent.parent / "dashboard" / "pages").glob("*.py")
               if path.stem not in ("common", "__init__"))


def _decoded(value):
    """Figure JSON with Plotly's base64 typed arrays turned back into lists of numbers."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            return [None if isinstance(x, float) and math.isnan(x) else x for x in array.astype(float).tolist()]
        return {key: _decoded(item) for key, item in value.items() if key != "uid"}
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value


def page_values(at: AppTest) -> dict:
    """What a page shows: metric cards, tables and charts (figure data and layout)."""
    return {
        "metrics": [(metric.label, metric.value, metric.delta) for metric in at.metric],
        "tables": [frame.value.reset_index(drop=True) for frame in at.dataframe],
        "charts": [_decoded(json.loads(chart.proto.spec)) for chart in at.get("plotly_chart")],
        "markdown": [item.value for item in at.markdown],
    }


def _same(expected, actual, where: str) -> list[str]:
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        if math.isnan(expected) and math.isnan(actual) or math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-9):
            return []
        return [f"{where}: {expected!r} != {actual!r}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(expected) != set(actual):
            return [f"{where}: keys {sorted(set(expected) ^ set(actual))} differ"]
        return [problem for key in expected for problem in _same(expected[key], actual[key], f"{where}.{key}")]
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(expected)} items != {len(actual)}"]
        return [problem for index, (a, b) in enumerate(zip(expected, actual))
                for problem in _same(a, b, f"{where}[{index}]")]
    return [] if expected == actual else [f"{where}: {expected!r} != {actual!r}"]


def run_app(monkeypatch, environment: dict, page: str) -> AppTest:
    for name in ("DASHBOARD_DATA_DIR", "DASHBOARD_PREPARED_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(APP, default_timeout=300)
    if page != "overview":
        at.switch_page(f"dashboard/pages/{page}.py")
    return at.run()


def test_app_serves_every_page_from_the_spark_folder_with_the_exports_removed(spark, exports, cases_root, tmp_path,
                                                                                monkeypatch):
    raw = tmp_path / "exports"
    shutil.copytree(fixture_exports(exports, "demo"), raw)
    _, prepared = parity_case(spark, exports, cases_root, "demo", "UTC")
    prepared_copy = tmp_path / "prepared"
    shutil.copytree(prepared, prepared_copy)
    common = {"DASHBOARD_SETTINGS": str(tmp_path / "no-settings.toml"), "DASHBOARD_TIMEZONE": "UTC"}
    expected = {}
    for page in PAGES:
        at = run_app(monkeypatch, {**common, "DASHBOARD_DATA_DIR": str(raw), "DASHBOARD_STATE_DIR": str(tmp_path / "a")},
                     page)
        assert not at.exception, f"{page} on DuckDB: {at.exception}"
        expected[page] = page_values(at)
    shutil.rmtree(raw)  # from here on nothing may read the exports
    problems = []
    for page in PAGES:
        at = run_app(monkeypatch, {**common, "DASHBOARD_DATA_DIR": str(raw), "DASHBOARD_STATE_DIR": str(tmp_path / "b"),
                                   "DASHBOARD_PREPARED_DIR": str(prepared_copy)}, page)
        assert not at.exception, f"{page} from the Spark folder: {at.exception}"
        actual = page_values(at)
        assert actual["metrics"] or actual["charts"] or actual["tables"], f"{page} shows nothing"
        for kind in ("metrics", "charts"):
            problems += _same(expected[page][kind], actual[kind], f"{page}.{kind}")
        if page != "data":  # the data page lists the findings, where the prepared folder says where it came from
            problems += _same([frame.to_dict("list") for frame in expected[page]["tables"]],
                              [frame.to_dict("list") for frame in actual["tables"]], f"{page}.tables")
    assert not problems, f"{len(problems)} values differ between the DuckDB app and the Spark folder:\n" + "\n".join(
        problems[:40])
