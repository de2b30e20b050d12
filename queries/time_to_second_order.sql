-- Grain: one row per days_to_second_order with at least one customer: the whole days elapsed from a
-- customer's first to second valid order (fractional days rounded down, so 0 = within 24 hours),
-- among the segment's customers with a second valid order by the cutoff.
-- Reads cube_gaps_second_order_days and sums its rows over the segment's seg_keys.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_gaps_second_order_days, segment_keys()
with keys as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

final as (
    select days_to_second_order, cast(sum(customers) as bigint) as customers
    from cube_gaps_second_order_days
    where seg_key in (select seg_key from keys)
    group by days_to_second_order
)

select * from final
order by days_to_second_order
