-- Grain: one row per cohort_start x period_number, for period_number 0 .. the number of periods
-- from the cohort to the as-of period. A cohort is the calendar $grain (week, month, quarter) of a
-- customer's first valid order; a customer is active in period k when they have a valid order in
-- period cohort + k ("on"), and active on or after k when their last active period is >= k.
-- is_partial_period: the period containing the as-of date, unless the as-of day is its last day.
-- Reads the aggregate cube_cohort_retention (per grain x seg_key x cohort x period): the segment filter keeps
-- the accepted seg_keys and sums their rows; without a filter it reads the all-customer rows (seg_key 0).
-- Params: $grain, $channels, $regions, $categories, $tiers, $small_cohort_size
-- Reads: cube_cohort_retention, period_of_as_of(), segment_keys()
with selected_keys as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

-- Without a segment filter (segment_keys then returns -1 too) the all-customer rows (seg_key 0) are read;
-- with one, the rows of the accepted seg_keys, summed below.
keys as (
    select 0 as seg_key
    where exists (select 1 from selected_keys where seg_key = -1)
    union all
    select seg_key
    from selected_keys
    where not exists (select 1 from selected_keys where seg_key = -1)
),

as_of_period as (
    select * from period_of_as_of($grain)
),

-- Cohorts are the week or quarter of the first order for those grains, else its month (customer_summary's
-- cohort_week, cohort_quarter, cohort_month);
-- activity is that of the grain exactly as given (customer_activity.grain = $grain). For the three grains
-- both are the same rows.
cells as (
    select
        cohort_start,
        period_number,
        sum(last_active_customers) filter (
            where grain = case $grain when 'week' then 'week' when 'quarter' then 'quarter' else 'month' end
        ) as cohort_customers,
        sum(active_customers) filter (where grain = $grain) as active_customers,
        sum(revenue) filter (where grain = $grain) as revenue,
        sum(last_active_customers) filter (where grain = $grain) as last_active_customers
    from cube_cohort_retention
    where grain in ($grain, case $grain when 'week' then 'week' when 'quarter' then 'quarter' else 'month' end)
      and seg_key in (select seg_key from keys)
    group by cohort_start, period_number
),

cohorts as (
    select cohort_start, cast(sum(cohort_customers) as bigint) as cohort_size
    from cells
    group by cohort_start
    having sum(cohort_customers) > 0
),

periods as (
    select
        cohorts.cohort_start,
        cohorts.cohort_size,
        unnest(generate_series(0, date_diff($grain, cohorts.cohort_start, as_of_period.period_start)))
            as period_number
    from cohorts, as_of_period
),

-- Customers active on or after k: those whose last active period is k or later (a suffix sum per cohort);
-- the revenue of period 0 is the base of revenue retention.
cohort_periods as (
    select
        periods.cohort_start,
        periods.period_number,
        periods.cohort_size,
        coalesce(cast(cells.active_customers as bigint), 0) as active_customers,
        coalesce(sum(cells.last_active_customers) over (
            partition by periods.cohort_start
            order by periods.period_number desc
            rows between unbounded preceding and current row
        ), 0) as active_on_or_after,
        coalesce(cells.revenue, 0) as revenue,
        sum(cells.revenue) filter (where periods.period_number = 0 and cells.active_customers > 0) over (
            partition by periods.cohort_start
        ) as first_period_revenue
    from periods
    left join cells
        on cells.cohort_start = periods.cohort_start
        and cells.period_number = periods.period_number
),

final as (
    select
        cohort_periods.cohort_start,
        cohort_periods.period_number,
        case $grain
            when 'week' then cast(cohort_periods.cohort_start + to_days(cast(7 * cohort_periods.period_number as integer)) as date)
            when 'quarter' then cast(cohort_periods.cohort_start + to_months(cast(3 * cohort_periods.period_number as integer)) as date)
            else cast(cohort_periods.cohort_start + to_months(cast(cohort_periods.period_number as integer)) as date)
        end as period_start,
        cohort_periods.cohort_size,
        cohort_periods.active_customers,
        cohort_periods.active_on_or_after,
        cohort_periods.active_customers / cohort_periods.cohort_size as retention_rate,
        cohort_periods.active_on_or_after / cohort_periods.cohort_size as retention_on_or_after_rate,
        cohort_periods.revenue,
        cohort_periods.revenue / nullif(cohort_periods.first_period_revenue, 0) as revenue_retention_rate,
        date_diff($grain, cohort_periods.cohort_start, as_of_period.period_start) = cohort_periods.period_number
            and as_of_period.is_incomplete as is_partial_period,
        cohort_periods.cohort_size < $small_cohort_size as is_small_cohort
    from cohort_periods
    cross join as_of_period
)

select * from final
order by cohort_start, period_number
