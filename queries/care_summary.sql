-- Grain: one row, the headline care numbers of a segment as of the cutoff.
-- Tickets and returns count for customers of the segment (customers with a valid order). A ticket is
-- resolved when resolved before the cutoff; median_resolution_days is over resolved tickets.
-- return_rate = valid orders with a return (linked by order_id) / valid orders.
-- silent_unhappy_customers = customers whose latest NPS response is a detractor (0-6) and who never opened a
-- ticket; as for satisfaction, without segment filters respondents with no orders count too.
-- Params: $channels, $regions, $categories, $tiers
with segment as (
    select customer_id from segment_customers($channels, $regions, $categories, $tiers)
),

segment_tickets as (
    select valid_tickets.*
    from valid_tickets
    inner join segment on segment.customer_id = valid_tickets.customer_id
),

segment_returns as (
    select valid_returns.*
    from valid_returns
    inner join segment on segment.customer_id = valid_returns.customer_id
),

segment_orders as (
    select valid_orders.order_id
    from valid_orders
    inner join segment on segment.customer_id = valid_orders.customer_id
),

returned_orders as (
    select distinct order_id
    from valid_returns
    where order_id is not null
),

ranked_nps_responses as (
    select
        valid_surveys.customer_id,
        valid_surveys.nps_category,
        row_number() over (
            partition by valid_surveys.customer_id
            order by valid_surveys.submitted_at desc, valid_surveys.response_id desc, valid_surveys.score
        ) as recency_rank
    from segment_surveys($channels, $regions, $categories, $tiers) as valid_surveys
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

ticket_totals as (
    select
        count(*) as tickets,
        count(*) filter (where is_resolved) as resolved_tickets,
        count(*) filter (where not is_resolved) as unresolved_tickets,
        median(resolution_days) filter (where is_resolved) as median_resolution_days,
        count(distinct customer_id) filter (where not is_resolved) as customers_with_open_ticket
    from segment_tickets
),

return_totals as (
    select count(*) as returns
    from segment_returns
),

order_totals as (
    select
        count(*) as orders,
        count(*) filter (where order_id in (select order_id from returned_orders)) as returned_orders
    from segment_orders
),

silent_unhappy_totals as (
    select count(*) as silent_unhappy_customers
    from silent_unhappy
),

final as (
    select
        ticket_totals.tickets,
        ticket_totals.resolved_tickets,
        ticket_totals.unresolved_tickets,
        ticket_totals.median_resolution_days,
        return_totals.returns,
        order_totals.returned_orders / nullif(order_totals.orders, 0) as return_rate,
        ticket_totals.customers_with_open_ticket,
        silent_unhappy_totals.silent_unhappy_customers
    from ticket_totals
    cross join return_totals
    cross join order_totals
    cross join silent_unhappy_totals
)

select * from final
