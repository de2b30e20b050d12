-- Grain: one row per anchor order (cube_care_anchors) x what went wrong with it, as of the cutoff:
--   fact_kind 'ticket_category': fact_value = the category of a ticket about the order (cube_care_order_links), one
--     row per category; outcome of that category's tickets on the order: 'unresolved' (one still open), else
--     'resolved within a day' (all resolved in under 24 hours), else 'resolved in a day or more';
--   fact_kind 'return_reason': fact_value = the reason of a return of the order (trimmed; null = not recorded),
--     one row per reason; outcome null.
-- With the order's customer, seg_key, anchor_day (local day) and is_repurchased, and what reasons_customers lists of
-- the customer from customer_summary (email, count_orders, revenue, last_ordered_at; null for none), copied here so
-- that a list reads one group's rows and joins nothing (joining customer_summary cost most of a list at 10M orders).
-- Stored sorted by fact_kind, fact_value, outcome, anchor_day, so a list of one group reads only its rows. Read by
-- cube_reason_day_groups and reasons_customers.
-- Params: none
-- Reads: cube_care_anchors, cube_care_order_links, customer_summary, valid_returns
-- Creates: cube_reason_order_facts
create table cube_reason_order_facts as
with ticket_facts as (
    select
        cube_care_order_links.order_id,
        'ticket_category' as fact_kind,
        cube_care_order_links.category as fact_value,
        case
            when bool_or(not cube_care_order_links.is_resolved) then 'unresolved'
            when max(cube_care_order_links.resolution_days) < 1 then 'resolved within a day'
            else 'resolved in a day or more'
        end as outcome
    from cube_care_order_links
    where cube_care_order_links.link_kind = 'ticket'
    group by cube_care_order_links.order_id, cube_care_order_links.category
),

return_facts as (
    select distinct
        order_id,
        'return_reason' as fact_kind,
        nullif(trim(reason), '') as fact_value,
        cast(null as varchar) as outcome
    from valid_returns
    where order_id is not null
),

facts as (
    select * from ticket_facts
    union all
    select * from return_facts
)

select
    facts.fact_kind,
    facts.fact_value,
    facts.outcome,
    cube_care_anchors.anchor_day,
    cube_care_anchors.order_id,
    cube_care_anchors.customer_id,
    cube_care_anchors.seg_key,
    cube_care_anchors.ordered_at,
    cube_care_anchors.is_repurchased,
    customer_summary.email,
    customer_summary.count_orders,
    customer_summary.revenue,
    customer_summary.last_ordered_at
from facts
inner join cube_care_anchors on cube_care_anchors.order_id = facts.order_id
left join customer_summary on customer_summary.customer_id = cube_care_anchors.customer_id
order by facts.fact_kind, facts.fact_value, facts.outcome, cube_care_anchors.anchor_day, cube_care_anchors.order_id
