"""Builders that keep a query's rows in DuckDB (``AsOfTarget.staged``): the churn scores predicted in batches, the
lifecycle movements and the backtest. Real DuckDB over small demo exports. A staged join must give each staged
row exactly once, whatever the batches; the scores made in batches must be the scores made at once; the
backtest must be the one worked out in pandas from the same rows (sorted by customer, joined to the orders after
the cutoff by a pandas merge, as the code did before it used Arrow)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard import churn, clv, demo, graph, model
from dashboard.model import STAGED_ROW, Database
from dashboard.settings import load_settings

AS_OF = date(2026, 11, 15)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("staged")
    demo.generate(root / "exports", customers=900, seed=11)
    return root / "exports"


@pytest.fixture(scope="module")
def tied_exports(exports, tmp_path_factory):
    """The demo plus 400 customers with the same history (one order on 1 June 2025: the same predictions), of
    whom the first 200 by id order again after the backtest's cutoff: the calibration's deciles then depend on
    which tied customers come first, so only customer order gives the reference's deciles."""
    import shutil

    root = tmp_path_factory.mktemp("tied")
    for path in exports.iterdir():
        if path.name != "orders":
            shutil.copy(path, root / path.name)
    orders = pd.read_parquet(exports / "orders").drop(columns="year")
    template = orders.iloc[0]
    tied = [dict(template, order_id=f"T{n:04d}a", customer_id=f"T{n:04d}", revenue=40.0,
                 ordered_at=pd.Timestamp("2025-06-01 12:00", tz="UTC")) for n in range(400)]
    tied += [dict(template, order_id=f"T{n:04d}b", customer_id=f"T{n:04d}", revenue=40.0,
                  ordered_at=pd.Timestamp("2026-09-01 12:00", tz="UTC")) for n in range(200)]
    orders = pd.concat([orders, pd.DataFrame(tied).astype(orders.dtypes.to_dict())], ignore_index=True)
    orders.to_parquet(root / "orders.parquet", index=False)
    return root


def open_cursor(exports, state):
    database = Database.open(load_settings(environ={}, data_dir=exports, state_dir=state, model_snapshots=False))
    return database, database.cursor(AS_OF)


def temp_tables(cursor) -> set[str]:
    return {row[0] for row in cursor.execute(
        "select table_name from duckdb_tables() where database_name = 'temp'").fetchall()}


def test_a_staged_join_gives_each_row_once_whatever_the_batches(exports, tmp_path):
    database, cursor = open_cursor(exports, tmp_path / "state")
    target = graph.target_of(cursor)
    expected = target.query("churn_features", as_of=AS_OF).set_index("customer_id").sort_index()
    before = temp_tables(cursor)
    with target.staged("churn_features", as_of=AS_OF) as staged:
        rows = staged.frame(["frequency", "revenue"])
        assert list(rows.columns) == [STAGED_ROW, "frequency", "revenue"]
        assert sorted(rows[STAGED_ROW]) == list(range(len(expected)))
        shuffled = rows.sample(frac=1.0, random_state=3)
        batches = [pd.DataFrame({STAGED_ROW: part[STAGED_ROW].to_numpy(), "double": 2 * part["frequency"].to_numpy(),
                                 "label": np.where(part["revenue"] > 100, "big", "small")})
                   for part in (shuffled.iloc[start:start + 250] for start in range(0, len(shuffled), 250))]
        staged.join("doubled", iter(batches), columns=["customer_id", "frequency"])
        joined = cursor.execute("select * from doubled").df()
        # A second join into the same table adds rows; a frame naming some rows leaves the others out.
        staged.join("doubled", [batches[0].head(5)], columns=["customer_id", "frequency"])
        assert cursor.execute("select count(*) from doubled").fetchone()[0] == len(expected) + 5
        with pytest.raises(ValueError, match="no frame to join into doubled"):
            staged.join("doubled", iter([]))
        # Every column, in the query's order, then the frames' own columns.
        staged.join("everything", batches[:1])
        assert list(cursor.execute("select * from everything").df().columns) == [
            *expected.reset_index().columns, "double", "label"]
        staged.drop_source()
        assert cursor.execute("select count(*) from everything").fetchone()[0] == len(batches[0])
    assert temp_tables(cursor) == before  # the staged rows and what was joined from them are gone
    assert list(joined.columns) == ["customer_id", "frequency", "double", "label"]
    assert joined["customer_id"].is_unique and len(joined) == len(expected)
    joined = joined.set_index("customer_id").sort_index()
    assert (joined["double"] == 2 * expected["frequency"]).all()
    assert (joined["label"] == np.where(expected["revenue"] > 100, "big", "small")).all()
    database.close()


