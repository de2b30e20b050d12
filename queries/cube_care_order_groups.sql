-- Grain: one row per seg_key x care_dimension x care_group with at least one anchor order, for the
-- customers of customer_summary. Every valid order is classified once by the care around it as of the
-- cutoff (definitions in care_repeat_rates.sql and docs/metrics.md); the classification depends only on
-- the order and its customer, never on the segment filter, so a filter sums the rows of its seg_keys.
-- Sums and counts only: anchor_orders, customers (distinct within the row: a customer has one seg_key, so
-- the sum over seg_keys counts each customer once), repurchased_orders. Read by care_repeat_rates.
-- Built for memory at 100M orders: the care around an order is gathered by one grouping on order_id (no
-- join of the orders with their outcomes), each order's groups are one bit mask, and customers are counted
-- from one bit mask per customer (no distinct count per group); every big step is a grouping, which spills.
-- The anchors and which order each ticket and response is about come from cube_care_anchors and
-- cube_care_order_links (shared with the "why customers leave" cubes).
-- Params: none
-- Reads: cube_care_anchors, cube_care_order_links, valid_returns
-- Creates: cube_care_order_groups
create table cube_care_order_groups as
with care_groups (care_bit, care_dimension, care_group) as (
    values
        (1, 'ticket', 'no ticket'),
        (2, 'ticket', 'unresolved'),
        (4, 'ticket', 'resolved'),
        (8, 'resolution_time', '< 1 day'),
        (16, 'resolution_time', '1-3 days'),
        (32, 'resolution_time', '3-7 days'),
        (64, 'resolution_time', '> 7 days'),
        (128, 'return', 'not returned'),
        (256, 'return', 'returned'),
        (512, 'survey', 'not surveyed'),
        (1024, 'survey', 'surveyed'),
        (2048, 'silent_unhappy', 'detractor, no ticket'),
        (4096, 'silent_unhappy', 'detractor with ticket'),
        (8192, 'silent_unhappy', 'promoter or passive')
),

-- Anchor orders and the tickets and responses about each order: cube_care_anchors, cube_care_order_links.
ranked_order_tickets as (
    select
        order_id,
        is_resolved,
        resolution_days,
        row_number() over (partition by order_id order by opened_at, ticket_number) as ticket_rank
    from cube_care_order_links
    where link_kind = 'ticket'
),

order_responses as (
    select order_id, nps_category
    from cube_care_order_links
    where link_kind = 'response'
),

-- One row per order and fact: the anchor order itself, each of its tickets, responses and returns.
order_facts as (
    select order_id, customer_id, seg_key, is_repurchased, true as is_anchor
    from cube_care_anchors
    union all by name
    select
        order_id,
        true as is_ticket,
        not is_resolved as is_unresolved_ticket,
        case when ticket_rank = 1 and is_resolved then resolution_days end as first_resolution_days
    from ranked_order_tickets
    union all by name
    select order_id, true as is_response, nps_category
    from order_responses
    union all by name
    select order_id, true as is_returned
    from valid_returns
    where order_id is not null
),

order_care as (
    select
        order_id,
        any_value(customer_id) as customer_id,
        any_value(seg_key) as seg_key,
        bool_or(is_repurchased) as is_repurchased,
        count(*) filter (where is_ticket) as count_tickets,
        count(*) filter (where is_unresolved_ticket) as count_unresolved_tickets,
        max(first_resolution_days) as first_resolution_days,
        count(*) filter (where is_response) as count_responses,
        count(*) filter (where nps_category = 'detractor') as count_detractor_responses,
        count(*) filter (where nps_category in ('promoter', 'passive')) as count_promoter_passive_responses,
        bool_or(is_returned) is not distinct from true as is_returned
    from order_facts
    group by order_id
    having bool_or(is_anchor)
),

-- Each anchor order's care groups as a sum of the care_bit values above, one per dimension it is in.
order_masks as (
    select
        customer_id,
        seg_key,
        is_repurchased,
        case
            when count_tickets = 0 then 1
            when count_unresolved_tickets > 0 then 2
            else 4
        end
        + case
            when first_resolution_days < 1 then 8
            when first_resolution_days < 3 then 16
            when first_resolution_days < 7 then 32
            when first_resolution_days >= 7 then 64
            else 0
        end
        + case when is_returned then 256 else 128 end
        + case when count_responses > 0 then 1024 else 512 end
        + case
            when count_detractor_responses > 0 and count_tickets = 0 then 2048
            when count_detractor_responses > 0 then 4096
            when count_promoter_passive_responses > 0 then 8192
            else 0
        end as order_mask
    from order_care
),

order_counts as (
    select
        seg_key,
        order_mask,
        count(*) as anchor_orders,
        count(*) filter (where is_repurchased) as repurchased_orders
    from order_masks
    group by seg_key, order_mask
),

-- A customer is in a group when at least one of their anchor orders is.
customer_masks as (
    select seg_key, bit_or(order_mask) as customer_mask
    from order_masks
    group by customer_id, seg_key
),

customer_counts as (
    select seg_key, customer_mask, count(*) as customers
    from customer_masks
    group by seg_key, customer_mask
),

group_orders as (
    select
        order_counts.seg_key,
        care_groups.care_dimension,
        care_groups.care_group,
        sum(order_counts.anchor_orders)::bigint as anchor_orders,
        sum(order_counts.repurchased_orders)::bigint as repurchased_orders
    from order_counts
    inner join care_groups on order_counts.order_mask & care_groups.care_bit <> 0
    group by order_counts.seg_key, care_groups.care_dimension, care_groups.care_group
),

group_customers as (
    select
        customer_counts.seg_key,
        care_groups.care_dimension,
        care_groups.care_group,
        sum(customer_counts.customers)::bigint as customers
    from customer_counts
    inner join care_groups on customer_counts.customer_mask & care_groups.care_bit <> 0
    group by customer_counts.seg_key, care_groups.care_dimension, care_groups.care_group
)

select
    group_orders.seg_key,
    group_orders.care_dimension,
    group_orders.care_group,
    group_orders.anchor_orders,
    group_customers.customers,
    group_orders.repurchased_orders
from group_orders
inner join group_customers
    on group_customers.seg_key = group_orders.seg_key
    and group_customers.care_dimension = group_orders.care_dimension
    and group_customers.care_group = group_orders.care_group
order by group_orders.seg_key, group_orders.care_dimension, group_orders.care_group
