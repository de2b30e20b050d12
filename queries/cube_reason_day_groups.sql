-- Grain: one row per seg_key x anchor_day (local day of the anchor order) x fact_kind x fact_value x outcome with
-- at least one anchor order: anchor_orders and repurchased_orders (counts only; rates after summing).
--   'all' / 'all anchor orders': every anchor order (cube_care_anchors);
--   'baseline' / 'no ticket or return': anchor orders with no ticket about them (cube_care_order_links) and no
--     return (the "no problem" baseline);
--   'ticket_category' and 'return_reason': the rows of cube_reason_order_facts, counted per group (an order with
--     two categories counts in both; one category of an order has one outcome).
-- Also one row per anchor_day x fact_kind x fact_value x outcome under seg_key 0 with the totals over every
-- seg_key, which the unfiltered view reads (segment_keys_with_total).
-- Read by reasons_repurchase and theme_summary (which takes "everyone else" as all anchors minus a theme's).
-- Params: none
-- Reads: cube_care_anchors, cube_care_order_links, cube_reason_order_facts, valid_returns
-- Creates: cube_reason_day_groups
create table cube_reason_day_groups as
with problem_orders as (
    select order_id from cube_care_order_links where link_kind = 'ticket'
    union
    select order_id from valid_returns where order_id is not null
),

anchor_rows as (
    select
        cube_care_anchors.seg_key,
        cube_care_anchors.anchor_day,
        cube_care_anchors.is_repurchased,
        problem_orders.order_id is null as is_baseline
    from cube_care_anchors
    left join problem_orders on problem_orders.order_id = cube_care_anchors.order_id
),

all_groups as (
    select
        seg_key,
        anchor_day,
        'all' as fact_kind,
        'all anchor orders' as fact_value,
        cast(null as varchar) as outcome,
        count(*) as anchor_orders,
        count(*) filter (where is_repurchased) as repurchased_orders
    from anchor_rows
    group by seg_key, anchor_day
    union all
    select
        seg_key,
        anchor_day,
        'baseline' as fact_kind,
        'no ticket or return' as fact_value,
        cast(null as varchar) as outcome,
        count(*) as anchor_orders,
        count(*) filter (where is_repurchased) as repurchased_orders
    from anchor_rows
    where is_baseline
    group by seg_key, anchor_day
),

fact_groups as (
    select
        seg_key,
        anchor_day,
        fact_kind,
        fact_value,
        outcome,
        count(*) as anchor_orders,
        count(*) filter (where is_repurchased) as repurchased_orders
    from cube_reason_order_facts
    group by seg_key, anchor_day, fact_kind, fact_value, outcome
),

detail as (
    select * from all_groups
    union all
    select * from fact_groups
)

select * from detail
union all
-- the totals over every seg_key, under seg_key 0 (segment_keys_with_total)
select
    0 as seg_key,
    anchor_day,
    fact_kind,
    fact_value,
    outcome,
    cast(sum(anchor_orders) as bigint) as anchor_orders,
    cast(sum(repurchased_orders) as bigint) as repurchased_orders
from detail
group by anchor_day, fact_kind, fact_value, outcome
order by fact_kind, seg_key, anchor_day
