-- Grain: one row per valid order as of the cutoff: a usable order (see clean_orders), not cancelled,
-- placed before $cutoff_at (the end of the as-of day). order_seq ranks a customer's orders by
-- (ordered_at, order_id), so two orders at the same instant are two orders. ordered_local is the time in
-- the configured zone (local_offsets).
-- Params: $cutoff_at
-- Reads: clean_orders, local_offsets
-- Creates: valid_orders
create table valid_orders as
with not_cancelled as (
    select
        order_id,
        customer_id,
        ordered_at,
        revenue,
        discount,
        coalesce(nullif(trim(channel), ''), 'unknown') as channel,
        coalesce(nullif(trim(region), ''), 'unknown') as region,
        coalesce(nullif(trim(product_category), ''), 'unknown') as product_category
    from main.clean_orders
    where ordered_at < $cutoff_at
      and coalesce(lower(trim(status)), '') not in ('cancelled', 'canceled')
),

final as (
    select
        not_cancelled.*,
        ordered_at + local_offsets.utc_offset as ordered_local,
        row_number() over (partition by customer_id order by ordered_at, order_id) as order_seq
    from not_cancelled
    left join local_offsets on local_offsets.slot_utc = time_bucket(interval 15 minute, not_cancelled.ordered_at)
)

select * from final
