-- Grain: one row per decile of the backtest stored for this cutoff and horizon, lowest expected orders first.
-- Params: $cutoff, $horizon_days
-- Reads: churn_backtest_calibration
select decile, customers, predicted_mean, actual_mean
from churn_backtest_calibration
where cutoff = $cutoff and horizon_days = $horizon_days
order by decile
