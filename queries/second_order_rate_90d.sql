-- Grain: one row. Among customers whose first valid order is at least 90 days before the cutoff
-- (first + 90 days <= cutoff), the share whose second valid order came within 90 days of the first.
-- Reads the aggregate cube_repeat_customers (seg_key x order-count bucket; eligible_90d, reached_90d).
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_repeat_customers, segment_keys()
with segment as (
    select *
    from cube_repeat_customers
    where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
),

totals as (
    select
        cast(coalesce(sum(eligible_90d), 0) as bigint) as eligible_customers,
        cast(coalesce(sum(reached_90d), 0) as bigint) as second_order_customers
    from segment
),

final as (
    select
        eligible_customers,
        second_order_customers,
        second_order_customers / nullif(eligible_customers, 0) as second_order_rate_90d
    from totals
)

select * from final
