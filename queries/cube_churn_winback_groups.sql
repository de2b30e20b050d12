-- Grain: one row per lifecycle_state x risk_band x seg_key x rfm_segment x latest_nps_category x
-- has_open_complaint x has_complained x has_returned x is_marketing_opt_in of customer_scores (built after the
-- churn scores, see dashboard/churn.py): customers, summed lifetime revenue, predicted 365-day value, value if
-- they stay and value at stake (365 days), expected orders in 90 days, and the sum and count of the non-null
-- churn risks. Every win-back rule except the day and revenue bounds, the RFM scores and the complaint
-- categories is one of these columns, so winback_summary.sql (and winback_segment.sql's total) sum these rows
-- when none of those is set. Sorted by (lifecycle_state, risk_band, seg_key). seg_key -1: a scored customer
-- missing from customer_summary (counted only unfiltered).
-- Params: none
-- Reads: customer_scores, customer_summary
-- Creates: cube_churn_winback_groups
create table cube_churn_winback_groups as
select
    customer_scores.lifecycle_state,
    customer_scores.risk_band,
    coalesce(customer_summary.seg_key, -1) as seg_key,
    customer_scores.rfm_segment,
    customer_scores.latest_nps_category,
    customer_scores.has_open_complaint,
    customer_scores.has_complained,
    customer_scores.has_returned,
    customer_scores.is_marketing_opt_in,
    count(*) as customers,
    sum(customer_scores.revenue) as revenue,
    sum(customer_scores.predicted_clv_365d) as predicted_clv_365d,
    sum(customer_scores.value_if_active_365d) as value_if_active_365d,
    sum(customer_scores.value_at_stake_365d) as value_at_stake_365d,
    sum(customer_scores.expected_orders_90d) as expected_orders_90d,
    sum(customer_scores.churn_risk) as churn_risk_sum,
    count(customer_scores.churn_risk) as churn_risk_count
from customer_scores
left join customer_summary on customer_summary.customer_id = customer_scores.customer_id
group by all
order by lifecycle_state, risk_band, seg_key, rfm_segment, latest_nps_category, has_open_complaint, has_complained,
    has_returned, is_marketing_opt_in
