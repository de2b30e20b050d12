-- Grain: one row per days_to_second_order with at least one customer: the whole days elapsed from a
-- customer's first to second valid order (fractional days rounded down, so 0 = within 24 hours),
-- among the segment's customers with a second valid order by the cutoff.
-- Params: $channels, $regions, $categories, $tiers
with segment as (
    select * from segment_customers($channels, $regions, $categories, $tiers)
),

gaps as (
    select
        customer_id,
        cast(floor(date_diff('microsecond', first_ordered_at, second_ordered_at) / 86400000000.0) as integer)
            as days_to_second_order
    from segment
    where second_ordered_at is not null
),

final as (
    select days_to_second_order, count(*) as customers
    from gaps
    group by days_to_second_order
)

select * from final
order by days_to_second_order
