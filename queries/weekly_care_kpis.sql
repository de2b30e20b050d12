-- Grain: one row per week_number 0 .. least($weeks, 26) - 1, the weeks of weekly_kpis.sql (week 0 = the 7 local
-- days ending on the as-of date, week k the 7 days ending 7k days earlier; its cutoff c is the first instant
-- after its last day). The weekly review's care numbers, for customers of the segment (and, for survey counts and
-- the silent unhappy, without a segment filter also people with no valid order):
--   tickets_7d: tickets opened in the week; survey_responses_7d, orders_7d and survey_responses_per_order_7d;
--   tickets_90d, resolved_tickets_90d, tickets_resolved_share_90d: tickets opened in [c - 90 days, c), those
--     resolved before c, the share;
--   resolved_tickets_window_90d, median_resolution_days_90d: tickets resolved in [c - 90 days, c) and the median of
--     their resolution times in whole hours (rounded down), in days;
--   complaints_resolved_90d, complaints_unresolved_90d and repurchase_after_resolved_90d,
--     repurchase_after_unresolved_90d: tickets opened in [c - 180 days, c - 90 days) (90 days of follow-up seen by
--     c), by whether resolved before c, and the share whose customer placed a valid order within 90 days after
--     the opening;
--   orders_90d, returned_orders_90d, return_rate_90d: valid orders placed in [c - 90 days, c), those with a return
--     requested before c, the share;
--   silent_unhappy_customers: customers whose latest NPS response before c is a detractor and who opened no
--     ticket before c (week 0 equals care_summary.sql);
--   repeat_orders_90d, median_days_between_orders_90d: valid repeat orders placed in [c - 90 days, c) and the
--     median of their whole days (rounded down) since the customer's previous valid order.
-- A median of an even count averages the two middle values. Rates and medians are null without anything to
-- measure. Reads the cube_overview_weekly_care_* aggregates (+1/-1 changes per week summed up to each week, and
-- weekly counts) and cube_overview_weekly_orders, summed over the segment's seg_keys.
-- Reads: cube_overview_weekly_care_counts, cube_overview_weekly_care_times, cube_overview_weekly_care_windows, cube_overview_weekly_orders, segment_keys()
-- Params: $weeks, $channels, $regions, $categories, $tiers
with keys as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

week_numbers as (
    select unnest(generate_series(0, least($weeks, 26) - 1)) as week_number
),

counts as (
    select week_index, sum(tickets_opened) as tickets_opened, sum(responses) as responses
    from cube_overview_weekly_care_counts
    where seg_key in (select seg_key from keys) and week_index < least($weeks, 26)
    group by week_index
),

orders as (
    select week_index, sum(orders) as orders
    from cube_overview_weekly_orders
    where seg_key in (select seg_key from keys) and week_index < least($weeks, 26)
    group by week_index
),

window_changes as (
    select
        week_index,
        sum(tickets_change) as tickets_change,
        sum(resolved_tickets_change) as resolved_tickets_change,
        sum(complaints_resolved_change) as complaints_resolved_change,
        sum(complaints_resolved_repurchased_change) as complaints_resolved_repurchased_change,
        sum(complaints_unresolved_change) as complaints_unresolved_change,
        sum(complaints_unresolved_repurchased_change) as complaints_unresolved_repurchased_change,
        sum(orders_change) as orders_change,
        sum(returned_orders_change) as returned_orders_change,
        sum(silent_unhappy_change) as silent_unhappy_change
    from cube_overview_weekly_care_windows
    where seg_key in (select seg_key from keys)
    group by week_index
),

