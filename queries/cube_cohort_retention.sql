-- Grain: one row per grain ('week', 'month', 'quarter') x seg_key x cohort_start x period_number where some
-- customer of that segment and cohort is active in the period or has it as their last active period, plus the
-- same rows summed over every segment under seg_key 0 (all customers: what the unfiltered view reads).
-- A cohort is the calendar period of a customer's first valid order (customer_summary.cohort_*); period_number
-- counts calendar periods from the cohort to a period with a valid order (customer_activity).
-- active_customers: customers with a valid order in the period; revenue: their valid revenue in it;
-- last_active_customers: customers whose last active period is this one (summed over period_number >= k it
-- gives the customers active on or after k; summed over every period it gives the cohort size).
-- Sorted by grain, seg_key, cohort_start, period_number (zone maps skip other grains and segments).
-- Read by cohort_retention.sql.
-- Params: none
-- Reads: customer_activity, customer_summary
-- Creates: cube_cohort_retention
create table cube_cohort_retention as
with activity as (
    select
        customer_activity.grain,
        customer_summary.seg_key,
        customer_activity.customer_id,
        case customer_activity.grain
            when 'week' then customer_summary.cohort_week
            when 'quarter' then customer_summary.cohort_quarter
            else customer_summary.cohort_month
        end as cohort_start,
        customer_activity.period_start,
        customer_activity.revenue
    from customer_activity
    inner join customer_summary on customer_summary.customer_id = customer_activity.customer_id
),

numbered as (
    select
        grain,
        seg_key,
        customer_id,
        cohort_start,
        case grain
            when 'week' then date_diff('week', cohort_start, period_start)
            when 'quarter' then date_diff('quarter', cohort_start, period_start)
            else date_diff('month', cohort_start, period_start)
        end as period_number,
        revenue
    from activity
),

active_on as (
    select grain, seg_key, cohort_start, period_number, count(*) as active_customers, sum(revenue) as revenue
    from numbered
    group by grain, seg_key, cohort_start, period_number
),

-- a customer's last active period is the period of their latest local order time (date_trunc and date_diff never
-- reverse the order of local times), so it comes from customer_summary: one row per customer and grain, no group
-- by customer
last_active_counts as (
    select grain, seg_key, cohort_start, period_number, count(*) as last_active_customers
    from (
        select 'week' as grain, seg_key, cohort_week as cohort_start,
            date_diff('week', cohort_week, cast(date_trunc('week', last_ordered_local) as date)) as period_number
        from customer_summary
        union all
        select 'month' as grain, seg_key, cohort_month,
            date_diff('month', cohort_month, cast(date_trunc('month', last_ordered_local) as date))
        from customer_summary
        union all
        select 'quarter' as grain, seg_key, cohort_quarter,
            date_diff('quarter', cohort_quarter, cast(date_trunc('quarter', last_ordered_local) as date))
        from customer_summary
    ) as last_periods
    group by grain, seg_key, cohort_start, period_number
),

by_segment as (
    select
        active_on.grain,
        active_on.seg_key,
        active_on.cohort_start,
        active_on.period_number,
        active_on.active_customers,
        active_on.revenue,
        coalesce(last_active_counts.last_active_customers, 0) as last_active_customers
    from active_on
    left join last_active_counts
        on last_active_counts.grain = active_on.grain
        and last_active_counts.seg_key = active_on.seg_key
        and last_active_counts.cohort_start = active_on.cohort_start
        and last_active_counts.period_number = active_on.period_number
),

all_customers as (
    select
        grain,
        0 as seg_key,
        cohort_start,
        period_number,
        sum(active_customers) as active_customers,
        sum(revenue) as revenue,
        sum(last_active_customers) as last_active_customers
    from by_segment
    group by grain, cohort_start, period_number
),

-- every segment's rows, then the same summed over all customers (both have these columns in this order)
final as (
    select
        grain,
        seg_key,
        cohort_start,
        period_number,
        cast(active_customers as bigint) as active_customers,
        revenue,
        cast(last_active_customers as bigint) as last_active_customers
    from (
        select * from by_segment
        union all
        select * from all_customers
    )
)

select * from final
order by grain, seg_key, cohort_start, period_number
