-- Grain: one row per customer with at least one valid order: first/second/last order, counts,
-- revenue, and the segment the customer belongs to (by profile, else by first order).
-- Cohorts are calendar periods of the first order in the configured time zone. seg_key numbers the
-- customer's segment combination (see the segments table).
-- Params: none
-- Reads: clean_customers, valid_orders
-- Creates: customer_summary
create table customer_summary as
with totals as (
    select
        customer_id,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        max(ordered_local) as last_ordered_local,
        count(*) as count_orders,
        sum(revenue) as revenue
    from valid_orders
    group by customer_id
),

first_orders as (
    select customer_id, channel, region, product_category, revenue as first_order_revenue, ordered_local
    from valid_orders
    where order_seq = 1
),

second_orders as (
    select customer_id, ordered_at as second_ordered_at, ordered_local as second_ordered_local
    from valid_orders
    where order_seq = 2
),

profiles as (
    select
        customer_id,
        email,
        nullif(trim(acquisition_channel), '') as acquisition_channel,
        nullif(trim(region), '') as region,
        nullif(lower(trim(loyalty_tier)), '') as loyalty_tier,
        marketing_opt_in
    from main.clean_customers
),

final as (
    select
        totals.customer_id,
        profiles.email,
        totals.first_ordered_at,
        second_orders.second_ordered_at,
        totals.last_ordered_at,
        first_orders.ordered_local as first_ordered_local,
        second_orders.second_ordered_local,
        totals.last_ordered_local,
        totals.count_orders,
        totals.revenue,
        first_orders.first_order_revenue,
        coalesce(profiles.acquisition_channel, first_orders.channel, 'unknown') as acquisition_channel,
        coalesce(profiles.region, first_orders.region, 'unknown') as region,
        coalesce(first_orders.product_category, 'unknown') as first_category,
        coalesce(profiles.loyalty_tier, 'none') as loyalty_tier,
        coalesce(profiles.marketing_opt_in, false) as is_marketing_opt_in,
        cast(date_trunc('week', first_orders.ordered_local) as date) as cohort_week,
        cast(date_trunc('month', first_orders.ordered_local) as date) as cohort_month,
        cast(date_trunc('quarter', first_orders.ordered_local) as date) as cohort_quarter
    from totals
    inner join first_orders on first_orders.customer_id = totals.customer_id
    left join second_orders on second_orders.customer_id = totals.customer_id
    left join profiles on profiles.customer_id = totals.customer_id
),

-- seg_key numbers the segment combinations (channel x region x category x tier) so the aggregate tables
-- (cube_*.sql) can be keyed by a small integer instead of four strings.
segment_keys as (
    select
        acquisition_channel,
        region,
        first_category,
        loyalty_tier,
        cast(row_number() over (order by acquisition_channel, region, first_category, loyalty_tier) as integer)
            as seg_key
    from (select distinct acquisition_channel, region, first_category, loyalty_tier from final)
)

-- A join to the few hundred combinations instead of a window over every customer (no sort of the customers).
select final.*, segment_keys.seg_key
from final
inner join segment_keys
    on segment_keys.acquisition_channel = final.acquisition_channel
    and segment_keys.region = final.region
    and segment_keys.first_category = final.first_category
    and segment_keys.loyalty_tier = final.loyalty_tier
