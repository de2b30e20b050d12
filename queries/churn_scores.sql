-- Grain: one row per customer with at least one valid order by the as-of date, sorted by customer_id: the
-- churn scores of customer_scores (docs/churn.md). email is null unless $show_pii, and a customer_id that is an
-- e-mail address or a phone number is a pseudonym unless $show_pii (customer_label, privacy_macros.sql).
-- Params: $show_pii
-- Reads: customer_label(), customer_scores, reasons_text()
select
    customer_label(customer_id, $show_pii) as customer_id,
    case when $show_pii then email end as email,
    lifecycle_state,
    rfm_segment,
    recency_days,
    frequency,
    monetary,
    p_alive,
    expected_next_order_on,
    is_overdue,
    expected_orders_90d,
    expected_orders_365d,
    churn_risk,
    risk_band,
    predicted_value_90d,
    predicted_clv_365d,
    value_if_active_365d,
    value_at_stake_365d,
    revenue,
    reasons_text(
        has_overdue_reason, frequency, days_since_last_order, typical_gap_days, median_typical_gap_days,
        complaint_reason, feedback_reason, return_reason_text, value_reason
    ) as reasons
from customer_scores
order by customer_scores.customer_id
