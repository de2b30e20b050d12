-- Grain: one row per customer with at least one valid order by $as_of, unordered: the purchase summary the churn
-- model is fitted on, in whole days of the configured time zone. $as_of is the schema's as-of date, or an
-- earlier one (the lifecycle movement: valid_orders placed by then are exactly that date's valid orders).
-- A purchase day is a calendar day with at least one valid order (the CDNOW convention: two orders on one day
-- are one purchase). frequency = purchase days - 1 (repeat purchases); recency_days = last - first purchase
-- day; t_days = as-of date - first purchase day (the customer's age T); days_since_last_order = as-of date -
-- last purchase day; monetary = mean value of the repeat purchase days (a day's orders summed, the first day
-- left out; 0 without repeat purchases); typical_gap_days = recency_days / frequency, the customer's mean gap
-- between purchase days (null without repeat purchases); count_orders and revenue over all valid orders;
-- last_order_value = the latest valid order (highest order_seq), earlier_order_mean_value = the mean of the
-- orders before it (null with one order).
-- Params: $as_of
-- Reads: valid_orders
with purchase_days as (
    select
        customer_id,
        cast(ordered_local as date) as purchased_on,
        count(*) as count_orders,
        -- An exact sum (money to the millionth): a float sum's last bit depends on how the threads split the
        -- rows, and the fitted model amplifies that bit, so the same export would not give the same scores.
        sum(cast(revenue as decimal(38, 6))) as day_revenue,
        max_by(revenue, order_seq) as last_order_value
    from valid_orders
    where cast(ordered_local as date) <= $as_of
    group by customer_id, cast(ordered_local as date)
),

per_customer as (
    select
        customer_id,
        min(purchased_on) as first_purchased_on,
        max(purchased_on) as last_purchased_on,
        count(*) - 1 as frequency,
        cast(sum(count_orders) as bigint) as count_orders,
        sum(day_revenue) as revenue,
        min_by(day_revenue, purchased_on) as first_day_revenue,
        max_by(last_order_value, purchased_on) as last_order_value
    from purchase_days
    group by customer_id
),

final as (
    select
        per_customer.customer_id,
        per_customer.frequency,
        date_diff('day', per_customer.first_purchased_on, per_customer.last_purchased_on) as recency_days,
        date_diff('day', per_customer.first_purchased_on, cast($as_of as date)) as t_days,
        date_diff('day', per_customer.last_purchased_on, cast($as_of as date)) as days_since_last_order,
        coalesce(cast(per_customer.revenue - per_customer.first_day_revenue as double)
            / nullif(per_customer.frequency, 0), 0.0) as monetary,
        date_diff('day', per_customer.first_purchased_on, per_customer.last_purchased_on)
            / nullif(per_customer.frequency, 0) as typical_gap_days,
        per_customer.first_purchased_on,
        per_customer.last_purchased_on,
        per_customer.count_orders,
        cast(per_customer.revenue as double) as revenue,
        per_customer.last_order_value,
        (cast(per_customer.revenue as double) - per_customer.last_order_value) / nullif(per_customer.count_orders - 1, 0)
            as earlier_order_mean_value
    from per_customer
)

select * from final
