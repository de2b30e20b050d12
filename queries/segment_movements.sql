-- Grain: one row per dimension x segment_value x metric, for the four segment dimensions
-- (acquisition_channel, region, first_category, loyalty_tier) and the metrics orders, revenue,
-- new_customers and active_customers. this_week is the 7 local days ending on the as-of date
-- (as_of - 6 .. as_of), previous_week the 7 days before; a segment value appears when the segment's
-- customers with that value ordered in either week. change_rate = change / previous_week.
-- Reads weeks 0 and 1 of the aggregate cube_overview_weekly_orders for the seg_keys of the segment; each
-- seg_key has one value per dimension (segments), so its customer counts add up.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_overview_weekly_orders, segment_keys(), segments
with segment_orders as (
    select
        cube_overview_weekly_orders.week_index = 0 as is_this_week,
        cube_overview_weekly_orders.orders,
        cube_overview_weekly_orders.revenue,
        cube_overview_weekly_orders.new_customers,
        cube_overview_weekly_orders.active_customers,
        segments.acquisition_channel,
        segments.region,
        segments.first_category,
        segments.loyalty_tier
    from cube_overview_weekly_orders
    inner join segments on segments.seg_key = cube_overview_weekly_orders.seg_key
    where cube_overview_weekly_orders.week_index <= 1
      and cube_overview_weekly_orders.seg_key in (
          select seg_key from segment_keys($channels, $regions, $categories, $tiers)
      )
),

orders_by_value as (
    select 'acquisition_channel' as dimension, acquisition_channel as segment_value, is_this_week, orders, revenue,
        new_customers, active_customers
    from segment_orders
    union all
    select 'region' as dimension, region as segment_value, is_this_week, orders, revenue, new_customers,
        active_customers
    from segment_orders
    union all
    select 'first_category' as dimension, first_category as segment_value, is_this_week, orders, revenue,
        new_customers, active_customers
    from segment_orders
    union all
    select 'loyalty_tier' as dimension, loyalty_tier as segment_value, is_this_week, orders, revenue, new_customers,
        active_customers
    from segment_orders
),

weekly as (
    select
        dimension,
        segment_value,
        coalesce(sum(orders) filter (where is_this_week), 0) as orders_this_week,
        coalesce(sum(orders) filter (where not is_this_week), 0) as orders_previous_week,
        coalesce(sum(revenue) filter (where is_this_week), 0) as revenue_this_week,
        coalesce(sum(revenue) filter (where not is_this_week), 0) as revenue_previous_week,
        coalesce(sum(new_customers) filter (where is_this_week), 0) as new_customers_this_week,
        coalesce(sum(new_customers) filter (where not is_this_week), 0) as new_customers_previous_week,
        coalesce(sum(active_customers) filter (where is_this_week), 0) as active_customers_this_week,
        coalesce(sum(active_customers) filter (where not is_this_week), 0) as active_customers_previous_week
    from orders_by_value
    group by dimension, segment_value
),

metrics as (
    select dimension, segment_value, 'orders' as metric,
        cast(orders_this_week as double) as this_week, cast(orders_previous_week as double) as previous_week
    from weekly
    union all
    select dimension, segment_value, 'revenue' as metric,
        cast(revenue_this_week as double) as this_week, cast(revenue_previous_week as double) as previous_week
    from weekly
    union all
    select dimension, segment_value, 'new_customers' as metric,
        cast(new_customers_this_week as double) as this_week,
        cast(new_customers_previous_week as double) as previous_week
    from weekly
    union all
    select dimension, segment_value, 'active_customers' as metric,
        cast(active_customers_this_week as double) as this_week,
        cast(active_customers_previous_week as double) as previous_week
    from weekly
),

final as (
    select
        dimension,
        segment_value,
        metric,
        this_week,
        previous_week,
        this_week - previous_week as change,
        (this_week - previous_week) / nullif(previous_week, 0) as change_rate
    from metrics
)

select * from final
order by abs(change_rate) desc nulls last, abs(change) desc, dimension, segment_value, metric
