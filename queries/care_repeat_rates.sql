-- Grain: one row per care_dimension x care_group (every group listed, 0 anchors when empty).
-- Anchor = a valid order placed at least 90 days before the cutoff (ordered_at + 90 days <= cutoff_at);
-- it is repurchased when the customer's next valid order (order_seq + 1) came at most 90 days after it.
-- Each anchor is classified by the care around it, as of the cutoff:
--   ticket: no ticket / resolved (all its tickets resolved) / unresolved (any ticket still open);
--   resolution_time: orders whose first ticket is resolved, by that ticket's resolution time
--     (< 1 day, 1-3 days, 3-7 days, > 7 days: lower bound included, upper excluded, 7+ days in the last);
--   return: returned / not returned;
--   survey: surveyed / not surveyed;
--   silent_unhappy: orders with an NPS detractor response with / without a ticket, and orders whose
--     NPS responses are all promoter or passive.
-- Tickets, returns and responses belong to an order by order_id; a ticket without order_id belongs to the
-- customer's latest valid order at or before its opening, a response without order_id to every order of
-- the customer it was submitted within 30 days after.
-- ci_low, ci_high: 95% Wilson score interval of repurchase_rate_90d (null when there are no anchors).
-- Params: $channels, $regions, $categories, $tiers
with segment as (
    select customer_id from segment_customers($channels, $regions, $categories, $tiers)
),

care_groups as (
    select *
    from (
        values
            (1, 'ticket', 'no ticket', 1),
            (1, 'ticket', 'resolved', 2),
            (1, 'ticket', 'unresolved', 3),
            (2, 'resolution_time', '< 1 day', 1),
            (2, 'resolution_time', '1-3 days', 2),
            (2, 'resolution_time', '3-7 days', 3),
            (2, 'resolution_time', '> 7 days', 4),
            (3, 'return', 'returned', 1),
            (3, 'return', 'not returned', 2),
            (4, 'survey', 'surveyed', 1),
            (4, 'survey', 'not surveyed', 2),
            (5, 'silent_unhappy', 'detractor, no ticket', 1),
            (5, 'silent_unhappy', 'detractor with ticket', 2),
            (5, 'silent_unhappy', 'promoter or passive', 3)
    ) as care_groups (dimension_order, care_dimension, care_group, group_order)
),

segment_orders as (
    select valid_orders.order_id, valid_orders.customer_id, valid_orders.ordered_at, valid_orders.order_seq
    from valid_orders
    inner join segment on segment.customer_id = valid_orders.customer_id
),

anchors as (
    select
        segment_orders.order_id,
        segment_orders.customer_id,
        segment_orders.ordered_at,
        coalesce(next_orders.ordered_at <= segment_orders.ordered_at + interval 90 day, false) as is_repurchased
    from segment_orders
    cross join model_info
    left join segment_orders as next_orders
        on next_orders.customer_id = segment_orders.customer_id
        and next_orders.order_seq = segment_orders.order_seq + 1
    where segment_orders.ordered_at + interval 90 day <= model_info.cutoff_at
),

