-- Grain: one row per ticket or survey response and an order it is about, as of the cutoff (docs/metrics.md,
-- "Which order a ticket, return or response is about"): a ticket or response naming an order belongs to it; a
-- ticket naming none to the customer's latest valid order placed at or before its opening; a response naming none
-- to every valid order of the customer it was submitted within 30 days after. Only orders of customer_summary's
-- customers are found for unlinked rows; a named order is kept as named (readers join to their anchors).
-- link_kind 'ticket': ticket_number (tickets are numbered: ticket_id may be null), opened_at, is_resolved,
-- resolution_days, category, text_masked (subject and body). link_kind 'response': response_id, submitted_at,
-- kind, score, nps_category, text_masked (the comment). Written once: the care cube and the "why customers leave"
-- cubes read it.
-- Params: none
-- Reads: customer_summary, valid_orders, valid_surveys, valid_tickets
-- Creates: cube_care_order_links
create table cube_care_order_links as
with segment_orders as (
    select valid_orders.order_id, valid_orders.customer_id, valid_orders.ordered_at, valid_orders.order_seq
    from valid_orders
    inner join customer_summary on customer_summary.customer_id = valid_orders.customer_id
),

tickets as (
    select
        row_number() over (
            order by valid_tickets.ticket_id, valid_tickets.customer_id, valid_tickets.opened_at,
                valid_tickets.resolved_at, valid_tickets.order_id, valid_tickets.category
        ) as ticket_number,
        valid_tickets.*
    from valid_tickets
),

unlinked_ticket_orders as (
    select tickets.ticket_number, tickets.customer_id, max(segment_orders.order_seq) as order_seq
    from tickets
    inner join segment_orders
        on segment_orders.customer_id = tickets.customer_id
        and segment_orders.ordered_at <= tickets.opened_at
    where tickets.order_id is null
    group by tickets.ticket_number, tickets.customer_id
),

ticket_orders as (
    select order_id, ticket_number
    from tickets
    where order_id is not null
    union all
    select segment_orders.order_id, unlinked_ticket_orders.ticket_number
    from unlinked_ticket_orders
    inner join segment_orders
        on segment_orders.customer_id = unlinked_ticket_orders.customer_id
        and segment_orders.order_seq = unlinked_ticket_orders.order_seq
),

response_orders as (
    select valid_surveys.order_id, valid_surveys.response_id, valid_surveys.customer_id,
        valid_surveys.submitted_at, valid_surveys.kind, valid_surveys.score, valid_surveys.nps_category,
        valid_surveys.comment_masked
    from valid_surveys
    where valid_surveys.order_id is not null
    union all
    select segment_orders.order_id, valid_surveys.response_id, valid_surveys.customer_id,
        valid_surveys.submitted_at, valid_surveys.kind, valid_surveys.score, valid_surveys.nps_category,
        valid_surveys.comment_masked
    from valid_surveys
    inner join segment_orders
        on segment_orders.customer_id = valid_surveys.customer_id
        and valid_surveys.submitted_at >= segment_orders.ordered_at
        and valid_surveys.submitted_at <= segment_orders.ordered_at + interval 30 day
    where valid_surveys.order_id is null
)

select
    ticket_orders.order_id,
    'ticket' as link_kind,
    tickets.ticket_number,
    tickets.opened_at,
    tickets.is_resolved,
    tickets.resolution_days,
    tickets.category,
    cast(null as varchar) as response_id,
    cast(null as timestamp) as submitted_at,
    cast(null as varchar) as kind,
    cast(null as double) as score,
    cast(null as varchar) as nps_category,
    tickets.text_masked
from ticket_orders
inner join tickets on tickets.ticket_number = ticket_orders.ticket_number
union all
select
    order_id,
    'response' as link_kind,
    null as ticket_number,
    null as opened_at,
    null as is_resolved,
    null as resolution_days,
    null as category,
    response_id,
    submitted_at,
    kind,
    score,
    nps_category,
    comment_masked as text_masked
from response_orders
