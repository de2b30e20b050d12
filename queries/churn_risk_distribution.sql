-- Grain: one row per 5-point churn-risk bin (risk_bin_start 0.00, 0.05, ..., 0.95; 1.0 falls in the last) with
-- at least one customer of the segment: customers, lifetime revenue, predicted 365-day value, and the risk band
-- of the bin (bins do not straddle the 0.4 and 0.7 band limits).
-- Reads the aggregate cube_churn_risk_bins, summed over the seg_keys of the segment.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_churn_risk_bins, segment_keys()
with final as (
    select
        risk_bin / 20.0 as risk_bin_start,
        risk_band,
        cast(sum(customers) as bigint) as customers,
        sum(revenue) as revenue,
        sum(predicted_clv_365d) as predicted_clv_365d
    from cube_churn_risk_bins
    where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
    group by risk_bin, risk_band
)

select * from final
order by risk_bin_start, risk_band
