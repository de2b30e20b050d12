-- Grain: one row per calendar $grain (week, month, quarter of the local submission time) with at least one
-- NPS response, for periods starting between $start_date and $end_date (null = open end).
-- Promoters score 9-10, passives 7-8, detractors 0-6; nps = 100 x (promoters - detractors) / responses.
-- Without segment filters every response counts, including those of customers with no orders.
-- is_partial_period: the period ends after the as-of day, so it is not complete yet.
-- Reads cube_sat_period (counts per grain x period x seg_key): summed over the filter's seg_keys, then divided.
-- Params: $grain, $start_date, $end_date, $channels, $regions, $categories, $tiers
-- Reads: cube_sat_period, model_info, segment_keys_with_total()
with periods as (
    select
        period_start,
        cast(sum(nps_responses) as bigint) as responses,
        cast(sum(nps_promoters) as bigint) as promoters,
        cast(sum(nps_passives) as bigint) as passives,
        cast(sum(nps_detractors) as bigint) as detractors
    from cube_sat_period
    where grain = lower($grain)
      and seg_key in (select seg_key from segment_keys_with_total($channels, $regions, $categories, $tiers))
      and (cast($start_date as date) is null or period_start >= cast($start_date as date))
      and (cast($end_date as date) is null or period_start <= cast($end_date as date))
    group by period_start
    having sum(nps_responses) > 0
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