-- a week's counts: the changes of that week and every later one (week_index <= it)
window_counts as (
    select
        week_numbers.week_number,
        cast(sum(window_changes.tickets_change) as bigint) as tickets,
        cast(sum(window_changes.resolved_tickets_change) as bigint) as resolved_tickets,
        cast(sum(window_changes.complaints_resolved_change) as bigint) as complaints_resolved,
        cast(sum(window_changes.complaints_resolved_repurchased_change) as bigint) as complaints_resolved_repurchased,
        cast(sum(window_changes.complaints_unresolved_change) as bigint) as complaints_unresolved,
        cast(sum(window_changes.complaints_unresolved_repurchased_change) as bigint)
            as complaints_unresolved_repurchased,
        cast(sum(window_changes.orders_change) as bigint) as orders,
        cast(sum(window_changes.returned_orders_change) as bigint) as returned_orders,
        cast(sum(window_changes.silent_unhappy_change) as bigint) as silent_unhappy
    from week_numbers
    inner join window_changes on window_changes.week_index <= week_numbers.week_number
    group by week_numbers.week_number
),

histogram_changes as (
    select week_index, measure, bucket, sum(change) as change
    from cube_overview_weekly_care_times
    where seg_key in (select seg_key from keys)
    group by week_index, measure, bucket
),

histograms as (
    select week_numbers.week_number, histogram_changes.measure, histogram_changes.bucket,
        sum(histogram_changes.change) as values_in_bucket
    from week_numbers
    inner join histogram_changes on histogram_changes.week_index <= week_numbers.week_number
    group by week_numbers.week_number, histogram_changes.measure, histogram_changes.bucket
    having sum(histogram_changes.change) > 0
),

positions as (
    select
        week_number,
        measure,
        bucket,
        sum(values_in_bucket) over (
            partition by week_number, measure order by bucket rows between unbounded preceding and current row
        ) as values_through,
        sum(values_in_bucket) over (partition by week_number, measure) as values_total
    from histograms
),

-- the bucket of the middle value (odd count) or of the two middle values (even count)
medians as (
    select
        week_number,
        measure,
        cast(max(values_total) as bigint) as values_total,
        (min(bucket) filter (where values_through >= (values_total + 1) // 2)
            + min(bucket) filter (where values_through >= values_total // 2 + 1)) / 2.0 as median_bucket
    from positions
    group by week_number, measure
),

final as (
    select
        week_numbers.week_number,
        cast(coalesce(counts.tickets_opened, 0) as bigint) as tickets_7d,
        cast(coalesce(counts.responses, 0) as bigint) as survey_responses_7d,
        cast(coalesce(orders.orders, 0) as bigint) as orders_7d,
        counts.responses / nullif(orders.orders, 0) as survey_responses_per_order_7d,
        coalesce(window_counts.tickets, 0) as tickets_90d,
        coalesce(window_counts.resolved_tickets, 0) as resolved_tickets_90d,
        window_counts.resolved_tickets / nullif(window_counts.tickets, 0) as tickets_resolved_share_90d,
        coalesce(resolution.values_total, 0) as resolved_tickets_window_90d,
        resolution.median_bucket / 24.0 as median_resolution_days_90d,
        coalesce(window_counts.complaints_resolved, 0) as complaints_resolved_90d,
        coalesce(window_counts.complaints_unresolved, 0) as complaints_unresolved_90d,
        window_counts.complaints_resolved_repurchased / nullif(window_counts.complaints_resolved, 0)
            as repurchase_after_resolved_90d,
        window_counts.complaints_unresolved_repurchased / nullif(window_counts.complaints_unresolved, 0)
            as repurchase_after_unresolved_90d,
        coalesce(window_counts.orders, 0) as orders_90d,
        coalesce(window_counts.returned_orders, 0) as returned_orders_90d,
        window_counts.returned_orders / nullif(window_counts.orders, 0) as return_rate_90d,
        coalesce(window_counts.silent_unhappy, 0) as silent_unhappy_customers,
        coalesce(gaps.values_total, 0) as repeat_orders_90d,
        gaps.median_bucket as median_days_between_orders_90d
    from week_numbers
    left join counts on counts.week_index = week_numbers.week_number
    left join orders on orders.week_index = week_numbers.week_number
    left join window_counts on window_counts.week_number = week_numbers.week_number
    left join medians as resolution
        on resolution.week_number = week_numbers.week_number and resolution.measure = 'resolution_hours'
    left join medians as gaps
        on gaps.week_number = week_numbers.week_number and gaps.measure = 'gap_days'
)

select * from final
order by week_number
