-- Grain: one row per seg_key x bucket_order (the customer's number of valid orders by the cutoff:
-- 1, 2, 3, 4, 5, then 6 = 6-10 and 7 = 11+), for the customers of customer_summary. Sums and counts only:
-- customers, their valid orders and lifetime revenue, and for each second-order milestone (30, 60, 90,
-- 180, 365 days) the customers eligible for it (first + days <= cutoff) and those of them whose second
-- valid order came within it (second <= first + days). Read by kpis, second_order_rate_90d,
-- orders_per_customer, repeat_rate_by_segment and second_order_milestones.
-- Params: none
-- Reads: customer_summary, model_info
-- Creates: cube_repeat_customers
create table cube_repeat_customers as
with flagged as (
    select
        customer_summary.seg_key,
        case
            when customer_summary.count_orders <= 5 then cast(customer_summary.count_orders as integer)
            when customer_summary.count_orders <= 10 then 6
            else 7
        end as bucket_order,
        customer_summary.count_orders,
        customer_summary.revenue,
        customer_summary.first_ordered_at,
        customer_summary.second_ordered_at,
        model_info.cutoff_at
    from customer_summary, model_info
),

final as (
    select
        seg_key,
        bucket_order,
        count(*) as customers,
        cast(sum(count_orders) as bigint) as orders,
        sum(revenue) as revenue,
        count(*) filter (where first_ordered_at + interval 30 day <= cutoff_at) as eligible_30d,
        count(*) filter (where first_ordered_at + interval 30 day <= cutoff_at
                           and second_ordered_at <= first_ordered_at + interval 30 day) as reached_30d,
        count(*) filter (where first_ordered_at + interval 60 day <= cutoff_at) as eligible_60d,
        count(*) filter (where first_ordered_at + interval 60 day <= cutoff_at
                           and second_ordered_at <= first_ordered_at + interval 60 day) as reached_60d,
        count(*) filter (where first_ordered_at + interval 90 day <= cutoff_at) as eligible_90d,
        count(*) filter (where first_ordered_at + interval 90 day <= cutoff_at
                           and second_ordered_at <= first_ordered_at + interval 90 day) as reached_90d,
        count(*) filter (where first_ordered_at + interval 180 day <= cutoff_at) as eligible_180d,
        count(*) filter (where first_ordered_at + interval 180 day <= cutoff_at
                           and second_ordered_at <= first_ordered_at + interval 180 day) as reached_180d,
        count(*) filter (where first_ordered_at + interval 365 day <= cutoff_at) as eligible_365d,
        count(*) filter (where first_ordered_at + interval 365 day <= cutoff_at
                           and second_ordered_at <= first_ordered_at + interval 365 day) as reached_365d
    from flagged
    group by seg_key, bucket_order
)

select * from final
order by seg_key, bucket_order