tickets as (
    select
        -- ticket_id may be null (such rows are kept by the model), so number the tickets.
        row_number() over (
            order by valid_tickets.ticket_id, valid_tickets.customer_id, valid_tickets.opened_at,
                valid_tickets.resolved_at, valid_tickets.order_id, valid_tickets.category
        ) as ticket_number,
        valid_tickets.customer_id,
        valid_tickets.order_id,
        valid_tickets.opened_at,
        valid_tickets.is_resolved,
        valid_tickets.resolution_days
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

order_tickets as (
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

ranked_order_tickets as (
    select
        order_tickets.order_id,
        tickets.is_resolved,
        tickets.resolution_days,
        row_number() over (
            partition by order_tickets.order_id order by tickets.opened_at, tickets.ticket_number
        ) as ticket_rank
    from order_tickets
    inner join tickets on tickets.ticket_number = order_tickets.ticket_number
),

ticket_outcomes as (
    select
        order_id,
        count(*) as count_tickets,
        count(*) filter (where not is_resolved) as count_unresolved_tickets,
        max(case when ticket_rank = 1 and is_resolved then resolution_days end) as first_resolution_days
    from ranked_order_tickets
    group by order_id
),

order_responses as (
    select valid_surveys.order_id, valid_surveys.nps_category
    from valid_surveys
    where valid_surveys.order_id is not null
    union all
    select segment_orders.order_id, valid_surveys.nps_category
    from valid_surveys
    inner join segment_orders
        on segment_orders.customer_id = valid_surveys.customer_id
        and valid_surveys.submitted_at >= segment_orders.ordered_at
        and valid_surveys.submitted_at <= segment_orders.ordered_at + interval 30 day
    where valid_surveys.order_id is null
),

survey_outcomes as (
    select
        order_id,
        count(*) as count_responses,
        count(*) filter (where nps_category = 'detractor') as count_detractor_responses,
        count(*) filter (where nps_category in ('promoter', 'passive')) as count_promoter_passive_responses
    from order_responses
    group by order_id
),

returned_orders as (
    select distinct order_id
    from valid_returns
    where order_id is not null
),

classified as (
    select
        anchors.order_id,
        anchors.customer_id,
        anchors.is_repurchased,
        case
            when ticket_outcomes.order_id is null then 'no ticket'
            when ticket_outcomes.count_unresolved_tickets > 0 then 'unresolved'
            else 'resolved'
        end as ticket_group,
        case
            when ticket_outcomes.first_resolution_days < 1 then '< 1 day'
            when ticket_outcomes.first_resolution_days < 3 then '1-3 days'
            when ticket_outcomes.first_resolution_days < 7 then '3-7 days'
            when ticket_outcomes.first_resolution_days >= 7 then '> 7 days'
        end as resolution_group,
        case when returned_orders.order_id is null then 'not returned' else 'returned' end as return_group,
        case when survey_outcomes.order_id is null then 'not surveyed' else 'surveyed' end as survey_group,
        case
            when survey_outcomes.count_detractor_responses > 0 and ticket_outcomes.order_id is null
                then 'detractor, no ticket'
            when survey_outcomes.count_detractor_responses > 0 then 'detractor with ticket'
            when survey_outcomes.count_promoter_passive_responses > 0 then 'promoter or passive'
        end as silent_unhappy_group
    from anchors
    left join ticket_outcomes on ticket_outcomes.order_id = anchors.order_id
    left join survey_outcomes on survey_outcomes.order_id = anchors.order_id
    left join returned_orders on returned_orders.order_id = anchors.order_id
),

memberships as (
    select 'ticket' as care_dimension, ticket_group as care_group, order_id, customer_id, is_repurchased
    from classified
    union all
    select 'resolution_time', resolution_group, order_id, customer_id, is_repurchased
    from classified
    where resolution_group is not null
    union all
    select 'return', return_group, order_id, customer_id, is_repurchased
    from classified
    union all
    select 'survey', survey_group, order_id, customer_id, is_repurchased
    from classified
    union all
    select 'silent_unhappy', silent_unhappy_group, order_id, customer_id, is_repurchased
    from classified
    where silent_unhappy_group is not null
),

group_counts as (
    select
        care_groups.dimension_order,
        care_groups.care_dimension,
        care_groups.care_group,
        care_groups.group_order,
        count(memberships.order_id) as anchor_orders,
        count(distinct memberships.customer_id) as customers,
        count(memberships.order_id) filter (where memberships.is_repurchased) as repurchased_orders
    from care_groups
    left join memberships
        on memberships.care_dimension = care_groups.care_dimension
        and memberships.care_group = care_groups.care_group
    group by care_groups.dimension_order, care_groups.care_dimension, care_groups.care_group, care_groups.group_order
),

-- Wilson score interval with z = 1.959963984540054 (95%), written with counts x of n:
-- (x + z^2/2 +/- z sqrt(x (n - x) / n + z^2/4)) / (n + z^2), clamped to [0, 1] against rounding.
wilson as (
    select
        *,
        repurchased_orders / nullif(anchor_orders, 0) as repurchase_rate_90d,
        (repurchased_orders + 1.959963984540054 * 1.959963984540054 / 2)
            / nullif(anchor_orders + 1.959963984540054 * 1.959963984540054, 0) as ci_center,
        1.959963984540054 * sqrt(
            repurchased_orders * (anchor_orders - repurchased_orders) / nullif(anchor_orders, 0)
            + 1.959963984540054 * 1.959963984540054 / 4
        ) / nullif(anchor_orders + 1.959963984540054 * 1.959963984540054, 0) as ci_half_width
    from group_counts
),

final as (
    select
        dimension_order,
        care_dimension,
        care_group,
        group_order,
        anchor_orders,
        customers,
        repurchased_orders,
        repurchase_rate_90d,
        case when anchor_orders > 0 then greatest(0.0, ci_center - ci_half_width) end as ci_low,
        case when anchor_orders > 0 then least(1.0, ci_center + ci_half_width) end as ci_high
    from wilson
)

select
    care_dimension, care_group, group_order, anchor_orders, customers, repurchased_orders, repurchase_rate_90d,
    ci_low, ci_high
from final
order by dimension_order, group_order
