-- Grain: one row per customer with at least one valid order by the as-of date (model_info.as_of): the
-- purchase summary the churn model is fitted on, in whole days of the configured time zone.
-- A purchase day is a calendar day with at least one valid order (CDNOW convention: two orders on one day
-- are one purchase). frequency = purchase days - 1 (repeat purchases); recency_days = last - first purchase
-- day; t_days = as-of date - first purchase day (the customer's age T); monetary = mean value of the repeat
-- purchase days (a day's orders summed, the first day left out; 0 without repeat purchases);
-- typical_gap_days = recency_days / frequency, the customer's mean gap between purchase days (null without
-- repeat purchases). last_order_value is the latest valid order (by ordered_at, order_id) and
-- earlier_order_mean_value the mean of the customer's orders before it (null with one order).
-- Params: none
with as_of as (
    select as_of from model_info
),

purchase_days as (
    select
        customer_id,
        cast(ordered_local as date) as purchased_on,
        sum(revenue) as day_revenue
    from valid_orders
    group by customer_id, cast(ordered_local as date)
),

numbered_days as (
    select
        *,
        row_number() over (partition by customer_id order by purchased_on) as day_number
    from purchase_days
),

per_customer as (
    select
        customer_id,
        min(purchased_on) as first_purchased_on,
        max(purchased_on) as last_purchased_on,
        count(*) - 1 as frequency,
        avg(case when day_number > 1 then day_revenue end) as repeat_day_mean_value
    from numbered_days
    group by customer_id
),

last_orders as (
    select valid_orders.customer_id, valid_orders.revenue as last_order_value
    from valid_orders
    inner join customer_summary
        on customer_summary.customer_id = valid_orders.customer_id
       and valid_orders.order_seq = customer_summary.count_orders
),

earlier_orders as (
    select valid_orders.customer_id, avg(valid_orders.revenue) as earlier_order_mean_value
    from valid_orders
    inner join customer_summary
        on customer_summary.customer_id = valid_orders.customer_id
       and valid_orders.order_seq < customer_summary.count_orders
    group by valid_orders.customer_id
),

final as (
    select
        per_customer.customer_id,
        per_customer.frequency,
        date_diff('day', per_customer.first_purchased_on, per_customer.last_purchased_on) as recency_days,
        date_diff('day', per_customer.first_purchased_on, as_of.as_of) as t_days,
        date_diff('day', per_customer.last_purchased_on, as_of.as_of) as days_since_last_order,
        coalesce(per_customer.repeat_day_mean_value, 0.0) as monetary,
        date_diff('day', per_customer.first_purchased_on, per_customer.last_purchased_on)
            / nullif(per_customer.frequency, 0) as typical_gap_days,
        per_customer.first_purchased_on,
        per_customer.last_purchased_on,
        customer_summary.count_orders,
        customer_summary.revenue,
        last_orders.last_order_value,
        earlier_orders.earlier_order_mean_value
    from per_customer
    cross join as_of
    inner join customer_summary on customer_summary.customer_id = per_customer.customer_id
    left join last_orders on last_orders.customer_id = per_customer.customer_id
    left join earlier_orders on earlier_orders.customer_id = per_customer.customer_id
)

select * from final
order by customer_id
