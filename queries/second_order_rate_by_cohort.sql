-- Grain: one row per cohort_start, the calendar $grain (week, month, quarter; local time) of the
-- customers' first valid order, for cohorts with at least one customer in the segment. Eligible
-- customers had their first valid order at least 90 days before the cutoff; second_order_customers
-- are the eligible ones whose second valid order came within 90 days of the first.
-- Params: $grain, $channels, $regions, $categories, $tiers
with segment as (
    select * from segment_cohorts($grain, $channels, $regions, $categories, $tiers)
),

flagged as (
    select
        segment.cohort_start,
        segment.first_ordered_at + interval 90 day <= model_info.cutoff_at as is_eligible_90d,
        coalesce(segment.second_ordered_at <= segment.first_ordered_at + interval 90 day, false)
            as has_second_order_90d
    from segment, model_info
),

final as (
    select
        cohort_start,
        count(*) as cohort_size,
        count(*) filter (where is_eligible_90d) as eligible_customers,
        count(*) filter (where is_eligible_90d and has_second_order_90d) as second_order_customers,
        count(*) filter (where is_eligible_90d and has_second_order_90d)
            / nullif(count(*) filter (where is_eligible_90d), 0) as second_order_rate_90d
    from flagged
    group by cohort_start
)

select * from final
order by cohort_start
