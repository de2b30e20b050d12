-- Grain: one row per calendar $grain (week, month, quarter of the local submission time) with at least one
-- CSAT response, for periods starting between $start_date and $end_date (null = open end).
-- csat = share of responses scoring 4-5 (satisfied); mean_score = average score on the 1-5 scale.
-- Without segment filters every response counts, including those of customers with no orders.
-- is_partial_period: the period ends after the as-of day, so it is not complete yet.
-- Params: $grain, $start_date, $end_date, $channels, $regions, $categories, $tiers
with csat_responses as (
    select
        cast(date_trunc($grain, valid_surveys.submitted_local) as date) as period_start,
        valid_surveys.score
    from segment_surveys($channels, $regions, $categories, $tiers) as valid_surveys
    where valid_surveys.kind = 'csat'
),

periods as (
    select
        period_start,
        count(*) as responses,
        count(*) filter (where score >= 4) as satisfied_responses,
        avg(score) as mean_score
    from csat_responses
    where (cast($start_date as date) is null or period_start >= cast($start_date as date))
      and (cast($end_date as date) is null or period_start <= cast($end_date as date))
    group by period_start
),

final as (
    select
        periods.period_start,
        periods.responses,
        periods.satisfied_responses,
        periods.satisfied_responses / nullif(periods.responses, 0) as csat,
        periods.mean_score,
        case $grain
            when 'week' then periods.period_start + interval 7 day
            when 'quarter' then periods.period_start + interval 3 month
            else periods.period_start + interval 1 month
        end > model_info.as_of + interval 1 day as is_partial_period
    from periods
    cross join model_info
)

select * from final
order by period_start
