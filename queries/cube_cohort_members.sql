-- Grain: one row per grain ('week', 'month', 'quarter') x customer with a valid order: the customer's cohort at
-- that grain (cohort_start, as customer_summary.cohort_*), seg_key, the columns the cohort drill-down lists
-- (email trimmed, null when blank; first and last order, order count, revenue) and active_periods, the period
-- numbers (periods since the cohort, as in cube_cohort_retention) in which they have a valid order.
-- Stored in the drill-down's order within each cohort: grain, cohort_start, revenue descending, customer_id;
-- position numbers the rows in that order. A page of a cohort is then its first matching positions (DuckDB
-- stops once the page is full) and reads the listed columns of those positions only, so it costs the same
-- however large the cohort is. Read by cohort_members.sql.
-- Params: none
-- Reads: customer_activity, customer_summary
-- Creates: cube_cohort_members
create table cube_cohort_members as
with periods as (
    select
        customer_activity.customer_id,
        customer_activity.grain,
        case customer_activity.grain
            when 'week' then customer_summary.cohort_week
            when 'quarter' then customer_summary.cohort_quarter
            else customer_summary.cohort_month
        end as cohort_start,
        case customer_activity.grain
            when 'week' then date_diff('week', customer_summary.cohort_week, customer_activity.period_start)
            when 'quarter' then date_diff('quarter', customer_summary.cohort_quarter, customer_activity.period_start)
            else date_diff('month', customer_summary.cohort_month, customer_activity.period_start)
        end as period_number
    from customer_activity
    inner join customer_summary on customer_summary.customer_id = customer_activity.customer_id
),

per_customer as (
    select grain, customer_id, any_value(cohort_start) as cohort_start, list(period_number) as active_periods
    from periods
    group by grain, customer_id
),

final as (
    select
        per_customer.grain,
        per_customer.cohort_start,
        customer_summary.seg_key,
        customer_summary.customer_id,
        nullif(trim(customer_summary.email), '') as email,
        customer_summary.first_ordered_at,
        customer_summary.last_ordered_at,
        customer_summary.count_orders,
        customer_summary.revenue,
        per_customer.active_periods
    from per_customer
    inner join customer_summary on customer_summary.customer_id = per_customer.customer_id
)

select
    row_number() over (order by grain, cohort_start, revenue desc, customer_id) as position,
    *
from final
order by position
