-- Grain: one row per grain x period_start x customer with at least one valid order in that
-- calendar period (week, month, quarter in the configured time zone).
-- Params: none
-- Reads: valid_orders
-- Creates: customer_activity
create table customer_activity as
with periods as (
    select 'week' as grain, cast(date_trunc('week', ordered_local) as date) as period_start, customer_id, revenue
    from valid_orders
    union all
    select 'month' as grain, cast(date_trunc('month', ordered_local) as date) as period_start, customer_id, revenue
    from valid_orders
    union all
    select 'quarter' as grain, cast(date_trunc('quarter', ordered_local) as date) as period_start, customer_id, revenue
    from valid_orders
),

final as (
    select grain, period_start, customer_id, count(*) as count_orders, sum(revenue) as revenue
    from periods
    group by grain, period_start, customer_id
)

select * from final
