-- Grain: one row per week_number 0 .. $weeks - 1, counted back from the as-of date: week 0 is the 7
-- local days as_of - 6 .. as_of, week 1 the 7 days before, and so on. Orders, customers, revenue and
-- aov are within the week. repeat_rate, second_order_rate_90d, nps_90d and csat_90d are the contract
-- metrics computed as of the end of week_end (week_cutoff_at, the first UTC instant after that local
-- day), so week 0 equals kpis.sql, second_order_rate_90d.sql and satisfaction_90d.sql.
-- Reads the aggregates cube_overview_weekly_orders (within-week counts), cube_overview_customer_weeks (the
-- week each customer enters the cumulative counts) and cube_overview_weekly_surveys (changes of the 90-day
-- survey counts), summed over the seg_keys of the segment.
-- Params: $weeks, $channels, $regions, $categories, $tiers
-- Reads: cube_overview_customer_weeks, cube_overview_weekly_orders, cube_overview_weekly_surveys, model_info, segment_keys()
with segment_keys_in_scope as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

week_numbers as (
    select unnest(generate_series(0, $weeks - 1)) as week_number
),

weeks as (
    select
        week_numbers.week_number,
        cast(model_info.as_of - to_days(cast(7 * week_numbers.week_number as integer) + 6) as date) as week_start,
        cast(model_info.as_of - to_days(cast(7 * week_numbers.week_number as integer)) as date) as week_end
    from week_numbers, model_info
),

week_orders as (
    select
        week_index as week_number,
        sum(active_customers) as active_customers,
        sum(new_customers) as new_customers,
        sum(orders) as orders,
        sum(revenue) as revenue
    from cube_overview_weekly_orders
    where seg_key in (select seg_key from segment_keys_in_scope)
      and week_index < $weeks
    group by week_index
),

progress_by_week as (
    select
        week_index,
        sum(customers) as customers,
        sum(repeat_customers) as repeat_customers,
        sum(eligible_customers_90d) as eligible_customers_90d,
        sum(second_order_customers_90d) as second_order_customers_90d
    from cube_overview_customer_weeks
    where seg_key in (select seg_key from segment_keys_in_scope)
    group by week_index
),

-- a customer counts in every week from the one they entered (week_index) to week 0
customer_progress as (
    select
        weeks.week_number,
        sum(progress_by_week.customers) as customers,
        sum(progress_by_week.repeat_customers) as repeat_customers,
        sum(progress_by_week.eligible_customers_90d) as eligible_customers_90d,
        sum(progress_by_week.second_order_customers_90d) as second_order_customers_90d
    from weeks
    inner join progress_by_week on progress_by_week.week_index >= weeks.week_number
    group by weeks.week_number
),

survey_changes as (
    select
        week_index,
        sum(nps_responses_change) as nps_responses_change,
        sum(nps_high_scores_change) as nps_high_scores_change,
        sum(nps_low_scores_change) as nps_low_scores_change,
        sum(csat_responses_change) as csat_responses_change,
        sum(csat_satisfied_change) as csat_satisfied_change
    from cube_overview_weekly_surveys
    where seg_key in (select seg_key from segment_keys_in_scope)
      and week_index < $weeks
    group by week_index
),

-- the responses in a week's 90-day window: the changes of that week and every later one (week_index <= it)
week_survey_counts as (
    select
        weeks.week_number,
        cast(sum(survey_changes.nps_responses_change) as bigint) as nps_responses,
        cast(sum(survey_changes.nps_high_scores_change) as bigint) as nps_high_scores,
        cast(sum(survey_changes.nps_low_scores_change) as bigint) as nps_low_scores,
        cast(sum(survey_changes.csat_responses_change) as bigint) as csat_responses,
        cast(sum(survey_changes.csat_satisfied_change) as bigint) as csat_satisfied
    from weeks
    inner join survey_changes on survey_changes.week_index <= weeks.week_number
    group by weeks.week_number
),

week_surveys as (
    select
        week_number,
        nps_responses as nps_responses_90d,
        100.0 * (nps_high_scores - nps_low_scores) / nullif(nps_responses, 0) as nps_90d,
        csat_responses as csat_responses_90d,
        csat_satisfied / nullif(csat_responses, 0) as csat_90d
    from week_survey_counts
),

final as (
    select
        weeks.week_number,
        weeks.week_start,
        weeks.week_end,
        cast(coalesce(week_orders.active_customers, 0) as bigint) as active_customers,
        cast(coalesce(week_orders.new_customers, 0) as bigint) as new_customers,
        cast(coalesce(week_orders.orders, 0) as bigint) as orders,
        coalesce(week_orders.revenue, 0) as revenue,
        week_orders.revenue / nullif(week_orders.orders, 0) as aov,
        customer_progress.repeat_customers / nullif(customer_progress.customers, 0) as repeat_rate,
        customer_progress.second_order_customers_90d
            / nullif(customer_progress.eligible_customers_90d, 0) as second_order_rate_90d,
        week_surveys.nps_90d,
        week_surveys.csat_90d,
        coalesce(week_surveys.nps_responses_90d, 0) as nps_responses_90d,
        coalesce(week_surveys.csat_responses_90d, 0) as csat_responses_90d
    from weeks
    left join week_orders on week_orders.week_number = weeks.week_number
    left join customer_progress on customer_progress.week_number = weeks.week_number
    left join week_surveys on week_surveys.week_number = weeks.week_number
)

select * from final
order by week_number
