-- Grain: one row, the churn model fitted at the as-of date; creates the table churn_model of the as-of schema.
-- method is 'MBG/NBD', 'NBD (no dropout)' (the MBG/NBD's limit when no dropout is evident), 'recency fallback'
-- (too little data to fit) or 'none' (no customers); r, alpha (model days), a, b are the model's parameters (a
-- and b null for the NBD) and gg_p, gg_q, gg_v the Gamma-Gamma ones (null when not fitted); message is the
-- warning shown to users (null when there is none). season_index is the seasonal index of the 24 half-months
-- of the year, comma-separated (null when not used), season_message why or what was found
-- (dashboard/seasonality.py).
-- Params: $as_of, $method, $n_customers, $r, $alpha, $a, $b, $gg_p, $gg_q, $gg_v, $message, $season_index, $season_message
-- Reads: none
-- Creates: churn_model
create table churn_model as
select
    cast($as_of as date) as as_of,
    cast($method as varchar) as method,
    cast($n_customers as bigint) as n_customers,
    cast($r as double) as r,
    cast($alpha as double) as alpha,
    cast($a as double) as a,
    cast($b as double) as b,
    cast($gg_p as double) as gg_p,
    cast($gg_q as double) as gg_q,
    cast($gg_v as double) as gg_v,
    cast($message as varchar) as message,
    cast($season_index as varchar) as season_index,
    cast($season_message as varchar) as season_message
