-- Grain: one row per seg_key x care_dimension x care_group with at least one anchor order, for the
-- customers of customer_summary. Every valid order is classified once by the care around it as of the
-- cutoff (definitions in care_repeat_rates.sql and docs/metrics.md); the classification depends only on
-- the order and its customer, never on the segment filter, so a filter sums the rows of its seg_keys.
-- Sums and counts only: anchor_orders, customers (distinct within the row: a customer has one seg_key, so
-- the sum over seg_keys counts each customer once), repurchased_orders. Read by care_repeat_rates.
-- Params: none
create table cube_care_order_groups as
with segment_orders as (
    select
        valid_orders.order_id,
        valid_orders.customer_id,
        valid_orders.ordered_at,
        valid_orders.order_seq,
        customer_summary.seg_key
    from valid_orders
    inner join customer_summary on customer_summary.customer_id = valid_orders.customer_id
),

anchors as (
    select
        segment_orders.order_id,
        segment_orders.customer_id,
        segment_orders.seg_key,
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
        anchors.seg_key,
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
    select 'ticket' as care_dimension, ticket_group as care_group, seg_key, customer_id, is_repurchased
    from classified
    union all
    select 'resolution_time', resolution_group, seg_key, customer_id, is_repurchased
    from classified
    where resolution_group is not null
    union all
    select 'return', return_group, seg_key, customer_id, is_repurchased
    from classified
    union all
    select 'survey', survey_group, seg_key, customer_id, is_repurchased
    from classified
    union all
    select 'silent_unhappy', silent_unhappy_group, seg_key, customer_id, is_repurchased
    from classified
    where silent_unhappy_group is not null
)

select
    seg_key,
    care_dimension,
    care_group,
    count(*) as anchor_orders,
    count(distinct customer_id) as customers,
    count(*) filter (where is_repurchased) as repurchased_orders
from memberships
group by seg_key, care_dimension, care_group
order by seg_key, care_dimension, care_group