def test_scores_made_in_batches_are_the_scores_made_at_once(exports, tmp_path, monkeypatch):
    tables = {}
    for name, batch in (("at once", churn.SCORE_BATCH_CUSTOMERS), ("in batches", 7)):
        monkeypatch.setattr(churn, "SCORE_BATCH_CUSTOMERS", batch)
        database, cursor = open_cursor(exports, tmp_path / name.replace(" ", "-"))
        churn.model_info(cursor)  # builds the scores
        churn.movements(cursor, 7, "lifecycle_state")  # and the movements, another staged builder
        tables[name] = {table: cursor.execute(f"select * from {table} order by all").df()
                        for table in ("customer_scores", "churn_model", "customer_movements")}
        customers = cursor.execute("select count(distinct customer_id) from valid_orders").fetchone()[0]
        assert len(tables[name]["customer_scores"]) == customers
        assert tables[name]["customer_scores"]["customer_id"].is_unique
        database.close()
    assert len(tables["at once"]["customer_scores"]) > 7 * 50  # many batches, the last one short
    for table, frame in tables["at once"].items():
        pd.testing.assert_frame_equal(tables["in batches"][table], frame, check_exact=True, obj=table)


@pytest.mark.parametrize("rows_come", ["as DuckDB gives them", "in reverse, in batches"])
def test_the_backtest_is_the_pandas_backtest_of_the_same_rows(tied_exports, tmp_path, monkeypatch, rows_come):
    """The same backtest, bit for bit, whatever order the staged rows come in (DuckDB gives a query's rows in
    whatever order its threads finish): the exports' tied customers make the deciles depend on it."""
    exports = tied_exports
    if rows_come != "as DuckDB gives them":
        batches = model.Staged.batches

        def reversed_batches(self, columns, size):
            for batch in reversed(list(batches(self, columns, size))):
                yield batch.iloc[::-1]

        monkeypatch.setattr(model.Staged, "batches", reversed_batches)
        monkeypatch.setattr(churn, "SCORE_BATCH_CUSTOMERS", 50)
    database, cursor = open_cursor(exports, tmp_path / "state")
    cutoff = AS_OF - timedelta(days=churn.RISK_HORIZON_DAYS)
    result = churn.backtest(database, cutoff)
    # By hand: the cutoff's features in customer order, the model's predictions, the orders after the cutoff.
    at_cutoff = database.cursor(cutoff)
    features = graph.target_of(at_cutoff).query("churn_features", as_of=cutoff).sort_values("customer_id",
                                                                                           ignore_index=True)
    season = churn.estimate_seasonality(graph.target_of(at_cutoff), features)
    predictions, info = churn.predict(features, churn.RISK_HORIZON_DAYS, season, risk_only=True)
    orders = cursor.execute("select customer_id, ordered_local from valid_orders").df()
    orders["day"] = pd.to_datetime(orders["ordered_local"]).dt.date
    after = orders[(orders.day > cutoff) & (orders.day <= AS_OF)]
    actual = features[["customer_id"]].merge(after.groupby("customer_id").day.nunique().rename("actual").reset_index(),
                                             on="customer_id", how="left")["actual"].fillna(0).to_numpy()
    silent = actual == 0
    expected = predictions["expected_orders"].to_numpy()
    assert result.n_customers == len(features) and result.method == info.method == "MBG/NBD"
    assert result.actual_orders == int(actual.sum()) > 0
    assert result.silent_share == silent.mean()
    assert result.auc == clv.roc_auc(predictions["churn_risk"].to_numpy(), silent)
    assert result.baseline_auc == clv.roc_auc(features["days_since_last_order"].to_numpy(dtype=float), silent)
    assert result.predicted_orders == float(expected.sum())
    pd.testing.assert_frame_equal(result.calibration, clv.calibration_by_decile(expected, actual), check_exact=True)
    at_cutoff.close()
    database.close()


