-- Grain: one row per seg_key x anchor_day x source x theme_id with at least one anchor order with a text in the
-- theme (cube_theme_order_facts): anchor_orders and repurchased_orders. Also one row per anchor_day x source x
-- theme_id under seg_key 0 with the totals over every seg_key, which the unfiltered view reads
-- (segment_keys_with_total). Read by theme_summary.
-- Params: none
-- Reads: cube_theme_order_facts
-- Creates: cube_theme_day_groups
create table cube_theme_day_groups as
select
    case when grouping(seg_key) = 1 then 0 else seg_key end as seg_key,
    anchor_day,
    source,
    theme_id,
    count(*) as anchor_orders,
    count(*) filter (where is_repurchased) as repurchased_orders
from cube_theme_order_facts
group by grouping sets ((seg_key, anchor_day, source, theme_id), (anchor_day, source, theme_id))
order by source, seg_key, anchor_day
