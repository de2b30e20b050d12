"""The contract metrics: hand-computed answers on a fixture full of traps, and agreement with pandas."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from dashboard import cli
from dashboard.filters import Filters, Segment
from dashboard.metrics import contract_metrics
from tests import reference_metrics
from tests.conftest import FIXED_NOW
from tests.exports import write_table

AS_OF = date(2024, 6, 30)


@pytest.fixture
def traps_dir(tmp_path):
    """Orders in two files (one tz-aware, one naive), cancelled rows in mixed case, rows after the
    as-of date, same-instant orders, and surveys from an unknown customer and after the as-of date."""
    data_dir = tmp_path / "traps"
    berlin = pd.DatetimeTZDtype(tz="Europe/Berlin")
    aware = pd.DataFrame(
        {
            "order_id": ["A1", "A2", "A3", "B1"],
            "customer_id": ["c1", "c1", "c1", "c2"],
            # 11:00 Berlin = 10:00 UTC; B1 is 2024-02-01 05:30 Berlin = 04:30 UTC = Jan 31 23:30 in New York
            "ordered_at": pd.Series(
                pd.to_datetime(["2024-01-10 11:00", "2024-02-15 11:00", "2024-02-15 11:00", "2024-02-01 05:30"])
            ).dt.tz_localize("Europe/Berlin").astype(berlin),
            "revenue": [100.0, 50.0, 30.0, 70.0],
            "status": ["completed", None, "fulfilled", "completed"],
        }
    )
    naive = pd.DataFrame(
        {
            "order_id": ["B2", "B3", "C1", "D1", "D2", "E1", "E2"],
            "customer_id": ["c2", "c2", "c3", "c4", "c4", "c5", "c5"],
            "ordered_at": pd.to_datetime(
                ["2024-03-01 12:00", "2024-05-20 04:30", "2024-03-05 09:00", "2024-03-10 00:00",
                 "2024-03-12 00:00", "2024-04-01 08:00", "2024-07-05 08:00"]
            ),
            "revenue": [999.0, 40.0, 20.0, 60.0, 10.0, 25.0, 80.0],
            "status": ["CANCELLED", "completed", "Canceled", None, "completed", None, None],
        }
    )
    write_table(data_dir, "orders", aware, "part-aware.parquet")
    write_table(data_dir, "orders", naive, "part-naive.parquet")
    write_table(
        data_dir,
        "surveys",
        {
            "response_id": ["s1", "s2", "s3", "s4", "s5", "s6", "s7"],
            "customer_id": ["c1", "c2", "zz", "c4", "c4", "c5", "c1"],
            "submitted_at": pd.to_datetime(
                ["2024-06-01", "2024-05-25", "2024-06-10", "2024-06-15", "2024-03-01", "2024-06-20", "2024-07-02"]
            ),
            "kind": ["nps", "nps", "nps", "csat", "csat", "NPS", "nps"],
            "score": [10, 3, 8, 5, 2, 9, 7],
        },
    )
    return data_dir


def test_contract_metrics_match_hand_computed_answers(traps_dir, open_database):
    database = open_database(traps_dir)
    metrics = contract_metrics(database.cursor(AS_OF))
    assert metrics["as_of"] == "2024-06-30"
    assert metrics["customers"] == 4  # c3's only order was cancelled
    assert metrics["orders"] == 8  # cancelled and after-as-of orders excluded, same-instant orders both count
    assert metrics["revenue"] == 385.0
    assert metrics["aov"] == pytest.approx(385.0 / 8)
    assert metrics["repeat_rate"] == pytest.approx(0.75)
    assert metrics["second_order_rate_90d"] == pytest.approx(0.5)  # c1 and c4 of c1, c2, c4, c5
    assert metrics["median_days_between_orders"] == pytest.approx(19.0)  # gaps 36, 0, 109, 2
    assert metrics["cohort_retention"] == [
        {"cohort": "2024-01", "size": 1, "retention": [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]},
        {"cohort": "2024-02", "size": 1, "retention": [1.0, 0.0, 0.0, 1.0, 0.0]},
        {"cohort": "2024-03", "size": 1, "retention": [1.0, 0.0, 0.0, 0.0]},
        {"cohort": "2024-04", "size": 1, "retention": [1.0, 0.0, 0.0]},
    ]
    assert metrics["nps_90d"] == pytest.approx(25.0)  # 10, 3, 8 (unknown customer), 9
    assert metrics["nps_responses_90d"] == 4
    assert metrics["csat_90d"] == pytest.approx(1.0)
    assert metrics["csat_responses_90d"] == 1


def test_time_zone_setting_moves_a_late_evening_order_into_its_local_month(traps_dir, open_database):
    database = open_database(traps_dir, timezone="America/New_York")
    cohorts = contract_metrics(database.cursor(AS_OF))["cohort_retention"]
    assert [(cohort["cohort"], cohort["size"]) for cohort in cohorts] == [("2024-01", 2), ("2024-03", 1), ("2024-04", 1)]


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_contract_metrics_equal_pandas_on_the_traps(traps_dir, open_database, timezone):
    database = open_database(traps_dir, timezone=timezone)
    ours = contract_metrics(database.cursor(AS_OF))
    theirs = reference_metrics.contract_metrics(traps_dir, AS_OF, timezone, FIXED_NOW)
    assert_same_metrics(ours, theirs)


def test_default_as_of_is_the_latest_valid_order_date(traps_dir, open_database):
    database = open_database(traps_dir)
    assert database.default_as_of() == date(2024, 7, 5)
    ours = contract_metrics(database.cursor())
    assert_same_metrics(ours, reference_metrics.contract_metrics(traps_dir, None, "UTC", FIXED_NOW))


def test_segment_filter_narrows_every_metric(traps_dir, open_database, tmp_path):
    write_table(
        traps_dir,
        "customers",
        {"customer_id": ["c1", "c2", "c4", "c5"], "acquisition_channel": ["email", "paid_social", "email", "referral"]},
    )
    database = open_database(traps_dir)
    metrics = contract_metrics(database.cursor(AS_OF), Filters(Segment(channels=("email",))))
    assert metrics["customers"] == 2
    assert metrics["orders"] == 5
    assert metrics["nps_responses_90d"] == 1  # only c1's response; the unknown customer is in no segment
    nobody = contract_metrics(database.cursor(AS_OF), Filters(Segment(channels=("' or 1=1 --",))))
    assert nobody["customers"] == 0 and nobody["orders"] == 0 and nobody["cohort_retention"] == []
    assert nobody["repeat_rate"] is None and nobody["nps_90d"] is None


def test_report_command_writes_the_json_contract(traps_dir, tmp_path, capsys):
    out = tmp_path / "out" / "metrics.json"
    code = cli.main(["report", "--data", str(traps_dir), "--as-of", "2024-06-30", "--format", "json", "--out", str(out)])
    assert code == 0
    written = json.loads(out.read_text())
    assert written["customers"] == 4 and written["revenue"] == 385.0 and written["as_of"] == "2024-06-30"
    assert list(written)[:13] == [
        "as_of", "customers", "orders", "revenue", "aov", "repeat_rate", "second_order_rate_90d",
        "median_days_between_orders", "cohort_retention", "nps_90d", "csat_90d", "nps_responses_90d",
        "csat_responses_90d",
    ]


def assert_same_metrics(ours: dict, theirs: dict) -> None:
    """Every contract key equal (floats to 1e-9, cohort retention cell by cell)."""
    assert set(theirs) <= set(ours)
    for key, expected in theirs.items():
        actual = ours[key]
        if key == "cohort_retention":
            assert [(c["cohort"], c["size"]) for c in actual] == [(c["cohort"], c["size"]) for c in expected]
            for mine, reference in zip(actual, expected):
                assert mine["retention"] == pytest.approx(reference["retention"]), mine["cohort"]
        elif isinstance(expected, float):
            assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), key
        else:
            assert actual == expected, key
