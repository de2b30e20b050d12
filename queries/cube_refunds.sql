-- Grain: one row per seg_key of the segments table, plus seg_key -1 (returns of people with no valid order), with
-- the refunds of returns requested before the cutoff (valid_returns): refunds = sum of refund_amount of returns
-- of valid orders (the order's customer's seg_key), refunded_returns = those returns with an amount,
-- returns_without_amount = returns of valid orders with no amount, returns_not_counted = returns whose order is
-- not a valid order (cancelled, unknown, after the cutoff or not named: its revenue was never counted, so its
-- refund is not subtracted; the returning customer's seg_key, else -1). has_refund_amounts: some return of the
-- export, at any date, carries a refund amount (else the export has none and net revenue cannot be computed).
-- Counts and sums only. Read by net_revenue.
-- Params: none
-- Reads: clean_returns, customer_summary, segments, valid_orders, valid_returns
-- Creates: cube_refunds
create table cube_refunds as
with export_has_amounts as (
    select exists (select 1 from main.clean_returns where refund_amount is not null) as has_refund_amounts
),

order_returns as (
    select
        customer_summary.seg_key,
        valid_returns.refund_amount
    from valid_returns
    inner join valid_orders on valid_orders.order_id = valid_returns.order_id
    inner join customer_summary on customer_summary.customer_id = valid_orders.customer_id
),

counted as (
    select
        seg_key,
        coalesce(sum(refund_amount), 0) as refunds,
        count(refund_amount) as refunded_returns,
        count(*) - count(refund_amount) as returns_without_amount
    from order_returns
    group by seg_key
),

not_counted as (
    select coalesce(customer_summary.seg_key, -1) as seg_key, count(*) as returns_not_counted
    from valid_returns
    left join customer_summary on customer_summary.customer_id = valid_returns.customer_id
    where valid_returns.order_id is null
       or valid_returns.order_id not in (select order_id from valid_orders)
    group by coalesce(customer_summary.seg_key, -1)
),

keys as (
    select seg_key from segments
    union all
    select -1 as seg_key
)

select
    keys.seg_key,
    coalesce(counted.refunds, 0) as refunds,
    coalesce(counted.refunded_returns, 0) as refunded_returns,
    coalesce(counted.returns_without_amount, 0) as returns_without_amount,
    coalesce(not_counted.returns_not_counted, 0) as returns_not_counted,
    export_has_amounts.has_refund_amounts
from keys
cross join export_has_amounts
left join counted on counted.seg_key = keys.seg_key
left join not_counted on not_counted.seg_key = keys.seg_key
order by keys.seg_key
