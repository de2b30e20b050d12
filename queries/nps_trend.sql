-- Grain: one row per calendar $grain (week, month, quarter of the local submission time) with at least one
-- NPS response, for periods starting between $start_date and $end_date (null = open end).
-- Promoters score 9-10, passives 7-8, detractors 0-6; nps = 100 x (promoters - detractors) / responses.
-- Without segment filters every response counts, including those of customers with no orders.
-- is_partial_period: the period ends after the as-of day, so it is not complete yet.
-- Params: $grain, $start_date, $end_date, $channels, $regions, $categories, $tiers
with nps_responses as (
    select
        cast(date_trunc($grain, valid_surveys.submitted_local) as date) as period_start,
        valid_surveys.nps_category
    from segment_surveys($channels, $regions, $categories, $tiers) as valid_surveys
    where valid_surveys.kind = 'nps'
),

periods as (
    select
        period_start,
        count(*) as responses,
        count(*) filter (where nps_category = 'promoter') as promoters,
        count(*) filter (where nps_category = 'passive') as passives,
        count(*) filter (where nps_category = 'detractor') as detractors
    from nps_responses
    where (cast($start_date as date) is null or period_start >= cast($start_date as date))
      and (cast($end_date as date) is null or period_start <= cast($end_date as date))
    group by period_start
),

final as (
    select
        periods.period_start,
        periods.responses,
        periods.promoters,
        periods.passives,
        periods.detractors,
        periods.promoters / nullif(periods.responses, 0) as promoter_share,
        periods.passives / nullif(periods.responses, 0) as passive_share,
        periods.detractors / nullif(periods.responses, 0) as detractor_share,
        100.0 * (periods.promoters - periods.detractors) / nullif(periods.responses, 0) as nps,
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
