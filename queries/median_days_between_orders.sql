-- Grain: one row. The median of all gaps between a customer's consecutive valid orders, pooled over
-- customers, in fractional days (same-instant orders give a gap of 0).
-- Reads the gap-day histogram (cube_gaps_gap_days) to count the segment's gaps and find the gap_day(s) holding
-- the middle gap(s), then only those gap_days' exact gaps (cube_gaps_order_gaps, pruned by its sort order).
-- An even count averages the two middle gaps, as DuckDB's median does.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_gaps_gap_days, cube_gaps_order_gaps, segment_keys()
with keys as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

histogram as (
    select gap_day, sum(gaps) as gaps
    from cube_gaps_gap_days
    where seg_key in (select seg_key from keys)
    group by gap_day
),

cumulative as (
    select gap_day, gaps, sum(gaps) over (order by gap_day) - gaps as gaps_before
    from histogram
),

total as (
    select cast(coalesce(sum(gaps), 0) as bigint) as count_gaps from histogram
),

-- 0-based ranks of the middle gap(s) in ascending order: the same rank when the count is odd.
middle as (
    select (count_gaps - 1) // 2 as lower_rank, count_gaps // 2 as upper_rank
    from total
    where count_gaps > 0
),

middle_days as (
    select cumulative.gap_day, cumulative.gaps_before
    from cumulative, middle
    where cumulative.gaps_before <= middle.upper_rank
      and cumulative.gaps_before + cumulative.gaps > middle.lower_rank
),

ranked as (
    select
        cube_gaps_order_gaps.gap_us,
        middle_days.gaps_before - 1
            + row_number() over (partition by cube_gaps_order_gaps.gap_day order by cube_gaps_order_gaps.gap_us)
            as gap_rank
    from cube_gaps_order_gaps
    inner join middle_days on middle_days.gap_day = cube_gaps_order_gaps.gap_day
    where cube_gaps_order_gaps.seg_key in (select seg_key from keys)
),

middle_values as (
    select
        max(ranked.gap_us / 86400000000.0) filter (where ranked.gap_rank = middle.lower_rank) as lower_days,
        max(ranked.gap_us / 86400000000.0) filter (where ranked.gap_rank = middle.upper_rank) as upper_days
    from ranked, middle
)

select
    middle_values.lower_days + (middle_values.upper_days - middle_values.lower_days) * 0.5
        as median_days_between_orders,
    total.count_gaps
from total, middle_values
