-- Grain: one row, the headline numbers of a segment as of the model's cutoff.
-- customers = distinct customers with a valid order; repeat_rate = share with 2+ valid orders.
-- Reads the aggregate cube_repeat_customers (seg_key x order-count bucket; each customer counted once).
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_repeat_customers, segment_keys()
with segment as (
    select *
    from cube_repeat_customers
    where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
),

totals as (
    select
        cast(coalesce(sum(customers), 0) as bigint) as customers,
        cast(coalesce(sum(orders), 0) as bigint) as orders,
        sum(revenue) as revenue,
        cast(coalesce(sum(customers) filter (where bucket_order >= 2), 0) as bigint) as repeat_customers
    from segment
),

final as (
    select
        customers,
        orders,
        round(coalesce(revenue, 0), 2) as revenue,
        revenue / nullif(orders, 0) as aov,
        repeat_customers,
        repeat_customers / nullif(customers, 0) as repeat_rate
    from totals
)

select * from final
