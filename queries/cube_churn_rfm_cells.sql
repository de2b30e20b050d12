-- Grain: one row per seg_key x recency_score x frequency_monetary_score x rfm_segment x lifecycle_state of
-- customer_scores (built after the churn scores, see dashboard/churn.py): customers, summed lifetime revenue,
-- predicted 365-day value, value if they stay, value at stake and expected orders in 90 days, and the sum and
-- count of the non-null churn risks (the mean of churn_rfm_grid.sql is their ratio after summing over seg_keys).
-- seg_key is the customer's (-1 for a scored customer missing from customer_summary, counted only unfiltered).
-- Params: none
-- Reads: customer_scores, customer_summary
-- Creates: cube_churn_rfm_cells
create table cube_churn_rfm_cells as
select
    coalesce(customer_summary.seg_key, -1) as seg_key,
    customer_scores.recency_score,
    customer_scores.frequency_monetary_score,
    customer_scores.rfm_segment,
    customer_scores.lifecycle_state,
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
order by seg_key, recency_score, frequency_monetary_score, lifecycle_state
