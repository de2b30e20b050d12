-- Grain: one row per customer with at least one valid order by the as-of date, sorted by customer_id: the
-- churn scores of customer_scores (docs/churn.md). email is null unless $show_pii, and a customer_id that is an
-- e-mail address or a phone number is a pseudonym unless $show_pii (customer_label, privacy_macros.sql).
-- Params: $show_pii
-- Reads: customer_label(), customer_scores
select
    customer_label(customer_id, $show_pii) as customer_id,
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
order by customer_scores.customer_id
