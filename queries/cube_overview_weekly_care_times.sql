-- Grain: one row per seg_key x week_index (0 .. 25) x measure x bucket with a change: +1/-1 changes of two
-- histograms over the 90 days to each week's cutoff c ([c - 90 days, c)), so a week's histogram is the sum over
-- week_index <= it (as cube_overview_weekly_care_windows). measure 'resolution_hours': valid tickets of customers
-- with a valid order resolved in the window, by whole hours from opening to resolution (rounded down); measure
-- 'gap_days': valid repeat orders placed in the window, by whole days since the customer's previous valid order
-- (rounded down; same-instant orders 0). weekly_care_kpis.sql takes each week's median from them.
-- Horizon (as cube_overview_weekly_care_windows): no week kept has a cutoff before $cutoff_at - 182 days, so a
-- resolution or a repeat order more than 90 days before that is left out before the as-of joins.
-- Reads: cube_overview_week_ends, customer_summary, valid_orders, valid_tickets
-- Creates: cube_overview_weekly_care_times
-- Params: $cutoff_at
create table cube_overview_weekly_care_times as
with week_ends as (
    select week_index, week_cutoff_at from cube_overview_week_ends
),

events as (
    select
        customer_summary.seg_key,
        'resolution_hours' as measure,
        cast(floor(date_diff('second', valid_tickets.opened_at, valid_tickets.resolved_at) / 3600) as integer)
            as bucket,
        valid_tickets.resolved_at as happened_at
    from valid_tickets
    inner join customer_summary on customer_summary.customer_id = valid_tickets.customer_id
    where valid_tickets.is_resolved
        and valid_tickets.resolved_at >= $cutoff_at - interval 182 day - interval 90 day
    union all
    select
        customer_summary.seg_key,
        'gap_days' as measure,
        cast(floor(date_diff('second', previous_orders.ordered_at, valid_orders.ordered_at) / 86400) as integer),
        valid_orders.ordered_at
    from valid_orders
    inner join valid_orders as previous_orders
        on previous_orders.customer_id = valid_orders.customer_id
        and previous_orders.order_seq = valid_orders.order_seq - 1
    inner join customer_summary on customer_summary.customer_id = valid_orders.customer_id
    where valid_orders.ordered_at >= $cutoff_at - interval 182 day - interval 90 day
),

windows as (
    select events.seg_key, events.measure, events.bucket, window_end.week_index as first_week,
        happened_week.week_index as last_week
    from events
    asof inner join week_ends as happened_week on events.happened_at < happened_week.week_cutoff_at
    asof inner join week_ends as window_end on events.happened_at + interval 90 day >= window_end.week_cutoff_at
),

changes as (
    select seg_key, first_week as week_index, measure, bucket, 1 as change
    from windows
    where first_week <= last_week and first_week <= 25
    union all
    select seg_key, last_week + 1 as week_index, measure, bucket, -1 as change
    from windows
    where first_week <= last_week and last_week + 1 <= 25
)

select seg_key, week_index, measure, bucket, cast(sum(change) as bigint) as change
from changes
group by seg_key, week_index, measure, bucket
having sum(change) <> 0
order by measure, seg_key, week_index, bucket
