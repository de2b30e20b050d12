-- Grain: one row, the customers matching the win-back rules and the segment (see churn_winback_macro.sql):
-- how many, their lifetime revenue (the revenue at stake), predicted 365-day value, expected orders in the next
-- 90 days and mean churn risk (null when nobody matches).
-- Without day or revenue bounds it sums the groups of cube_churn_winback_groups; with one it sums the rows of
-- cube_churn_winback_rows (one per customer). DuckDB drops the branch whose condition on the bounds is false.
-- Params: $risk_bands, $rfm_segments, $min_days_since_last_order, $max_days_since_last_order, $min_revenue, $max_revenue, $nps_categories, $has_open_complaint, $is_marketing_opt_in, $channels, $regions, $categories, $tiers
-- Reads: cube_churn_winback_groups, cube_churn_winback_rows, segment_keys(), winback_rules_match()
with segment_keys_in_scope as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

matches as (
    select customers, revenue, predicted_clv_365d, expected_orders_90d, churn_risk_sum, churn_risk_count
    from cube_churn_winback_groups
    where $min_days_since_last_order is null and $max_days_since_last_order is null
      and $min_revenue is null and $max_revenue is null
      and winback_rules_match(
          $risk_bands, $rfm_segments, null, null, null, null, $nps_categories, $has_open_complaint,
          $is_marketing_opt_in,
          risk_band, rfm_segment, null, null, latest_nps_category, has_open_complaint, is_marketing_opt_in
      )
      and seg_key in (select seg_key from segment_keys_in_scope)
    union all
    select
        1 as customers,
        revenue,
        predicted_clv_365d,
        expected_orders_90d,
        churn_risk as churn_risk_sum,
        case when churn_risk is null then 0 else 1 end as churn_risk_count
    from cube_churn_winback_rows
    where not ($min_days_since_last_order is null and $max_days_since_last_order is null
               and $min_revenue is null and $max_revenue is null)
      and winback_rules_match(
          $risk_bands, $rfm_segments, $min_days_since_last_order, $max_days_since_last_order, $min_revenue,
          $max_revenue, $nps_categories, $has_open_complaint, $is_marketing_opt_in,
          risk_band, rfm_segment, days_since_last_order, revenue, latest_nps_category, has_open_complaint,
          is_marketing_opt_in
      )
      and (($channels is null and $regions is null and $categories is null and $tiers is null)
           or seg_key in (select seg_key from segment_keys_in_scope))
)

select
    cast(coalesce(sum(customers), 0) as bigint) as customers,
    coalesce(sum(revenue), 0) as revenue,
    coalesce(sum(predicted_clv_365d), 0) as predicted_clv_365d,
    coalesce(sum(expected_orders_90d), 0) as expected_orders_90d,
    sum(churn_risk_sum) / nullif(sum(churn_risk_count), 0) as mean_churn_risk
from matches
