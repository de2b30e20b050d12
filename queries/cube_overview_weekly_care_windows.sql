-- Grain: one row per seg_key x week_index (weeks of cube_overview_week_ends, 0 .. 25) with a change: +1/-1
-- changes of the weekly review's care counts, so a week's count is the sum over week_index <= it (a thing that
-- counts in weeks first .. last, in week_index terms, adds +1 at first and -1 at last + 1). Week w's cutoff c is
-- the first UTC instant after its last local day. For customers with a valid order (seg_key), and for the silent
-- unhappy also people with none (-1):
--   tickets / resolved_tickets: tickets opened in [c - 90 days, c), and those of them resolved before c;
--   complaints_resolved, complaints_unresolved (+ _repurchased): tickets opened in [c - 180 days, c - 90 days), by
--     whether resolved before c, and those whose customer placed a valid order within 90 days after the opening;
--   orders / returned_orders: valid orders placed in [c - 90 days, c), and those with a return requested before c;
--   silent_unhappy: customers whose latest NPS response before c is a detractor (0-6) and who opened no ticket
--     before c (the care summary's definition as of that week's end).
-- Only weeks 0 .. 25 are kept (the review's 26 weeks). Read by weekly_care_kpis.sql.
-- Horizon: week 25's cutoff is $cutoff_at (week 0's) less 175 days, give or take a daylight-saving hour, so no
-- week kept has a cutoff before $cutoff_at - 182 days. An order placed more than 90 days before that, or a ticket
-- opened more than 180 days before it, counts in no week kept: they are left out before the as-of joins (at 10M
-- orders the table builds about 3x faster). The result is the same as without the bounds (tests/test_weekly_care.py
-- checks weeks 0, 1, 4, 24 and 25 against pandas); each bound below is written out where it applies.
-- Reads: cube_overview_week_ends, customer_summary, valid_orders, valid_returns, valid_surveys, valid_tickets
-- Creates: cube_overview_weekly_care_windows
-- Params: $cutoff_at
create table cube_overview_weekly_care_windows as
with week_ends as (
    select week_index, week_cutoff_at from cube_overview_week_ends
),

tickets as (
    select
        customer_summary.seg_key,
        valid_tickets.customer_id,
        valid_tickets.opened_at,
        valid_tickets.resolved_at
    from valid_tickets
    inner join customer_summary on customer_summary.customer_id = valid_tickets.customer_id
    -- the horizon: a complaint counts up to 180 days after its opening
    where valid_tickets.opened_at >= $cutoff_at - interval 182 day - interval 180 day
),

-- the week of an instant: the first cutoff after it; the last week a window of length L still holds t: the last
-- cutoff at or before t + L. In week_index terms the window is first_week .. last_week.
ticket_weeks as (
    select tickets.*, opened_week.week_index as opened_week
    from tickets
    asof inner join week_ends as opened_week on tickets.opened_at < opened_week.week_cutoff_at
),

ticket_windows as (
    select ticket_weeks.*, window_end.week_index as window_first_week
    from ticket_weeks
    asof inner join week_ends as window_end on ticket_weeks.opened_at + interval 90 day >= window_end.week_cutoff_at
),

-- weeks from which on (towards week 0) a ticket counts as resolved: those whose cutoff is after resolved_at
ticket_resolved as (
    select ticket_windows.*, resolved_week.week_index as resolved_week
    from ticket_windows
    asof left join week_ends as resolved_week on ticket_windows.resolved_at < resolved_week.week_cutoff_at
),

-- complaints: counted in the weeks whose cutoff is in (opened + 90 days, opened + 180 days]
complaint_windows as (
    select ticket_resolved.*, late.week_index as complaint_first_week, early.week_index as complaint_last_week
    from ticket_resolved
    asof inner join week_ends as late on ticket_resolved.opened_at + interval 180 day >= late.week_cutoff_at
    asof inner join week_ends as early on ticket_resolved.opened_at + interval 90 day < early.week_cutoff_at
),

-- the horizon: a complaint's next order comes after its opening, so after the tickets' bound
next_order_candidates as (
    select customer_id, ordered_at
    from valid_orders
    where ordered_at >= $cutoff_at - interval 182 day - interval 180 day
),

complaint_outcomes as (
    select
        complaint_windows.*,
        coalesce(next_orders.ordered_at <= complaint_windows.opened_at + interval 90 day, false) as is_repurchased
    from complaint_windows
    asof left join next_order_candidates as next_orders
        on next_orders.customer_id = complaint_windows.customer_id
        and next_orders.ordered_at > complaint_windows.opened_at
),

order_weeks as (
    select
        customer_summary.seg_key,
        valid_orders.order_id,
        valid_orders.ordered_at,
        placed_week.week_index as last_week
    from valid_orders
    inner join customer_summary on customer_summary.customer_id = valid_orders.customer_id
    asof inner join week_ends as placed_week on valid_orders.ordered_at < placed_week.week_cutoff_at
    -- the horizon: an order counts up to 90 days after it was placed
    where valid_orders.ordered_at >= $cutoff_at - interval 182 day - interval 90 day
),

first_returns as (
    select order_id, min(requested_at) as returned_at
    from valid_returns
    where order_id is not null
    group by order_id
),

