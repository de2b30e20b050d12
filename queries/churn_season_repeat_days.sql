-- Grain: one row per age_bucket x period_key with at least one repeat purchase day on or after $since_date:
-- the counts dashboard/seasonality.py estimates the seasonal index from (docs/churn.md, "Seasonality").
-- A purchase day is a calendar day with a valid order (as in churn_features.sql); a repeat purchase day is
-- one after the customer's first. age_bucket = floor(days since the first purchase day / 30), capped at 36;
-- period_key = year x 24 + half-month of the year (2 x (month - 1), + 1 from the 16th on).
-- Params: $since_date
-- Reads: valid_orders
with purchase_days as (
    select customer_id, cast(ordered_local as date) as purchased_on
    from valid_orders
    group by customer_id, cast(ordered_local as date)
),

first_days as (
    select customer_id, min(purchased_on) as first_purchased_on
    from purchase_days
    group by customer_id
),

repeat_days as (
    select
        least(36, cast(floor(date_diff('day', first_days.first_purchased_on, purchase_days.purchased_on) / 30)
            as integer)) as age_bucket,
        extract(year from purchase_days.purchased_on) * 24
            + 2 * (extract(month from purchase_days.purchased_on) - 1)
            + case when extract(day from purchase_days.purchased_on) > 15 then 1 else 0 end as period_key
    from purchase_days
    inner join first_days on first_days.customer_id = purchase_days.customer_id
    where purchase_days.purchased_on > first_days.first_purchased_on
      and purchase_days.purchased_on >= $since_date
),

final as (
    select age_bucket, period_key, count(*) as purchase_days
    from repeat_days
    group by age_bucket, period_key
)

select * from final
order by age_bucket, period_key
