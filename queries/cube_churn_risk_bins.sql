-- Grain: one row per seg_key x risk_bin x risk_band of customer_scores (built after the churn scores, see
-- dashboard/churn.py): risk_bin = least(19, floor(churn_risk x 20)), the 5-point bins of
-- churn_risk_distribution.sql. customers, summed lifetime revenue and summed predicted 365-day value.
-- seg_key is the customer's (-1 for a scored customer missing from customer_summary, counted only unfiltered).
-- Params: none
-- Reads: customer_scores, customer_summary
-- Creates: cube_churn_risk_bins
create table cube_churn_risk_bins as
select
    coalesce(customer_summary.seg_key, -1) as seg_key,
    least(19, cast(floor(customer_scores.churn_risk * 20) as integer)) as risk_bin,
    customer_scores.risk_band,
    count(*) as customers,
    sum(customer_scores.revenue) as revenue,
    sum(customer_scores.predicted_clv_365d) as predicted_clv_365d
from customer_scores
left join customer_summary on customer_summary.customer_id = customer_scores.customer_id
group by all
order by seg_key, risk_bin, risk_band
