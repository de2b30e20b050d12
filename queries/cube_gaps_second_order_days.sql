-- Grain: one row per seg_key x days_to_second_order with at least one customer: the customers with a second
-- valid order whose whole days from first to second order (fractional days rounded down) are
-- days_to_second_order.
-- Params: none
-- Reads: customer_summary
-- Creates: cube_gaps_second_order_days
create table cube_gaps_second_order_days as
with gaps as (
    select
        seg_key,
        cast(floor(date_diff('microsecond', first_ordered_at, second_ordered_at) / 86400000000.0) as integer)
            as days_to_second_order
    from customer_summary
    where second_ordered_at is not null
)

select seg_key, days_to_second_order, count(*) as customers
from gaps
group by seg_key, days_to_second_order
order by seg_key, days_to_second_order
