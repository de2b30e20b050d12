-- Grain: one row per grain ('week', 'month', 'quarter') x cohort_start (that calendar period of the
-- customer's first valid order, local time) x seg_key, for cohorts with at least one customer of that
-- seg_key. Counts only: cohort_size, the customers eligible for 90 days (first + 90 days <= cutoff)
-- and those of them whose second valid order came within 90 days of the first.
-- Read by second_order_rate_by_cohort.
-- Params: none
-- Reads: customer_summary, model_info
-- Creates: cube_repeat_cohorts
create table cube_repeat_cohorts as
with flagged as (
    select
        customer_summary.seg_key,
        customer_summary.cohort_week,
        customer_summary.cohort_month,
        customer_summary.cohort_quarter,
        customer_summary.first_ordered_at + interval 90 day <= model_info.cutoff_at as is_eligible_90d,
        coalesce(customer_summary.second_ordered_at <= customer_summary.first_ordered_at + interval 90 day, false)
            as has_second_order_90d
    from customer_summary, model_info
),

periods as (
    -- one pass over the customers; a week can straddle two months, so keep all three cohort columns
    select
        seg_key,
        cohort_week,
        cohort_month,
        cohort_quarter,
        count(*) as cohort_size,
        count(*) filter (where is_eligible_90d) as eligible_customers,
        count(*) filter (where is_eligible_90d and has_second_order_90d) as second_order_customers
    from flagged
    group by seg_key, cohort_week, cohort_month, cohort_quarter
),

per_grain as (
    select 'week' as grain, cohort_week as cohort_start, seg_key, cohort_size, eligible_customers,
        second_order_customers
    from periods
    union all
    select 'month', cohort_month, seg_key, cohort_size, eligible_customers, second_order_customers from periods
    union all
    select 'quarter', cohort_quarter, seg_key, cohort_size, eligible_customers, second_order_customers from periods
),

final as (
    select
        grain,
        cohort_start,
        seg_key,
        cast(sum(cohort_size) as bigint) as cohort_size,
        cast(sum(eligible_customers) as bigint) as eligible_customers,
        cast(sum(second_order_customers) as bigint) as second_order_customers
    from per_grain
    group by grain, cohort_start, seg_key
)

select * from final
order by grain, cohort_start, seg_key
