-- Grain: one row per calendar $grain period (local submission day) x value of $dimension ('touchpoint' or
-- 'acquisition_channel') with at least one response, for periods starting between $start_date and $end_date
-- (null = open end): nps_responses and nps (100 x (share 9-10 - share 0-6)), csat_responses and csat (share 4-5),
-- as in nps_trend and csat_trend; is_partial_period when the period ends after the as-of day;
-- is_small_nps_sample / is_small_csat_sample when fewer than 30 responses stand behind the number (it swings by
-- chance). Responses of people with no valid order have channel 'unknown' and count only without segment filters.
-- Another $dimension returns no rows.
-- Reads cube_sat_daily (counts per local day x seg_key x touchpoint; totals under seg_key 0 for the unfiltered
-- touchpoint view) and segments (a seg_key's channel), summed per period and value.
-- Params: $grain, $dimension, $start_date, $end_date, $channels, $regions, $categories, $tiers
-- Reads: cube_sat_daily, period_of_as_of(), segment_keys(), segment_keys_with_total(), segments
with key_days as (
    select
        cast(date_trunc(lower($grain), submitted_day) as date) as period_start,
        seg_key,
        touchpoint,
        sum(nps_responses) as nps_responses,
        sum(nps_high_scores) as nps_high_scores,
        sum(nps_low_scores) as nps_low_scores,
        sum(csat_responses) as csat_responses,
        sum(csat_satisfied) as csat_satisfied
    from cube_sat_daily
    where seg_key in (
        select seg_key
        from segment_keys_with_total($channels, $regions, $categories, $tiers)
        where $dimension = 'touchpoint'
        union all
        select seg_key
        from segment_keys($channels, $regions, $categories, $tiers)
        where $dimension = 'acquisition_channel'
    )
      and lower($grain) in ('week', 'month', 'quarter')
    group by 1, 2, 3
),

values_by_period as (
    select
        key_days.period_start,
        case $dimension
            when 'touchpoint' then key_days.touchpoint
            else coalesce(segments.acquisition_channel, 'unknown')
        end as dimension_value,
        cast(sum(key_days.nps_responses) as bigint) as nps_responses,
        sum(key_days.nps_high_scores) as nps_high_scores,
        sum(key_days.nps_low_scores) as nps_low_scores,
        cast(sum(key_days.csat_responses) as bigint) as csat_responses,
        sum(key_days.csat_satisfied) as csat_satisfied
    from key_days
    left join segments on segments.seg_key = key_days.seg_key
    where (cast($start_date as date) is null or key_days.period_start >= cast($start_date as date))
      and (cast($end_date as date) is null or key_days.period_start <= cast($end_date as date))
    group by 1, 2
),

final as (
    select
        values_by_period.period_start,
        values_by_period.dimension_value,
        values_by_period.nps_responses,
        100.0 * (values_by_period.nps_high_scores - values_by_period.nps_low_scores)
            / nullif(values_by_period.nps_responses, 0) as nps,
        values_by_period.csat_responses,
        values_by_period.csat_satisfied / nullif(values_by_period.csat_responses, 0) as csat,
        coalesce(values_by_period.period_start = current_period.period_start and current_period.is_incomplete, false)
            as is_partial_period,
        values_by_period.nps_responses < 30 as is_small_nps_sample,
        values_by_period.csat_responses < 30 as is_small_csat_sample
    from values_by_period
    cross join period_of_as_of(lower($grain)) as current_period
    where values_by_period.nps_responses + values_by_period.csat_responses > 0
)

select * from final
order by dimension_value, period_start
