-- Grain: a table macro, one row per customer of customer_summary in the chosen segment.
-- Segments are customer-level: acquisition channel, region, first-order category, loyalty tier.
-- Each argument is a list of accepted values; null means "all", an empty list matches nobody.
-- Params: none
create macro segment_customers(channels, regions, categories, tiers) as table
select *
from customer_summary
where (channels is null or list_contains(channels, acquisition_channel))
  and (regions is null or list_contains(regions, region))
  and (categories is null or list_contains(categories, first_category))
  and (tiers is null or list_contains(tiers, loyalty_tier))
;

-- segment_surveys: the survey responses a segment sees. Without any segment filter every response
-- counts, including those of customers with no orders; with a filter, only the segment's customers'.
create macro segment_surveys(channels, regions, categories, tiers) as table
select *
from valid_surveys
where (channels is null and regions is null and categories is null and tiers is null)
   or customer_id in (select customer_id from segment_customers(channels, regions, categories, tiers))
