-- Grain: one row. The median of all gaps between a customer's consecutive valid orders, pooled over
-- customers, in fractional days (same-instant orders give a gap of 0).
-- Params: $channels, $regions, $categories, $tiers
with segment as (
    select customer_id from segment_customers($channels, $regions, $categories, $tiers)
),

ordered as (
    select
        valid_orders.customer_id,
        valid_orders.ordered_at,
        lag(valid_orders.ordered_at) over (
            partition by valid_orders.customer_id order by valid_orders.ordered_at, valid_orders.order_id
        ) as previous_ordered_at
    from valid_orders
    inner join segment on segment.customer_id = valid_orders.customer_id
),

gaps as (
    select date_diff('microsecond', previous_ordered_at, ordered_at) / 86400000000.0 as gap_days
    from ordered
    where previous_ordered_at is not null
)

select median(gap_days) as median_days_between_orders, count(*) as count_gaps
from gaps
