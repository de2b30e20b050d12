-- Grain: one row per recency_score x frequency_monetary_score (1-5 each) with at least one customer of the
-- segment: its RFM segment name, customers, lifetime revenue and mean churn risk.
-- Reads the aggregate cube_churn_rfm_cells, summed over the seg_keys of the segment (the mean is the summed
-- churn risk over the number of customers with one).
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_churn_rfm_cells, segment_keys()
select
    recency_score,
    frequency_monetary_score,
    rfm_segment,
    cast(sum(customers) as bigint) as customers,
    sum(revenue) as revenue,
    sum(churn_risk_sum) / nullif(sum(churn_risk_count), 0) as mean_churn_risk
from cube_churn_rfm_cells
where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
group by recency_score, frequency_monetary_score, rfm_segment
order by recency_score desc, frequency_monetary_score desc
