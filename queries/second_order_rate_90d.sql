-- Grain: one row. Among customers whose first valid order is at least 90 days before the cutoff
-- (first + 90 days <= cutoff), the share whose second valid order came within 90 days of the first.
-- Params: $channels, $regions, $categories, $tiers
with segment as (
    select * from segment_customers($channels, $regions, $categories, $tiers)
),

eligible as (
    select segment.*
    from segment, model_info
    where segment.first_ordered_at + interval 90 day <= model_info.cutoff_at
),

final as (
    select
        count(*) as eligible_customers,
        count(*) filter (where second_ordered_at <= first_ordered_at + interval 90 day) as second_order_customers,
        count(*) filter (where second_ordered_at <= first_ordered_at + interval 90 day)
            / nullif(count(*), 0) as second_order_rate_90d
    from eligible
)

select * from final
