-- Grain: one row per segment_value of the chosen $dimension (acquisition_channel, region,
-- first_category or loyalty_tier) among the segment's customers; any other $dimension returns no
-- rows. repeat_rate = share of customers with 2+ valid orders; second_order_rate_90d = share of the
-- customers eligible for 90 days (first + 90 days <= cutoff) whose second order came within 90 days.
-- Params: $dimension, $channels, $regions, $categories, $tiers
with segment as (
    select
        *,
        case $dimension
            when 'acquisition_channel' then acquisition_channel
            when 'region' then region
            when 'first_category' then first_category
            when 'loyalty_tier' then loyalty_tier
        end as segment_value
    from segment_customers($channels, $regions, $categories, $tiers)
),

flagged as (
    select
        segment.segment_value,
        segment.count_orders,
        segment.revenue,
        segment.first_ordered_at + interval 90 day <= model_info.cutoff_at as is_eligible_90d,
        coalesce(segment.second_ordered_at <= segment.first_ordered_at + interval 90 day, false)
            as has_second_order_90d
    from segment, model_info
    where segment.segment_value is not null
),

final as (
    select
        segment_value,
        count(*) as customers,
        count(*) filter (where count_orders >= 2) as repeat_customers,
        count(*) filter (where count_orders >= 2) / nullif(count(*), 0) as repeat_rate,
        count(*) filter (where is_eligible_90d) as eligible_customers_90d,
        count(*) filter (where is_eligible_90d and has_second_order_90d)
            / nullif(count(*) filter (where is_eligible_90d), 0) as second_order_rate_90d,
        sum(revenue) as revenue,
        sum(revenue) / nullif(count(*), 0) as revenue_per_customer
    from flagged
    group by segment_value
)

select * from final
order by customers desc, segment_value