-- the week of each order's first return (an as-of join on the returns alone: far fewer rows than the orders)
returned_weeks as (
    select first_returns.order_id, returned_week.week_index as returned_week
    from first_returns
    asof inner join week_ends as returned_week on first_returns.returned_at < returned_week.week_cutoff_at
),

order_windows as (
    select
        order_weeks.seg_key,
        window_end.week_index as first_week,
        order_weeks.last_week,
        returned_weeks.returned_week
    from order_weeks
    asof inner join week_ends as window_end on order_weeks.ordered_at + interval 90 day >= window_end.week_cutoff_at
    left join returned_weeks on returned_weeks.order_id = order_weeks.order_id
),

nps_responses as (
    select
        valid_surveys.customer_id,
        valid_surveys.submitted_at,
        valid_surveys.nps_category,
        -- the next response in the order the care summary calls "latest": a later one, or at the same instant a
        -- larger response_id (then a lower score)
        lead(valid_surveys.submitted_at) over (
            partition by valid_surveys.customer_id
            order by valid_surveys.submitted_at, valid_surveys.response_id, valid_surveys.score desc
        ) as next_submitted_at
    from valid_surveys
    where valid_surveys.kind = 'nps'
),

first_tickets as (
    select customer_id, min(opened_at) as first_opened_at
    from valid_tickets
    where customer_id is not null
    group by customer_id
),

-- a detractor answer makes its customer silent unhappy for the weeks whose cutoff is after it and at or before
-- both their next answer and their first ticket
silent_spans as (
    select
        coalesce(customer_summary.seg_key, -1) as seg_key,
        nps_responses.submitted_at,
        least(coalesce(nps_responses.next_submitted_at, timestamp '9999-12-31'),
              coalesce(first_tickets.first_opened_at, timestamp '9999-12-31')) as ended_at
    from nps_responses
    left join first_tickets on first_tickets.customer_id = nps_responses.customer_id
    left join customer_summary on customer_summary.customer_id = nps_responses.customer_id
    where nps_responses.nps_category = 'detractor'
),

silent_windows as (
    select silent_spans.seg_key, ended_week.week_index as first_week, started_week.week_index as last_week
    from silent_spans
    asof inner join week_ends as started_week on silent_spans.submitted_at < started_week.week_cutoff_at
    asof inner join week_ends as ended_week on silent_spans.ended_at >= ended_week.week_cutoff_at
),

-- (seg_key, first, last, column, repurchased) intervals; resolved status splits a window at resolved_week
intervals as (
    select seg_key, window_first_week as first_week, opened_week as last_week, 'tickets' as counted
    from ticket_resolved
    union all
    select seg_key, window_first_week, least(opened_week, resolved_week), 'resolved_tickets'
    from ticket_resolved
    where resolved_week is not null
    union all
    select seg_key, complaint_first_week, least(complaint_last_week, resolved_week), 'complaints_resolved'
    from complaint_outcomes
    where resolved_week is not null
    union all
    select seg_key, complaint_first_week, least(complaint_last_week, resolved_week), 'complaints_resolved_repurchased'
    from complaint_outcomes
    where resolved_week is not null and is_repurchased
    union all
    select seg_key, greatest(complaint_first_week, coalesce(resolved_week + 1, 0)), complaint_last_week,
        'complaints_unresolved'
    from complaint_outcomes
    union all
    select seg_key, greatest(complaint_first_week, coalesce(resolved_week + 1, 0)), complaint_last_week,
        'complaints_unresolved_repurchased'
    from complaint_outcomes
    where is_repurchased
    union all
    select seg_key, first_week, last_week, 'orders'
    from order_windows
    union all
    select seg_key, first_week, least(last_week, returned_week), 'returned_orders'
    from order_windows
    where returned_week is not null
    union all
    select seg_key, first_week, last_week, 'silent_unhappy'
    from silent_windows
),

changes as (
    select seg_key, first_week as week_index, counted, 1 as change
    from intervals
    where first_week <= last_week and first_week <= 25
    union all
    select seg_key, last_week + 1 as week_index, counted, -1 as change
    from intervals
    where first_week <= last_week and last_week + 1 <= 25
)

select
    seg_key,
    week_index,
    cast(coalesce(sum(change) filter (where counted = 'tickets'), 0) as bigint) as tickets_change,
    cast(coalesce(sum(change) filter (where counted = 'resolved_tickets'), 0) as bigint) as resolved_tickets_change,
    cast(coalesce(sum(change) filter (where counted = 'complaints_resolved'), 0) as bigint)
        as complaints_resolved_change,
    cast(coalesce(sum(change) filter (where counted = 'complaints_resolved_repurchased'), 0) as bigint)
        as complaints_resolved_repurchased_change,
    cast(coalesce(sum(change) filter (where counted = 'complaints_unresolved'), 0) as bigint)
        as complaints_unresolved_change,
    cast(coalesce(sum(change) filter (where counted = 'complaints_unresolved_repurchased'), 0) as bigint)
        as complaints_unresolved_repurchased_change,
    cast(coalesce(sum(change) filter (where counted = 'orders'), 0) as bigint) as orders_change,
    cast(coalesce(sum(change) filter (where counted = 'returned_orders'), 0) as bigint) as returned_orders_change,
    cast(coalesce(sum(change) filter (where counted = 'silent_unhappy'), 0) as bigint) as silent_unhappy_change
from changes
group by seg_key, week_index
order by seg_key, week_index
