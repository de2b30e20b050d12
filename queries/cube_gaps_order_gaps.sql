-- Grain: one row per gap between a customer's consecutive valid orders (orders ranked by ordered_at, order_id,
-- so same-instant orders give a gap of 0): gap_us, the exact gap in microseconds; gap_day, the whole days of it
-- (rounded down); seg_key, the customer's segment. Sorted by gap_day, seg_key, gap_us so that a query reading
-- one or two gap_days (the median's) skips every other row group by its zone map.
-- Params: none
-- Reads: customer_summary, valid_orders
-- Creates: cube_gaps_order_gaps
create table cube_gaps_order_gaps as
with ordered as (
    select
        customer_id,
        date_diff(
            'microsecond',
            lag(ordered_at) over (partition by customer_id order by ordered_at, order_id),
            ordered_at
        ) as gap_us
    from valid_orders
),

final as (
    select
        cast(ordered.gap_us // 86400000000 as integer) as gap_day,
        customer_summary.seg_key,
        ordered.gap_us
    from ordered
    inner join customer_summary on customer_summary.customer_id = ordered.customer_id
    where ordered.gap_us is not null
)

select * from final
order by gap_day, seg_key, gap_us
