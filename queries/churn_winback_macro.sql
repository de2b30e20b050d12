-- Grain: macros, created with customer_scores so winback_segment.sql and winback_summary.sql share one
-- definition of the win-back rules.
-- winback_rules_match(rules..., the row's values...): true when a customer (or a group of customers sharing
-- the values) matches the rules. Every rule argument null means "any"; lists match any of their values (an
-- empty list matches nobody): bands ('high', 'medium', 'low'), segments (RFM segment names), nps ('promoter',
-- 'passive', 'detractor', 'none' = no NPS answer); days since the last order and lifetime revenue between
-- inclusive bounds; open_complaint and opt_in true or false.
-- winback_customers(rules..., channels, regions, categories, tiers): a table macro, one row per customer of
-- customer_scores matching the rules and the segment (channels, regions, categories, tiers as in
-- segment_customers). The win-back queries read the aggregates cube_churn_winback_groups and
-- cube_churn_winback_rows with winback_rules_match instead.
-- Params: none
-- Reads: customer_scores, segment_customers()
-- Creates: winback_customers(), winback_rules_match()
create macro winback_rules_match(
    bands, segments, min_days, max_days, min_value, max_value, nps, open_complaint, opt_in,
    row_risk_band, row_rfm_segment, row_days_since_last_order, row_revenue, row_nps_category,
    row_has_open_complaint, row_is_marketing_opt_in
) as (
    (bands is null or list_contains(bands, row_risk_band))
    and (segments is null or list_contains(segments, row_rfm_segment))
    and (min_days is null or row_days_since_last_order >= min_days)
    and (max_days is null or row_days_since_last_order <= max_days)
    and (min_value is null or row_revenue >= min_value)
    and (max_value is null or row_revenue <= max_value)
    and (nps is null or list_contains(nps, row_nps_category))
    and (open_complaint is null or row_has_open_complaint = open_complaint)
    and (opt_in is null or row_is_marketing_opt_in = opt_in)
);

create macro winback_customers(
    bands, segments, min_days, max_days, min_value, max_value, nps, open_complaint, opt_in,
    channels, regions, categories, tiers
) as table
select *
from customer_scores
where winback_rules_match(
      bands, segments, min_days, max_days, min_value, max_value, nps, open_complaint, opt_in,
      risk_band, rfm_segment, days_since_last_order, revenue, latest_nps_category, has_open_complaint,
      is_marketing_opt_in
  )
  and (
      (channels is null and regions is null and categories is null and tiers is null)
      or customer_id in (select customer_id from segment_customers(channels, regions, categories, tiers))
  );
