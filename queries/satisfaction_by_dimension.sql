-- Grain: one row per dimension_value of $dimension ('touchpoint', 'acquisition_channel' or 'region') with at
-- least one response submitted on a local date between $start_date and $end_date (null = open end).
-- nps = 100 x (share 9-10 - share 0-6) of NPS responses; csat = share of CSAT responses scoring 4-5.
-- Responses of customers with no orders have acquisition_channel and region 'unknown'; they count only
-- without segment filters. Another $dimension returns no rows.
-- Reads cube_sat_daily (counts per local day x seg_key x touchpoint) and segments (a seg_key's channel and
-- region; seg_key -1, no valid order, has none): summed per dimension value, then divided.
-- Params: $dimension, $start_date, $end_date, $channels, $regions, $categories, $tiers
-- Reads: cube_sat_daily, segment_keys(), segment_keys_with_total(), segments
with key_counts as (
    select
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
        where $dimension is distinct from 'touchpoint'
    )
      and (cast($start_date as date) is null or submitted_day >= cast($start_date as date))
      and (cast($end_date as date) is null or submitted_day <= cast($end_date as date))
    group by seg_key, touchpoint
),

responses as (
    select
        case $dimension
            when 'touchpoint' then key_counts.touchpoint
            when 'acquisition_channel' then coalesce(segments.acquisition_channel, 'unknown')
            when 'region' then coalesce(segments.region, 'unknown')
        end as dimension_value,
        key_counts.*
    from key_counts
    left join segments on segments.seg_key = key_counts.seg_key
),

sums as (
    select
        dimension_value,
        cast(sum(nps_responses) as bigint) as nps_responses,
        cast(sum(nps_high_scores) as bigint) as nps_high_scores,
        cast(sum(nps_low_scores) as bigint) as nps_low_scores,
        cast(sum(csat_responses) as bigint) as csat_responses,
        cast(sum(csat_satisfied) as bigint) as csat_satisfied
    from responses
    where dimension_value is not null
    group by dimension_value
),

final as (
    select
        dimension_value,
        nps_responses,
        100.0 * (nps_high_scores - nps_low_scores) / nullif(nps_responses, 0) as nps,
        csat_responses,
        csat_satisfied / nullif(csat_responses, 0) as csat
    from sums
)

select * from final
order by dimension_value
