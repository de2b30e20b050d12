-- Grain: one row per week_number 0 .. $weeks - 1, counted back from the as-of date: week 0 is the 7
-- local days as_of - 6 .. as_of, week 1 the 7 days before, and so on. Orders, customers, revenue and
-- aov are within the week. repeat_rate, second_order_rate_90d, nps_90d and csat_90d are the contract
-- metrics computed as of the end of week_end (week_cutoff_at, the first UTC instant after that local
-- day), so week 0 equals kpis.sql, second_order_rate_90d.sql and satisfaction_90d.sql.
-- Params: $weeks, $channels, $regions, $categories, $tiers
with segment as (
    select * from segment_customers($channels, $regions, $categories, $tiers)
),

week_numbers as (
    select unnest(generate_series(0, $weeks - 1)) as week_number
),

week_ends as (
    select
        week_numbers.week_number,
        cast(model_info.as_of - to_days(cast(7 * week_numbers.week_number as integer)) as date) as week_end,
        model_info.timezone
    from week_numbers, model_info
),

weeks as (
    select
        week_number,
        cast(week_end - to_days(6) as date) as week_start,
        week_end,
        -- local midnight after week_end, and the same instant in UTC (how cutoff_at is defined)
        cast(week_end + to_days(1) as timestamp) as week_end_local_at,
        timezone('UTC', timezone(timezone, cast(week_end + to_days(1) as timestamp))) as week_cutoff_at
    from week_ends
),

week_orders as (
    select
        weeks.week_number,
        count(distinct valid_orders.customer_id) as active_customers,
        count(distinct valid_orders.customer_id) filter (where valid_orders.order_seq = 1) as new_customers,
        count(*) as orders,
        sum(valid_orders.revenue) as revenue
    from valid_orders
    inner join segment on segment.customer_id = valid_orders.customer_id
    inner join weeks
        on valid_orders.ordered_local >= weeks.week_start
        and valid_orders.ordered_local < weeks.week_end_local_at
    group by weeks.week_number
),

customer_progress as (
    select
        weeks.week_number,
        count(*) filter (where segment.first_ordered_local < weeks.week_end_local_at) as customers,
        count(*) filter (where segment.second_ordered_local < weeks.week_end_local_at) as repeat_customers,
        count(*) filter (
            where segment.first_ordered_at + interval 90 day <= weeks.week_cutoff_at
        ) as eligible_customers_90d,
        count(*) filter (
            where segment.first_ordered_at + interval 90 day <= weeks.week_cutoff_at
              and segment.second_ordered_at <= segment.first_ordered_at + interval 90 day
        ) as second_order_customers_90d
    from weeks
    cross join segment
    group by weeks.week_number
),

surveys_in_scope as (
    select valid_surveys.submitted_at, valid_surveys.kind, valid_surveys.score
    from segment_surveys($channels, $regions, $categories, $tiers) as valid_surveys
),

week_surveys as (
    select
        weeks.week_number,
        count(*) filter (where surveys_in_scope.kind = 'nps') as nps_responses_90d,
        100.0 * (
            count(*) filter (where surveys_in_scope.kind = 'nps' and surveys_in_scope.score >= 9)
            - count(*) filter (where surveys_in_scope.kind = 'nps' and surveys_in_scope.score <= 6)
        ) / nullif(count(*) filter (where surveys_in_scope.kind = 'nps'), 0) as nps_90d,
        count(*) filter (where surveys_in_scope.kind = 'csat') as csat_responses_90d,
        count(*) filter (where surveys_in_scope.kind = 'csat' and surveys_in_scope.score >= 4)
            / nullif(count(*) filter (where surveys_in_scope.kind = 'csat'), 0) as csat_90d
    from surveys_in_scope
    inner join weeks
        on surveys_in_scope.submitted_at >= weeks.week_cutoff_at - interval 90 day
        and surveys_in_scope.submitted_at < weeks.week_cutoff_at
    group by weeks.week_number
),

final as (
    select
        weeks.week_number,
        weeks.week_start,
        weeks.week_end,
        coalesce(week_orders.active_customers, 0) as active_customers,
        coalesce(week_orders.new_customers, 0) as new_customers,
        coalesce(week_orders.orders, 0) as orders,
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
