-- Grain: one row per dimension x segment_value x metric, for the four segment dimensions
-- (acquisition_channel, region, first_category, loyalty_tier) and the metrics orders, revenue,
-- new_customers and active_customers. this_week is the 7 local days ending on the as-of date
-- (as_of - 6 .. as_of), previous_week the 7 days before; a segment value appears when the segment's
-- customers with that value ordered in either week. change_rate = change / previous_week.
-- Params: $channels, $regions, $categories, $tiers
with segment as (
    select * from segment_customers($channels, $regions, $categories, $tiers)
),

recent_orders as (
    select
        valid_orders.customer_id,
        valid_orders.revenue,
        valid_orders.order_seq,
        valid_orders.ordered_local >= cast(model_info.as_of - to_days(6) as date) as is_this_week
    from valid_orders, model_info
    where valid_orders.ordered_local >= cast(model_info.as_of - to_days(13) as date)
),

segment_orders as (
    select recent_orders.*, segment.acquisition_channel, segment.region, segment.first_category,
        segment.loyalty_tier
    from recent_orders
    inner join segment on segment.customer_id = recent_orders.customer_id
),

orders_by_value as (
    select 'acquisition_channel' as dimension, acquisition_channel as segment_value, customer_id, revenue,
        order_seq, is_this_week
    from segment_orders
    union all
    select 'region' as dimension, region as segment_value, customer_id, revenue, order_seq, is_this_week
    from segment_orders
    union all
    select 'first_category' as dimension, first_category as segment_value, customer_id, revenue, order_seq,
        is_this_week
    from segment_orders
    union all
    select 'loyalty_tier' as dimension, loyalty_tier as segment_value, customer_id, revenue, order_seq,
        is_this_week
    from segment_orders
),

weekly as (
    select
        dimension,
        segment_value,
        count(*) filter (where is_this_week) as orders_this_week,
        count(*) filter (where not is_this_week) as orders_previous_week,
        coalesce(sum(revenue) filter (where is_this_week), 0) as revenue_this_week,
        coalesce(sum(revenue) filter (where not is_this_week), 0) as revenue_previous_week,
        count(distinct customer_id) filter (where is_this_week and order_seq = 1) as new_customers_this_week,
        count(distinct customer_id) filter (where not is_this_week and order_seq = 1)
            as new_customers_previous_week,
        count(distinct customer_id) filter (where is_this_week) as active_customers_this_week,
        count(distinct customer_id) filter (where not is_this_week) as active_customers_previous_week
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
