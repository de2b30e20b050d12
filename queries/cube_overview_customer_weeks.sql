-- Grain: one row per seg_key x week_index (weeks of cube_overview_week_ends): the customers who enter each
-- cumulative count of weekly_kpis.sql in that week, so a week's count is the sum over week_index >= it.
-- customers: first valid order's local day in the week; repeat_customers: second valid order's;
-- eligible_customers_90d: the latest week whose cutoff is at or after first order + 90 days (eligible from that
-- week on to week 0); second_order_customers_90d: the same, for eligible customers whose second order came
-- no later than 90 days after the first.
-- Params: none
-- Reads: cube_overview_week_ends, customer_summary, model_info
-- Creates: cube_overview_customer_weeks
create table cube_overview_customer_weeks as
with customers as (
    select
        customer_summary.seg_key,
        date_diff('day', cast(customer_summary.first_ordered_local as date), model_info.as_of) // 7 as first_week,
        date_diff('day', cast(customer_summary.second_ordered_local as date), model_info.as_of) // 7
            as second_week,
        customer_summary.first_ordered_at + interval 90 day as eligible_at,
        coalesce(customer_summary.second_ordered_at <= customer_summary.first_ordered_at + interval 90 day, false)
            as has_second_order_90d
    from customer_summary
    cross join model_info
),

-- The smallest week cutoff at or after eligible_at: the oldest week (largest week_index) the customer is
-- eligible in; none when first order + 90 days is after the as-of cutoff.
eligible as (
    select customers.seg_key, week_ends.week_index as eligible_week, customers.has_second_order_90d
    from customers
    asof inner join cube_overview_week_ends as week_ends on customers.eligible_at <= week_ends.week_cutoff_at
),

entries as (
    select seg_key, first_week as week_index, 1 as customers, 0 as repeat_customers, 0 as eligible_customers_90d,
        0 as second_order_customers_90d
    from customers
    union all
    select seg_key, second_week as week_index, 0, 1, 0, 0
    from customers
    where second_week is not null
    union all
    select seg_key, eligible_week as week_index, 0, 0, 1, case when has_second_order_90d then 1 else 0 end
    from eligible
)

select
    seg_key,
    week_index,
    cast(sum(customers) as bigint) as customers,
    cast(sum(repeat_customers) as bigint) as repeat_customers,
    cast(sum(eligible_customers_90d) as bigint) as eligible_customers_90d,
    cast(sum(second_order_customers_90d) as bigint) as second_order_customers_90d
from entries
group by all
order by seg_key, week_index
