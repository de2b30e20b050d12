-- Grain: one row per decile of expected orders of the stored backtest (see churn_backtest_store.sql), from the
-- frame dashboard.churn.store_backtest registers as computed_backtest_calibration; creates the table
-- churn_backtest_calibration of the as-of schema.
-- Params: $cutoff, $horizon_days
-- Reads: computed_backtest_calibration
-- Creates: churn_backtest_calibration
create table churn_backtest_calibration as
select
    cast($cutoff as date) as cutoff,
    cast($horizon_days as integer) as horizon_days,
    decile,
    customers,
    predicted_mean,
    actual_mean
from computed_backtest_calibration
