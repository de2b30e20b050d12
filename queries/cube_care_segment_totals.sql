-- Grain: one row per seg_key of the segments table, plus seg_key -1 (people with no valid order), with the
-- headline care counts as of the cutoff (definitions in care_summary.sql and docs/metrics.md). Sums and
-- counts only: tickets, resolved_tickets, unresolved_tickets, customers_with_open_ticket (a customer has one
-- seg_key, so the sum over seg_keys counts each customer once), returns, orders, returned_orders (valid
-- orders with a return) and silent_unhappy_customers (latest NPS response a detractor, never a ticket).
-- Tickets, returns and orders count only for customers of customer_summary; silent unhappy respondents with
-- no valid order are counted under seg_key -1, which only the unfiltered view reads. Read by care_summary.
-- Params: none
-- Reads: customer_summary, segments, valid_orders, valid_returns, valid_surveys, valid_tickets
-- Creates: cube_care_segment_totals
create table cube_care_segment_totals as
with ticket_totals as (
    select
        customer_summary.seg_key,
        count(*) as tickets,
        count(*) filter (where valid_tickets.is_resolved) as resolved_tickets,
        count(*) filter (where not valid_tickets.is_resolved) as unresolved_tickets,
        count(distinct valid_tickets.customer_id) filter (where not valid_tickets.is_resolved)
            as customers_with_open_ticket
    from valid_tickets
    inner join customer_summary on customer_summary.customer_id = valid_tickets.customer_id
    group by customer_summary.seg_key
),

return_totals as (
    select customer_summary.seg_key, count(*) as returns
    from valid_returns
    inner join customer_summary on customer_summary.customer_id = valid_returns.customer_id
    group by customer_summary.seg_key
),

returned_orders as (
    select distinct order_id
    from valid_returns
    where order_id is not null
),

order_totals as (
    select
        customer_summary.seg_key,
        count(*) as orders,
        count(*) filter (where valid_orders.order_id in (select order_id from returned_orders)) as returned_orders
    from valid_orders
    inner join customer_summary on customer_summary.customer_id = valid_orders.customer_id
    group by customer_summary.seg_key
),

ranked_nps_responses as (
    select
        valid_surveys.customer_id,
        valid_surveys.nps_category,
        row_number() over (
            partition by valid_surveys.customer_id
            order by valid_surveys.submitted_at desc, valid_surveys.response_id desc, valid_surveys.score
        ) as recency_rank
    from valid_surveys
    where valid_surveys.kind = 'nps'
),

silent_unhappy as (
    select ranked_nps_responses.customer_id
    from ranked_nps_responses
    where ranked_nps_responses.recency_rank = 1
      and ranked_nps_responses.nps_category = 'detractor'
      and ranked_nps_responses.customer_id not in (
          select customer_id from valid_tickets where customer_id is not null
      )
),

silent_unhappy_totals as (
    select coalesce(customer_summary.seg_key, -1) as seg_key, count(*) as silent_unhappy_customers
    from silent_unhappy
    left join customer_summary on customer_summary.customer_id = silent_unhappy.customer_id
    group by coalesce(customer_summary.seg_key, -1)
),

keys as (
    select seg_key from segments
    union all
    select -1 as seg_key
)

select
    keys.seg_key,
    coalesce(ticket_totals.tickets, 0) as tickets,
    coalesce(ticket_totals.resolved_tickets, 0) as resolved_tickets,
    coalesce(ticket_totals.unresolved_tickets, 0) as unresolved_tickets,
    coalesce(ticket_totals.customers_with_open_ticket, 0) as customers_with_open_ticket,
    coalesce(return_totals.returns, 0) as returns,
    coalesce(order_totals.orders, 0) as orders,
    coalesce(order_totals.returned_orders, 0) as returned_orders,
    coalesce(silent_unhappy_totals.silent_unhappy_customers, 0) as silent_unhappy_customers
from keys
left join ticket_totals on ticket_totals.seg_key = keys.seg_key
left join return_totals on return_totals.seg_key = keys.seg_key
left join order_totals on order_totals.seg_key = keys.seg_key
left join silent_unhappy_totals on silent_unhappy_totals.seg_key = keys.seg_key
order by keys.seg_key
