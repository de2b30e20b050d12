-- Grain: one row, the headline numbers of a segment as of the model's cutoff.
-- customers = distinct customers with a valid order; repeat_rate = share with 2+ valid orders.
-- Params: $channels, $regions, $categories, $tiers
with segment as (
    select * from segment_customers($channels, $regions, $categories, $tiers)
),

final as (
    select
        count(*) as customers,
        cast(coalesce(sum(count_orders), 0) as bigint) as orders,
        round(coalesce(sum(revenue), 0), 2) as revenue,
        sum(revenue) / nullif(sum(count_orders), 0) as aov,
        count(*) filter (where count_orders >= 2) as repeat_customers,
        count(*) filter (where count_orders >= 2) / nullif(count(*), 0) as repeat_rate
    from segment
)

select * from final
