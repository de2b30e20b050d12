-- Grain: one row per segment_value of the chosen $dimension (acquisition_channel, region,
-- first_category or loyalty_tier) among the segment's customers; any other $dimension returns no
-- rows. repeat_rate = share of customers with 2+ valid orders; second_order_rate_90d = share of the
-- customers eligible for 90 days (first + 90 days <= cutoff) whose second order came within 90 days.
-- Reads the aggregate cube_repeat_customers (seg_key x order-count bucket) and the segments table.
-- Params: $dimension, $channels, $regions, $categories, $tiers
-- Reads: cube_repeat_customers, segment_keys(), segments
with segment as (
    select
        case $dimension
            when 'acquisition_channel' then segments.acquisition_channel
            when 'region' then segments.region
            when 'first_category' then segments.first_category
            when 'loyalty_tier' then segments.loyalty_tier
        end as segment_value,
        cube_repeat_customers.*
    from cube_repeat_customers
    inner join segments on segments.seg_key = cube_repeat_customers.seg_key
    where cube_repeat_customers.seg_key in (
        select seg_key from segment_keys($channels, $regions, $categories, $tiers)
    )
),

totals as (
    select
        segment_value,
        cast(sum(customers) as bigint) as customers,
        cast(coalesce(sum(customers) filter (where bucket_order >= 2), 0) as bigint) as repeat_customers,
        cast(sum(eligible_90d) as bigint) as eligible_customers_90d,
        cast(sum(reached_90d) as bigint) as second_order_customers_90d,
        sum(revenue) as revenue
    from segment
    where segment_value is not null
    group by segment_value
),

final as (
    select
        segment_value,
        customers,
        repeat_customers,
        repeat_customers / nullif(customers, 0) as repeat_rate,
        eligible_customers_90d,
        second_order_customers_90d / nullif(eligible_customers_90d, 0) as second_order_rate_90d,
        revenue,
        revenue / nullif(customers, 0) as revenue_per_customer
    from totals
)

select * from final
order by customers desc, segment_value
