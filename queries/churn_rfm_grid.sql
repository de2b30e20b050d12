-- Grain: one row per recency_score x frequency_monetary_score (1-5 each) with at least one customer of the
-- segment: its RFM segment name, customers, lifetime revenue and mean churn risk.
-- Params: $channels, $regions, $categories, $tiers
select
    recency_score,
    frequency_monetary_score,
    rfm_segment,
    count(*) as customers,
    sum(revenue) as revenue,
    avg(churn_risk) as mean_churn_risk
from customer_scores
where ($channels is null and $regions is null and $categories is null and $tiers is null)
   or customer_id in (select customer_id from segment_customers($channels, $regions, $categories, $tiers))
group by recency_score, frequency_monetary_score, rfm_segment
order by recency_score desc, frequency_monetary_score desc
