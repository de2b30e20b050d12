-- Grain: one row, the churn model fitted at the as-of date; creates the table churn_model of the as-of schema.
-- method is 'MBG/NBD', 'recency fallback' (too little data to fit) or 'none' (no customers); r, alpha (days), a, b
-- are the MBG/NBD parameters and gg_p, gg_q, gg_v the Gamma-Gamma ones (null when not fitted); message is the
-- thin-data warning shown to users (null when there is none).
-- Params: $as_of, $method, $n_customers, $r, $alpha, $a, $b, $gg_p, $gg_q, $gg_v, $message
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
    cast($message as varchar) as message
