-- Grain: one row, revenue net of refunds for a segment as of the cutoff. revenue and orders as in kpis.sql (valid
-- orders; rounded to cents); refunds = sum of refund_amount of returns requested before the cutoff on those orders
-- (cube_refunds); net_revenue = revenue - refunds (rounded to cents); net_aov = net_revenue / orders.
-- refunded_returns, returns_without_amount (on valid orders, not subtracted: no amount), returns_not_counted
-- (their order's revenue was never counted). has_refund_amounts false (the export's returns carry no
-- refund_amount, or no returns were exported): refunds, net_revenue and net_aov are empty, not equal to revenue.
-- Returns of people with no valid order count in returns_not_counted only without segment filters.
-- Reads cube_repeat_customers (revenue, orders) and cube_refunds, summed over the filter's seg_keys.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_refunds, cube_repeat_customers, segment_keys()
with keys as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

gross as (
    select
        cast(coalesce(sum(orders), 0) as bigint) as orders,
        round(coalesce(sum(revenue), 0), 2) as revenue
    from cube_repeat_customers
    where seg_key in (select seg_key from keys)
),

refunded as (
    select
        sum(refunds) as refunds,
        cast(coalesce(sum(refunded_returns), 0) as bigint) as refunded_returns,
        cast(coalesce(sum(returns_without_amount), 0) as bigint) as returns_without_amount,
        cast(coalesce(sum(returns_not_counted), 0) as bigint) as returns_not_counted,
        coalesce(bool_or(has_refund_amounts), false) as has_refund_amounts
    from cube_refunds
    where seg_key in (select seg_key from keys)
),

final as (
    select
        gross.revenue,
        gross.orders,
        case when refunded.has_refund_amounts then round(coalesce(refunded.refunds, 0), 2) end as refunds,
        case when refunded.has_refund_amounts then round(gross.revenue - coalesce(refunded.refunds, 0), 2) end
            as net_revenue,
        case when refunded.has_refund_amounts
            then (gross.revenue - coalesce(refunded.refunds, 0)) / nullif(gross.orders, 0) end as net_aov,
        refunded.refunded_returns,
        refunded.returns_without_amount,
        refunded.returns_not_counted,
        refunded.has_refund_amounts
    from gross
    cross join refunded
)

select * from final
