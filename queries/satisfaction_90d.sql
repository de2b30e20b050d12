-- Grain: one row. NPS and CSAT over responses submitted in the 90 days ending at the cutoff
-- ([cutoff - 90 days, cutoff)). NPS = 100 x (share 9-10 - share 0-6); CSAT = share scoring 4-5.
-- nps_promoters_90d, nps_detractors_90d and csat_satisfied_90d are the counts behind them (for intervals).
-- Without segment filters every response counts, including those of customers with no orders.
-- Reads cube_sat_window90 (counts per seg_key): the filter picks seg_keys, the counts are summed, then divided.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_sat_window90, segment_keys()
with window_counts as (
    select
        cast(coalesce(sum(nps_responses), 0) as bigint) as nps_responses,
        cast(coalesce(sum(nps_high_scores), 0) as bigint) as nps_high_scores,
        cast(coalesce(sum(nps_low_scores), 0) as bigint) as nps_low_scores,
        cast(coalesce(sum(csat_responses), 0) as bigint) as csat_responses,
        cast(coalesce(sum(csat_satisfied), 0) as bigint) as csat_satisfied
    from cube_sat_window90
    where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
),

final as (
    select
        nps_responses as nps_responses_90d,
        100.0 * (nps_high_scores - nps_low_scores) / nullif(nps_responses, 0) as nps_90d,
        csat_responses as csat_responses_90d,
        csat_satisfied / nullif(csat_responses, 0) as csat_90d,
        nps_high_scores as nps_promoters_90d,
        nps_low_scores as nps_detractors_90d,
        csat_satisfied as csat_satisfied_90d
    from window_counts
)

select * from final
