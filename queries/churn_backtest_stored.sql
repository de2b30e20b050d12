-- Grain: one row (or none), the backtest stored for this cutoff and horizon (see churn_backtest_store.sql).
-- Params: $cutoff, $horizon_days
-- Reads: churn_backtest
select
    cutoff,
    horizon_days,
    horizon_end,
    n_customers,
    silent_share,
    auc,
    baseline_auc,
    predicted_orders,
    actual_orders,
    method,
    message,
    predicted_orders_calendar,
    season_used
from churn_backtest
where cutoff = $cutoff and horizon_days = $horizon_days
