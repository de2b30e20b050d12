-- Grain: one row, the headline care numbers of a segment as of the cutoff.
-- Tickets and returns count for customers of the segment (customers with a valid order). A ticket is
-- resolved when resolved before the cutoff; median_resolution_days is over resolved tickets.
-- return_rate = valid orders with a return (linked by order_id) / valid orders.
-- silent_unhappy_customers = customers whose latest NPS response is a detractor (0-6) and who never opened a
-- ticket; as for satisfaction, without segment filters respondents with no orders count too.
-- Reads cube_care_segment_totals (counts per seg_key, summed over the filter's seg_keys) and, for the exact
-- median, cube_care_resolution_buckets (resolved tickets per seg_key x resolution-time slice) to find the
-- slice(s) holding the middle ticket(s), then only those slices of cube_care_resolution_times. DuckDB's
-- median of an even count interpolates the two middle values: low + (high - low) * 0.5.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_care_resolution_buckets, cube_care_resolution_times, cube_care_segment_totals, segment_keys()
with keys as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

totals as (
    select
        cast(coalesce(sum(tickets), 0) as bigint) as tickets,
        cast(coalesce(sum(resolved_tickets), 0) as bigint) as resolved_tickets,
        cast(coalesce(sum(unresolved_tickets), 0) as bigint) as unresolved_tickets,
        cast(coalesce(sum(customers_with_open_ticket), 0) as bigint) as customers_with_open_ticket,
        cast(coalesce(sum(returns), 0) as bigint) as returns,
        cast(coalesce(sum(orders), 0) as bigint) as orders,
        cast(coalesce(sum(returned_orders), 0) as bigint) as returned_orders,
        cast(coalesce(sum(silent_unhappy_customers), 0) as bigint) as silent_unhappy_customers
    from cube_care_segment_totals
    where seg_key in (select seg_key from keys)
),

bucket_counts as (
    select bucket, cast(sum(tickets) as bigint) as tickets
    from cube_care_resolution_buckets
    where seg_key in (select seg_key from keys)
    group by bucket
),

bucket_positions as (
    select
        bucket,
        tickets,
        sum(tickets) over (order by bucket rows between unbounded preceding and 1 preceding) as tickets_before,
        sum(tickets) over () as resolved_total
    from bucket_counts
),

-- The middle position(s) of the resolved tickets sorted by resolution time: one for an odd count, two for
-- an even count (low_position = high_position - 1).
middle_buckets as (
    select
        bucket,
        coalesce(tickets_before, 0) as tickets_before,
        (resolved_total + 1) // 2 as low_position,
        resolved_total // 2 + 1 as high_position
    from bucket_positions
    where ((resolved_total + 1) // 2 > coalesce(tickets_before, 0)
            and (resolved_total + 1) // 2 <= coalesce(tickets_before, 0) + tickets)
       or (resolved_total // 2 + 1 > coalesce(tickets_before, 0)
            and resolved_total // 2 + 1 <= coalesce(tickets_before, 0) + tickets)
),

middle_tickets as (
    select
        times.resolution_days,
        middle_buckets.tickets_before
            + row_number() over (partition by times.bucket order by times.resolution_days) as position,
        middle_buckets.low_position,
        middle_buckets.high_position
    from cube_care_resolution_times as times
    inner join middle_buckets on middle_buckets.bucket = times.bucket
    where times.seg_key in (select seg_key from keys)
),

median_resolution as (
    select
        max(resolution_days) filter (where position = low_position) as low_days,
        max(resolution_days) filter (where position = high_position) as high_days
    from middle_tickets
),

final as (
    select
        totals.tickets,
        totals.resolved_tickets,
        totals.unresolved_tickets,
        median_resolution.low_days + (median_resolution.high_days - median_resolution.low_days) * 0.5
            as median_resolution_days,
        totals.returns,
        totals.returned_orders / nullif(totals.orders, 0) as return_rate,
        totals.customers_with_open_ticket,
        totals.silent_unhappy_customers
    from totals
    cross join median_resolution
)

select * from final
