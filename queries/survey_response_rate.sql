-- Grain: one row per calendar $grain (week, month, quarter, local time) with a valid order or a survey
-- response, for periods starting between $start_date and $end_date (null = open end).
-- responses_per_order = survey responses submitted in the period / valid orders placed in the period
-- (a volume ratio: a response need not be about an order of the same period).
-- Without segment filters every response counts, including those of customers with no orders.
-- Params: $grain, $start_date, $end_date, $channels, $regions, $categories, $tiers
with segment as (
    select customer_id from segment_customers($channels, $regions, $categories, $tiers)
),

segment_orders as (
    select cast(date_trunc($grain, valid_orders.ordered_local) as date) as period_start
    from valid_orders
    inner join segment on segment.customer_id = valid_orders.customer_id
),

segment_responses as (
    select cast(date_trunc($grain, valid_surveys.submitted_local) as date) as period_start
    from segment_surveys($channels, $regions, $categories, $tiers) as valid_surveys
),

order_periods as (
    select period_start, count(*) as orders
    from segment_orders
    group by period_start
),

response_periods as (
    select period_start, count(*) as responses
    from segment_responses
    group by period_start
),

final as (
    select
        coalesce(order_periods.period_start, response_periods.period_start) as period_start,
        coalesce(order_periods.orders, 0) as orders,
        coalesce(response_periods.responses, 0) as responses,
        coalesce(response_periods.responses, 0) / nullif(coalesce(order_periods.orders, 0), 0) as responses_per_order
    from order_periods
    full outer join response_periods on response_periods.period_start = order_periods.period_start
)

select * from final
where (cast($start_date as date) is null or period_start >= cast($start_date as date))
  and (cast($end_date as date) is null or period_start <= cast($end_date as date))
order by period_start