def test_the_fit_on_rows_duckdb_holds_is_the_fit_on_the_same_rows_in_pandas(exports, tmp_path):
    """``FitInputs.staged`` (counts and repeat rows from SQL) against ``churn.predict`` on the whole frame."""
    database, cursor = open_cursor(exports, tmp_path / "state")
    info = churn.model_info(cursor)
    target = graph.target_of(cursor)
    features = target.query("churn_features", as_of=AS_OF)
    predictions, expected = churn.predict(features, churn.RISK_HORIZON_DAYS, churn.estimate_seasonality(target, features))
    assert info.method == "MBG/NBD" and info.season_index is not None
    assert info == replace(expected, as_of=AS_OF)
    scores = cursor.execute("select * from customer_scores").df().set_index("customer_id")
    predictions.index = features["customer_id"]
    for column in ("p_alive", "churn_risk", "expected_orders_90d", "predicted_clv_365d", "expected_gap_days"):
        pd.testing.assert_series_equal(scores[column].sort_index(), predictions[column].sort_index(),
                                       check_exact=True, check_names=False)
    with target.staged("churn_features", as_of=AS_OF) as staged:
        inputs = churn.FitInputs.staged(staged, AS_OF)
    whole = churn.FitInputs.of(features)
    assert inputs.n == whole.n == len(features)
    for mine, theirs in zip(inputs.histories, whole.histories):
        np.testing.assert_array_equal(mine, theirs)
    assert inputs.as_of_day == whole.as_of_day and inputs.mean_revenue == pytest.approx(whole.mean_revenue, rel=1e-12)
    assert sorted(zip(inputs.repeat_frequency, inputs.repeat_spend)) == sorted(zip(whole.repeat_frequency,
                                                                                    whole.repeat_spend))
    days = pd.Series(inputs.first_days[1], index=inputs.first_days[0])
    assert days.to_dict() == pd.Series(whole.first_days[0]).value_counts().astype(float).to_dict()
    database.close()


def test_lifecycle_states_in_batches_are_the_states_at_once_with_and_without_a_model(exports, tmp_path):
    """The movements compute each date's states a batch at a time: the clock's start and the recency fallback's
    typical gap are those of every customer of that date, so the batches give the states computed at once."""
    database, cursor = open_cursor(exports, tmp_path / "state")
    fitted = churn.model_info(cursor)
    then = AS_OF - timedelta(days=28)
    features = graph.target_of(cursor).query("churn_features", as_of=then)
    whole = churn.FitInputs.of(features)
    earliest = int(whole.first_days[0].min())
    for model in (fitted, churn.ModelInfo(AS_OF, churn.FALLBACK_METHOD, len(features),
                                          season_index=fitted.season_index)):
        gap = churn.clv.typical_purchase_gap(*whole.expanded()) if model.method == churn.FALLBACK_METHOD else None
        at_once = churn.lifecycle_at(features, model)
        batched = np.concatenate([churn.lifecycle_at(features.iloc[start:start + 40], model, earliest, gap)
                                  for start in range(0, len(features), 40)])
        assert batched.tolist() == at_once.tolist(), model.method
        assert len(set(at_once)) >= 3
    database.close()


