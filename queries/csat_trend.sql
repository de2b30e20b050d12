-- Grain: one row per calendar $grain (week, month, quarter of the local submission time) with at least one
-- CSAT response, for periods starting between $start_date and $end_date (null = open end).
-- csat = share of responses scoring 4-5 (satisfied); mean_score = average score on the 1-5 scale.
-- Without segment filters every response counts, including those of customers with no orders.
-- is_partial_period: the period ends after the as-of day, so it is not complete yet.
-- Reads cube_sat_period (counts and score sums per grain x period x seg_key): summed over the filter's
-- seg_keys, then divided.
-- Params: $grain, $start_date, $end_date, $channels, $regions, $categories, $tiers
-- Reads: cube_sat_period, model_info, segment_keys_with_total()
with periods as (
    select
        period_start,
        cast(sum(csat_responses) as bigint) as responses,
        cast(sum(csat_satisfied) as bigint) as satisfied_responses,
        sum(csat_score_sum) / nullif(sum(csat_scored), 0) as mean_score
    from cube_sat_period
    where grain = lower($grain)
      and seg_key in (select seg_key from segment_keys_with_total($channels, $regions, $categories, $tiers))
      and (cast($start_date as date) is null or period_start >= cast($start_date as date))
      and (cast($end_date as date) is null or period_start <= cast($end_date as date))
    group by period_start
    having sum(csat_responses) > 0
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
