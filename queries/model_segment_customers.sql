-- Grain: the segment layer of the as-of schema: the table segments (one row per segment combination) and the
-- macros every segmented query uses. Segments are customer-level: acquisition channel, region, first-order
-- category, loyalty tier. A segment is four lists of accepted values (dashboard.filters.Segment, bound as
-- $channels, $regions, $categories, $tiers); null means "all", an empty list matches nobody.
-- Params: none
-- Reads: customer_summary, model_info
-- Creates: period_of_as_of(), segment_customers(), segment_keys(), segment_keys_with_total(), segments

-- segments: one row per segment combination present among customers with a valid order, keyed by
-- customer_summary.seg_key. The aggregate tables (queries/cube_*.sql) are grouped by seg_key, so a segment
-- filter picks a handful of keys here and sums the aggregates' rows for them, never customer rows.
create table segments as
select seg_key, acquisition_channel, region, first_category, loyalty_tier, count(*) as customers
from customer_summary
group by all
order by seg_key
;

-- segment_keys: the seg_keys a segment accepts, the one place a segment's four lists become keys. Without any
-- segment filter it also returns -1, the key aggregates use for rows of people with no valid order (survey
-- responses of unknown customers), which only the unfiltered view counts.
create macro segment_keys(channels, regions, categories, tiers) as table
select seg_key
from segments
where (channels is null or list_contains(channels, acquisition_channel))
  and (regions is null or list_contains(regions, region))
  and (categories is null or list_contains(categories, first_category))
  and (tiers is null or list_contains(tiers, loyalty_tier))
union all
select -1 as seg_key
where channels is null and regions is null and categories is null and tiers is null
;

-- segment_keys_with_total: the keys to read from an aggregate that also stores its totals over everyone
-- (every seg_key and -1) under seg_key 0: without any segment filter only 0, so the unfiltered view reads one
-- row per period instead of summing a few hundred; with a filter the same keys as segment_keys. Only for
-- aggregates that store those totals (they say so in their header).
create macro segment_keys_with_total(channels, regions, categories, tiers) as table
select seg_key
from segment_keys(channels, regions, categories, tiers)
where not (channels is null and regions is null and categories is null and tiers is null)
union all
select 0 as seg_key
where channels is null and regions is null and categories is null and tiers is null
;

-- segment_customers: the segment's customers, every customer_summary column (through segment_keys).
create macro segment_customers(channels, regions, categories, tiers) as table
select *
from customer_summary
where seg_key in (select seg_key from segment_keys(channels, regions, categories, tiers))
;

-- period_of_as_of: the calendar period at a grain that contains the as-of date, and whether it is still
-- incomplete (it is complete only when the as-of day is its last day).
create macro period_of_as_of(grain) as table
select
    cast(date_trunc(grain, as_of) as date) as period_start,
    case grain
        when 'week' then date_trunc('week', as_of) + interval 7 day
        when 'quarter' then date_trunc('quarter', as_of) + interval 3 month
        else date_trunc('month', as_of) + interval 1 month
    end > as_of + interval 1 day as is_incomplete
from model_info
