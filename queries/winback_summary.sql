-- Grain: one row, the customers matching the win-back rules and the segment (see churn_winback_macro.sql):
-- how many, how many of them opted in to marketing, their lifetime revenue, predicted 365-day value, value if
-- they stay and value at stake (the part of it expected to be lost), expected orders in the next 90 days and
-- mean churn risk (null when nobody matches).
-- Without row-level rules (day or revenue bounds, RFM scores, complaint categories, where they were earlier) it sums the groups of
-- cube_churn_winback_groups; with one it sums the rows of cube_churn_winback_rows (one per customer). DuckDB
-- drops the branch whose condition on those rules is false.
-- Params: $lifecycle_states, $risk_bands, $rfm_segments, $recency_scores, $fm_scores, $min_days_since_last_order, $max_days_since_last_order, $min_revenue, $max_revenue, $nps_categories, $has_open_complaint, $has_complained, $complaint_categories, $has_returned, $is_marketing_opt_in, $moved_days, $previous_states, $previous_segments, $channels, $regions, $categories, $tiers
-- Reads: cube_churn_winback_groups, cube_churn_winback_rows, segment_keys(), winback_rules_match()
with segment_keys_in_scope as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

matches as (
    select
        customers,
        case when is_marketing_opt_in then customers else 0 end as opted_in_customers,
        revenue,
        predicted_clv_365d,
        value_if_active_365d,
        value_at_stake_365d,
        expected_orders_90d,
        churn_risk_sum,
        churn_risk_count
    from cube_churn_winback_groups
    where $min_days_since_last_order is null and $max_days_since_last_order is null
      and $min_revenue is null and $max_revenue is null
      and $recency_scores is null and $fm_scores is null and $complaint_categories is null
      and $previous_states is null and $previous_segments is null
      and winback_rules_match(
          $lifecycle_states, $risk_bands, $rfm_segments, null, null, null, null, null, null, $nps_categories,
          $has_open_complaint, $has_complained, null, $has_returned, $is_marketing_opt_in, null, null, null,
          lifecycle_state, risk_band, rfm_segment, null, null, null, null, latest_nps_category,
          has_open_complaint, has_complained, null, has_returned, is_marketing_opt_in, null, null, null, null
      )
      and seg_key in (select seg_key from segment_keys_in_scope)
    union all
    select
        1 as customers,
        case when is_marketing_opt_in then 1 else 0 end as opted_in_customers,
        revenue,
        predicted_clv_365d,
        value_if_active_365d,
        value_at_stake_365d,
        expected_orders_90d,
        churn_risk as churn_risk_sum,
        case when churn_risk is null then 0 else 1 end as churn_risk_count
    from cube_churn_winback_rows
    where not ($min_days_since_last_order is null and $max_days_since_last_order is null
               and $min_revenue is null and $max_revenue is null
               and $recency_scores is null and $fm_scores is null and $complaint_categories is null
               and $previous_states is null and $previous_segments is null)
      and winback_rules_match(
          $lifecycle_states, $risk_bands, $rfm_segments, $recency_scores, $fm_scores, $min_days_since_last_order,
          $max_days_since_last_order, $min_revenue, $max_revenue, $nps_categories, $has_open_complaint,
          $has_complained, $complaint_categories, $has_returned, $is_marketing_opt_in, $moved_days,
          $previous_states, $previous_segments,
          lifecycle_state, risk_band, rfm_segment, recency_score, frequency_monetary_score, days_since_last_order,
          revenue, latest_nps_category, has_open_complaint, has_complained, complaint_categories, has_returned,
          is_marketing_opt_in, previous_state_7, previous_segment_7, previous_state_28, previous_segment_28
      )
      and (($channels is null and $regions is null and $categories is null and $tiers is null)
           or seg_key in (select seg_key from segment_keys_in_scope))
)

select
    cast(coalesce(sum(customers), 0) as bigint) as customers,
    cast(coalesce(sum(opted_in_customers), 0) as bigint) as opted_in_customers,
    coalesce(sum(revenue), 0) as revenue,
    sum(predicted_clv_365d) as predicted_clv_365d,
    sum(value_if_active_365d) as value_if_active_365d,
    sum(value_at_stake_365d) as value_at_stake_365d,
    coalesce(sum(expected_orders_90d), 0) as expected_orders_90d,
    sum(churn_risk_sum) / nullif(sum(churn_risk_count), 0) as mean_churn_risk
from matches
