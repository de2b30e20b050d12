-- Grain: one row, the churn page's backtest for one cutoff and horizon (dashboard.churn.backtest), stored by
-- dashboard.churn.store_backtest; creates the table churn_backtest of the as-of schema it serves (the cutoff is
-- horizon_days before that date). Floats are null when not computed (no customers, no expected orders).
-- predicted_orders_calendar: the same model on calendar days; season_used: the seasonal clock was used.
-- Params: $cutoff, $horizon_days, $horizon_end, $n_customers, $silent_share, $auc, $baseline_auc, $predicted_orders, $actual_orders, $method, $message, $predicted_orders_calendar, $season_used
-- Reads: none
-- Creates: churn_backtest
create table churn_backtest as
select
    cast($cutoff as date) as cutoff,
    cast($horizon_days as integer) as horizon_days,
    cast($horizon_end as date) as horizon_end,
    cast($n_customers as bigint) as n_customers,
    cast($silent_share as double) as silent_share,
    cast($auc as double) as auc,
    cast($baseline_auc as double) as baseline_auc,
    cast($predicted_orders as double) as predicted_orders,
    cast($actual_orders as bigint) as actual_orders,
    cast($method as varchar) as method,
    cast($message as varchar) as message,
    cast($predicted_orders_calendar as double) as predicted_orders_calendar,
    cast($season_used as boolean) as season_used
