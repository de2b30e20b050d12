-- Grain: one row per source x theme_id x anchor order (cube_care_anchors) with a text in that theme about it: a
-- survey comment (source 'survey') or a ticket's subject and body (source 'ticket') linked to the order by the care
-- rules (cube_care_order_links), themed by theme_texts (dashboard/themes.py; theme_id -1 no clear theme, -2 other
-- language, -3 empty or no words). Source 'any' holds each order once per theme whatever the source. With the
-- order's customer, seg_key, anchor_day and is_repurchased, and what reasons_customers lists of the customer from
-- customer_summary (email, count_orders, revenue, last_ordered_at; copied so that a list joins nothing); sorted by
-- source, theme_id, anchor_day so a list of one theme reads only its rows. Read by cube_theme_day_groups and
-- reasons_customers.
-- Params: none
-- Reads: cube_care_anchors, cube_care_order_links, customer_summary, theme_texts
-- Creates: cube_theme_order_facts
create table cube_theme_order_facts as
with order_themes as (
    select distinct
        cube_care_order_links.order_id,
        theme_texts.theme_id,
        case cube_care_order_links.link_kind when 'ticket' then 'ticket' else 'survey' end as source
    from cube_care_order_links
    inner join theme_texts on theme_texts.text = cube_care_order_links.text_masked
),

sourced as (
    select order_id, theme_id, source from order_themes
    union all
    select distinct order_id, theme_id, 'any' as source from order_themes
)

select
    sourced.source,
    sourced.theme_id,
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
from sourced
inner join cube_care_anchors on cube_care_anchors.order_id = sourced.order_id
left join customer_summary on customer_summary.customer_id = cube_care_anchors.customer_id
order by sourced.source, sourced.theme_id, cube_care_anchors.anchor_day, cube_care_anchors.order_id
