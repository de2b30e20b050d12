-- Grain: one row per period_start, every calendar $grain (week, month, quarter; local time) from the
-- segment's first valid order to the as-of period, zero-activity periods included, kept when
-- period_start lies in [$start_date, $end_date] (null = open). A customer is new in the period of
-- their first valid order and returning when they order in a period after it (Shopify's definition),
-- so active_customers = new_customers + returning_customers.
-- is_partial_period: the period containing the as-of date, unless the as-of day is its last day.
-- Reads cube_gaps_activity, summed over the segment's seg_keys; the segment's first period is the earliest
-- period with activity (every customer is active in the period of their first valid order).
-- Params: $grain, $start_date, $end_date, $channels, $regions, $categories, $tiers
-- Reads: cube_gaps_activity, period_of_as_of(), segment_keys()
with keys as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

as_of_period as (
    select * from period_of_as_of($grain)
),

activity as (
    select
        period_start,
        cast(sum(active_customers) as bigint) as active_customers,
        cast(sum(new_customers) as bigint) as new_customers,
        cast(sum(returning_customers) as bigint) as returning_customers,
        cast(sum(orders) as bigint) as orders,
        sum(revenue) as revenue
    from cube_gaps_activity
    where grain = $grain
      and seg_key in (select seg_key from keys)
    group by period_start
),

first_period as (
    select min(period_start) as period_start from activity
),

period_numbers as (
    select
        first_period.period_start as first_period_start,
        unnest(generate_series(0, date_diff($grain, first_period.period_start, as_of_period.period_start)))
            as period_number
    from first_period, as_of_period
    where first_period.period_start is not null
),

periods as (
    select
        case $grain
            when 'week' then cast(first_period_start + to_days(cast(7 * period_number as integer)) as date)
            when 'quarter' then cast(first_period_start + to_months(cast(3 * period_number as integer)) as date)
            else cast(first_period_start + to_months(cast(period_number as integer)) as date)
        end as period_start
    from period_numbers
),

final as (
    select
        periods.period_start,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.new_customers, 0) as new_customers,
        coalesce(activity.returning_customers, 0) as returning_customers,
        activity.returning_customers / nullif(activity.active_customers, 0) as returning_customer_rate,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.revenue, 0) as revenue,
        activity.revenue / nullif(activity.orders, 0) as aov,
        periods.period_start = as_of_period.period_start and as_of_period.is_incomplete as is_partial_period
    from periods
    cross join as_of_period
    left join activity on activity.period_start = periods.period_start
    where ($start_date is null or periods.period_start >= $start_date)
      and ($end_date is null or periods.period_start <= $end_date)
)

select * from final
order by period_start
