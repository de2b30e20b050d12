-- Grain: one row per customer with a valid order by the cutoff (the as-of date of the schema) who placed at
-- least one valid order after it: actual_orders = distinct purchase days (in the configured time zone) with a
-- usable, not cancelled order of main.clean_orders from model_info.cutoff_at up to $horizon_end_at (the end of
-- the horizon's last day). Customers without such orders are absent (0 orders).
-- Params: $horizon_end_at
with horizon_orders as (
    select
        clean_orders.customer_id,
        cast(timezone(model_info.timezone, clean_orders.ordered_at at time zone 'UTC') as date) as purchased_on
    from main.clean_orders
    cross join model_info
    where clean_orders.ordered_at >= model_info.cutoff_at
      and clean_orders.ordered_at < $horizon_end_at
      and coalesce(lower(trim(clean_orders.status)), '') not in ('cancelled', 'canceled')
),

customers as (
    select distinct customer_id from valid_orders
),

final as (
    select horizon_orders.customer_id, count(distinct horizon_orders.purchased_on) as actual_orders
    from horizon_orders
    inner join customers on customers.customer_id = horizon_orders.customer_id
    group by horizon_orders.customer_id
)

select * from final
order by customer_id
