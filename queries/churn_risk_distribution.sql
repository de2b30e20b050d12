-- Grain: one row per 5-point churn-risk bin (risk_bin_start 0.00, 0.05, ..., 0.95; 1.0 falls in the last) with
-- at least one customer of the segment: customers, lifetime revenue, predicted 365-day value, and the risk band
-- of the bin (bins do not straddle the 0.4 and 0.7 band limits).
-- Params: $channels, $regions, $categories, $tiers
with scored as (
    select churn_risk, risk_band, revenue, predicted_clv_365d
    from customer_scores
    where ($channels is null and $regions is null and $categories is null and $tiers is null)
       or customer_id in (select customer_id from segment_customers($channels, $regions, $categories, $tiers))
),

binned as (
    select least(19, cast(floor(churn_risk * 20) as integer)) as risk_bin, risk_band, revenue, predicted_clv_365d
    from scored
),

final as (
    select
        risk_bin / 20.0 as risk_bin_start,
        risk_band,
        count(*) as customers,
        sum(revenue) as revenue,
        sum(predicted_clv_365d) as predicted_clv_365d
    from binned
    group by risk_bin, risk_band
)

select * from final
order by risk_bin_start, risk_band
