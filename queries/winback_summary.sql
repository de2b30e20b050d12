-- Grain: one row, the customers matching the win-back rules and the segment (see churn_winback_macro.sql):
-- how many, their lifetime revenue (the revenue at stake), predicted 365-day value, expected orders in the next
-- 90 days and mean churn risk (null when nobody matches).
-- Params: $risk_bands, $rfm_segments, $min_days_since_last_order, $max_days_since_last_order, $min_revenue, $max_revenue, $nps_categories, $has_open_complaint, $is_marketing_opt_in, $channels, $regions, $categories, $tiers
select
    count(*) as customers,
    coalesce(sum(revenue), 0) as revenue,
    coalesce(sum(predicted_clv_365d), 0) as predicted_clv_365d,
    coalesce(sum(expected_orders_90d), 0) as expected_orders_90d,
    avg(churn_risk) as mean_churn_risk
from winback_customers(
    $risk_bands, $rfm_segments, $min_days_since_last_order, $max_days_since_last_order, $min_revenue,
    $max_revenue, $nps_categories, $has_open_complaint, $is_marketing_opt_in,
    $channels, $regions, $categories, $tiers
)