def test_the_staged_builders_at_an_as_of_date_with_no_customer(exports, tmp_path):
    """Before the first order nothing is staged: the scores and the movements are empty tables, the model and the
    backtest say why there is nothing to show, and no staged table is left behind."""
    database, cursor = open_cursor(exports, tmp_path / "state")
    first_order = database.connection.execute("select min(ordered_at)::date from clean_orders").fetchone()[0]
    early = database.cursor(first_order - timedelta(days=200))
    graph.ensure(graph.target_of(early), ["customer_scores", "customer_movements", "churn_backtest"])
    assert early.execute("select count(*) from customer_scores").fetchone()[0] == 0
    assert early.execute("select count(*) from customer_movements").fetchone()[0] == 0
    info = churn.model_info(early)
    assert (info.method, info.n_customers) == ("none", 0)
    assert info.message == "No customer has a valid order by this date."
    backtest = early.execute("select n_customers, actual_orders, auc, method, message from churn_backtest").fetchall()
    assert len(backtest) == 1
    n_customers, actual_orders, auc, method, message = backtest[0]
    assert (n_customers, actual_orders, method) == (0, 0, "none")
    assert auc is None or np.isnan(auc)  # no AUC from nobody, never a 0.5
    assert message == "No customer has a valid order by this date."
    assert temp_tables(early) == set()
    # The same database still scores a date with customers (the empty builds left nothing in the way).
    assert churn.model_info(cursor).n_customers == cursor.execute(
        "select count(distinct customer_id) from valid_orders").fetchone()[0]
    database.close()


class DriverOnly:
    """What ``DriverStaged`` asks of a Spark target (the frames it registers), without a Spark session: the rows
    come from DuckDB's query here, as ``SparkTarget.query`` brings them to the driver there."""

    def __init__(self) -> None:
        self.staged_frames, self.registered = {}, {}

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        self.registered[name] = frame


def test_the_spark_engines_staged_rows_answer_as_duckdbs(exports, tmp_path):
    from dashboard.engines import spark

    database, cursor = open_cursor(exports, tmp_path / "state")
    target = graph.target_of(cursor)
    driver_target = DriverOnly()
    driver = spark.DriverStaged(driver_target, target.query("churn_features", as_of=AS_OF))
    by_id = ["customer_id"]
    with target.staged("churn_features", as_of=AS_OF) as staged:
        for columns in (["frequency", "recency_days", "t_days"], ["first_purchased_on"]):
            pd.testing.assert_frame_equal(driver.counts(columns), staged.counts(columns), check_dtype=False)
        assert driver.mean("revenue") == pytest.approx(staged.mean("revenue"), rel=1e-12)
        repeat = [frame.drop(columns=STAGED_ROW).sort_values(["frequency", "monetary"], ignore_index=True)
                  for frame in (driver.frame(["frequency", "monetary"], positive="frequency"),
                                staged.frame(["frequency", "monetary"], positive="frequency"))]
        pd.testing.assert_frame_equal(*repeat, check_dtype=False)
        assert 0 < len(repeat[0]) < len(cursor.execute("select * from valid_orders").df().customer_id.unique())
        for rows in (driver, staged):
            parts = list(rows.batches(["frequency", "customer_id"], 100))
            every = pd.concat(parts)
            assert sorted(every[STAGED_ROW]) == list(range(len(driver.rows)))
            doubled = (pd.DataFrame({STAGED_ROW: part[STAGED_ROW].to_numpy(), "double": 2 * part["frequency"]})
                       for part in parts)
            rows.join("doubled", doubled, columns=by_id + ["frequency"])
            again = every[every["customer_id"].isin(["C00000001", "C00000002", "C00000003"])]  # the same customers
            rows.join("doubled", [pd.DataFrame({STAGED_ROW: again[STAGED_ROW].to_numpy(), "double": -1})],
                      columns=by_id + ["frequency"])
        duckdb_rows = cursor.execute("select * from doubled").df().sort_values(by_id + ["double"], ignore_index=True)
    driver_rows = driver_target.registered["doubled"].sort_values(by_id + ["double"], ignore_index=True)
    assert len(driver_rows) == len(driver.rows) + 3
    pd.testing.assert_frame_equal(driver_rows, duckdb_rows, check_dtype=False)
    database.close()
