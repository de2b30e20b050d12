-- Grain: one row per customer with a valid order by the cutoff (the as-of date of the schema) who placed a
-- valid order after it, plus the date of the latest valid order in the data (latest_order_on, the same on every
-- row). actual_orders = distinct purchase days (in the configured time zone) with a usable, not cancelled order
-- of main.clean_orders from model_info.cutoff_at up to $horizon_end_at (the end of the horizon's last day); 0
-- for a customer who only ordered later. Customers absent placed no order after the cutoff. With no order at
-- all after the cutoff there is one row: latest_order_on null, customer_id null.
-- main.clean_orders is read once (it deduplicates every order, so it is the expensive part).
-- Params: $horizon_end_at
-- Reads: clean_orders, model_info, valid_orders
with after_cutoff as (
    select
        clean_orders.customer_id,
        clean_orders.ordered_at,
        cast(timezone(model_info.timezone, clean_orders.ordered_at at time zone 'UTC') as date) as purchased_on
    from main.clean_orders
    cross join model_info
    where clean_orders.ordered_at >= model_info.cutoff_at
      and coalesce(lower(trim(clean_orders.status)), '') not in ('cancelled', 'canceled')
),

latest as (
    select max(purchased_on) as latest_order_on from after_cutoff
),

customers as (
    select distinct customer_id from valid_orders
),

per_customer as (
    select
        after_cutoff.customer_id,
        count(distinct case when after_cutoff.ordered_at < $horizon_end_at then after_cutoff.purchased_on end)
            as actual_orders
    from after_cutoff
    inner join customers on customers.customer_id = after_cutoff.customer_id
    group by after_cutoff.customer_id
),

final as (
    select latest.latest_order_on, per_customer.customer_id, per_customer.actual_orders
    from latest
    left join per_customer on true
)

select * from final
order by customer_id
