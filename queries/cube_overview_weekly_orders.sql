-- Grain: one row per seg_key x week_index with at least one valid order: week_index = (as-of date - the order's
-- local day) // 7, so week 0 is the 7 local days as_of - 6 .. as_of (the weeks of weekly_kpis.sql and
-- segment_movements.sql). orders and revenue are summed; active_customers counts the customers with an order
-- in the week and new_customers those whose first valid order is in it (each customer counted once: a
-- customer's seg_key is fixed, so the counts add up across seg_keys).
-- Params: none
-- Reads: customer_summary, model_info, valid_orders
-- Creates: cube_overview_weekly_orders
create table cube_overview_weekly_orders as
with customer_weeks as (
    select
        valid_orders.customer_id,
        date_diff('day', cast(valid_orders.ordered_local as date), model_info.as_of) // 7 as week_index,
        count(*) as orders,
        sum(valid_orders.revenue) as revenue,
        bool_or(valid_orders.order_seq = 1) as is_new
    from valid_orders
    cross join model_info
    group by all
)

select
    customer_summary.seg_key,
    customer_weeks.week_index,
    sum(customer_weeks.orders) as orders,
    sum(customer_weeks.revenue) as revenue,
    count(*) as active_customers,
    count(*) filter (where customer_weeks.is_new) as new_customers
from customer_weeks
inner join customer_summary on customer_summary.customer_id = customer_weeks.customer_id
group by all
order by customer_summary.seg_key, customer_weeks.week_index
