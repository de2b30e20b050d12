-- Grain: a table macro, one row per customer of customer_scores matching the win-back rules and the segment;
-- created with customer_scores so winback_segment.sql and winback_summary.sql share one definition.
-- Every argument null means "any"; lists match any of their values (an empty list matches nobody):
-- bands ('high', 'medium', 'low'), segments (RFM segment names), nps ('promoter', 'passive', 'detractor',
-- 'none' = no NPS answer); days since the last order and lifetime revenue between inclusive bounds;
-- open_complaint and opt_in true or false; channels, regions, categories, tiers as in segment_customers.
-- Params: none
create macro winback_customers(
    bands, segments, min_days, max_days, min_value, max_value, nps, open_complaint, opt_in,
    channels, regions, categories, tiers
) as table
select *
from customer_scores
where (bands is null or list_contains(bands, risk_band))
  and (segments is null or list_contains(segments, rfm_segment))
  and (min_days is null or days_since_last_order >= min_days)
  and (max_days is null or days_since_last_order <= max_days)
  and (min_value is null or revenue >= min_value)
  and (max_value is null or revenue <= max_value)
  and (nps is null or list_contains(nps, latest_nps_category))
  and (open_complaint is null or has_open_complaint = open_complaint)
  and (opt_in is null or is_marketing_opt_in = opt_in)
  and (
      (channels is null and regions is null and categories is null and tiers is null)
      or customer_id in (select customer_id from segment_customers(channels, regions, categories, tiers))
  )
