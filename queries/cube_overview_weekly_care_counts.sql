-- Grain: one row per seg_key x week_index (the 7-day weeks of cube_overview_week_ends) with a ticket opened or a
-- survey response submitted in that week: tickets_opened (valid tickets of customers with a valid order, by
-- opened_at) and responses (valid survey responses, by submitted_at; seg_key -1 for people with no valid order,
-- as the satisfaction counts). An instant belongs to the week whose cutoff is the first after it. Read by
-- weekly_care_kpis.sql.
-- Reads: cube_overview_week_ends, customer_summary, valid_surveys, valid_tickets
-- Creates: cube_overview_weekly_care_counts
-- Params: none
create table cube_overview_weekly_care_counts as
with events as (
    select customer_summary.seg_key, valid_tickets.opened_at as happened_at, 1 as tickets_opened, 0 as responses
    from valid_tickets
    inner join customer_summary on customer_summary.customer_id = valid_tickets.customer_id
    union all
    select coalesce(customer_summary.seg_key, -1) as seg_key, valid_surveys.submitted_at, 0, 1
    from valid_surveys
    left join customer_summary on customer_summary.customer_id = valid_surveys.customer_id
),

weekly as (
    select events.seg_key, week_ends.week_index, events.tickets_opened, events.responses
    from events
    asof inner join cube_overview_week_ends as week_ends on events.happened_at < week_ends.week_cutoff_at
)

select
    seg_key,
    week_index,
    cast(sum(tickets_opened) as bigint) as tickets_opened,
    cast(sum(responses) as bigint) as responses
from weekly
group by seg_key, week_index
order by seg_key, week_index
