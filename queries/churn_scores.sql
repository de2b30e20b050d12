-- Grain: one row per customer with at least one valid order by the as-of date, sorted by customer_id: the
-- churn scores of customer_scores (docs/churn.md). email is null unless $show_pii.
-- Params: $show_pii
-- Reads: customer_scores
select
    customer_id,
    case when $show_pii then email end as email,
    rfm_segment,
    recency_days,
    frequency,
    monetary,
    p_alive,
    expected_orders_90d,
    churn_risk,
    risk_band,
    predicted_clv_365d,
    revenue,
    reasons
from customer_scores
order by customer_id
