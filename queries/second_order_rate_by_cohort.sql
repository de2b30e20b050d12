-- Grain: one row per cohort_start, the calendar $grain (week, month, quarter; local time) of the
-- customers' first valid order, for cohorts with at least one customer in the segment. Eligible
-- customers had their first valid order at least 90 days before the cutoff; second_order_customers
-- are the eligible ones whose second valid order came within 90 days of the first.
-- is_partial_period: the cohort's 90-day window is not over for every customer: its last day + 90 days is
-- after the as-of day, so the rate can still change (its customers are not all eligible yet).
-- Reads the aggregate cube_repeat_cohorts (grain x cohort_start x seg_key); any other $grain is month.
-- Params: $grain, $channels, $regions, $categories, $tiers
-- Reads: cube_repeat_cohorts, model_info, segment_keys()
with segment as (
    select *
    from cube_repeat_cohorts
    where grain = case $grain when 'week' then 'week' when 'quarter' then 'quarter' else 'month' end
      and seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
),

totals as (
    select
        cohort_start,
        cast(sum(cohort_size) as bigint) as cohort_size,
        cast(sum(eligible_customers) as bigint) as eligible_customers,
        cast(sum(second_order_customers) as bigint) as second_order_customers
    from segment
    group by cohort_start
),

final as (
    select
        totals.cohort_start,
        totals.cohort_size,
        totals.eligible_customers,
        totals.second_order_customers,
        totals.second_order_customers / nullif(totals.eligible_customers, 0) as second_order_rate_90d,
        case $grain
            when 'week' then totals.cohort_start + interval 7 day
            when 'quarter' then totals.cohort_start + interval 3 month
            else totals.cohort_start + interval 1 month
        end + interval 89 day > model_info.as_of as is_partial_period
    from totals
    cross join model_info
)

select * from final
order by cohort_start
