-- Grain: one row per cohort_start x period_number, for period_number 0 .. the number of periods
-- from the cohort to the as-of period. A cohort is the calendar $grain (week, month, quarter) of a
-- customer's first valid order; a customer is active in period k when they have a valid order in
-- period cohort + k ("on"), and active on or after k when their last active period is >= k.
-- is_partial_period: the period containing the as-of date, unless the as-of day is its last day.
-- Params: $grain, $channels, $regions, $categories, $tiers, $small_cohort_size
with segment as (
    select * from segment_cohorts($grain, $channels, $regions, $categories, $tiers)
),

as_of_period as (
    select * from period_of_as_of($grain)
),

cohorts as (
    select cohort_start, count(*) as cohort_size
    from segment
    group by cohort_start
),

activity as (
    select
        segment.cohort_start,
        segment.customer_id,
        date_diff($grain, segment.cohort_start, customer_activity.period_start) as period_number,
        customer_activity.revenue
    from customer_activity
    inner join segment on segment.customer_id = customer_activity.customer_id
    where customer_activity.grain = $grain
),

active_on as (
    select cohort_start, period_number, count(*) as active_customers, sum(revenue) as revenue
    from activity
    group by cohort_start, period_number
),

last_active as (
    select cohort_start, max(period_number) as last_period_number
    from activity
    group by cohort_start, customer_id
),

last_active_counts as (
    select cohort_start, last_period_number, count(*) as customers
    from last_active
    group by cohort_start, last_period_number
),

periods as (
    select
        cohorts.cohort_start,
        cohorts.cohort_size,
        unnest(generate_series(0, date_diff($grain, cohorts.cohort_start, as_of_period.period_start)))
            as period_number
    from cohorts, as_of_period
),

on_or_after as (
    select
        periods.cohort_start,
        periods.period_number,
        coalesce(sum(last_active_counts.customers), 0) as active_on_or_after
    from periods
    left join last_active_counts
        on last_active_counts.cohort_start = periods.cohort_start
        and last_active_counts.last_period_number >= periods.period_number
    group by periods.cohort_start, periods.period_number
),

final as (
    select
        periods.cohort_start,
        periods.period_number,
        case $grain
            when 'week' then cast(periods.cohort_start + to_days(cast(7 * periods.period_number as integer)) as date)
            when 'quarter' then cast(periods.cohort_start + to_months(cast(3 * periods.period_number as integer)) as date)
            else cast(periods.cohort_start + to_months(cast(periods.period_number as integer)) as date)
        end as period_start,
        periods.cohort_size,
        coalesce(active_on.active_customers, 0) as active_customers,
        on_or_after.active_on_or_after,
        coalesce(active_on.active_customers, 0) / periods.cohort_size as retention_rate,
        on_or_after.active_on_or_after / periods.cohort_size as retention_on_or_after_rate,
        coalesce(active_on.revenue, 0) as revenue,
        coalesce(active_on.revenue, 0) / nullif(first_period.revenue, 0) as revenue_retention_rate,
        date_diff($grain, periods.cohort_start, as_of_period.period_start) = periods.period_number
            and as_of_period.is_incomplete as is_partial_period,
        periods.cohort_size < $small_cohort_size as is_small_cohort
    from periods
    cross join as_of_period
    inner join on_or_after
        on on_or_after.cohort_start = periods.cohort_start and on_or_after.period_number = periods.period_number
    left join active_on
        on active_on.cohort_start = periods.cohort_start and active_on.period_number = periods.period_number
    left join active_on as first_period
        on first_period.cohort_start = periods.cohort_start and first_period.period_number = 0
)

select * from final
order by cohort_start, period_number
