-- Grain: one row per customer with a valid order: their cohorts at each grain (cohort_week, cohort_month,
-- cohort_quarter), seg_key, the columns the cohort drill-down lists (email trimmed, null when blank; first and
-- last order, order count, revenue) and, per grain, the list of period numbers (periods since the
-- cohort, as in cube_cohort_retention) in which they have a valid order.
-- Sorted by the first order's local time, so every cohort of every grain is one contiguous range of rows and
-- DuckDB's zone maps skip the rest of the table. Read by cohort_members.sql.
-- Params: none
create table cube_cohort_members as
with periods as (
    select
        customer_activity.customer_id,
        customer_activity.grain,
        case customer_activity.grain
            when 'week' then date_diff('week', customer_summary.cohort_week, customer_activity.period_start)
            when 'quarter' then date_diff('quarter', customer_summary.cohort_quarter, customer_activity.period_start)
            else date_diff('month', customer_summary.cohort_month, customer_activity.period_start)
        end as period_number
    from customer_activity
    inner join customer_summary on customer_summary.customer_id = customer_activity.customer_id
),

per_customer as (
    select
        customer_id,
        list(period_number) filter (where grain = 'week') as week_periods,
        list(period_number) filter (where grain = 'month') as month_periods,
        list(period_number) filter (where grain = 'quarter') as quarter_periods
    from periods
    group by customer_id
),

final as (
    select
        customer_summary.cohort_week,
        customer_summary.cohort_month,
        customer_summary.cohort_quarter,
        customer_summary.seg_key,
        customer_summary.customer_id,
        nullif(trim(customer_summary.email), '') as email,
        customer_summary.first_ordered_at,
        customer_summary.last_ordered_at,
        customer_summary.count_orders,
        customer_summary.revenue,
        per_customer.week_periods,
        per_customer.month_periods,
        per_customer.quarter_periods,
        customer_summary.first_ordered_local
    from customer_summary
    inner join per_customer on per_customer.customer_id = customer_summary.customer_id
)

select * exclude (first_ordered_local) from final
order by first_ordered_local, customer_id
