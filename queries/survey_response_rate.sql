-- Grain: one row per calendar $grain (week, month, quarter, local time) with a valid order or a survey
-- response, for periods starting between $start_date and $end_date (null = open end).
-- responses_per_order = survey responses submitted in the period / valid orders placed in the period
-- (a volume ratio: a response need not be about an order of the same period).
-- is_partial_period: the period ends after the as-of day, so it is not complete yet (and its responses lag
-- its orders: a survey is answered days after the order, so the rate of a period in progress is not comparable).
-- Without segment filters every response counts, including those of customers with no orders.
-- Reads cube_sat_period (orders and responses per grain x period x seg_key): summed over the filter's seg_keys.
-- Params: $grain, $start_date, $end_date, $channels, $regions, $categories, $tiers
-- Reads: cube_sat_period, model_info, segment_keys_with_total()
with periods as (
    select
        period_start,
        cast(sum(orders) as bigint) as orders,
        cast(sum(responses) as bigint) as responses
    from cube_sat_period
    where grain = lower($grain)
      and seg_key in (select seg_key from segment_keys_with_total($channels, $regions, $categories, $tiers))
      and (cast($start_date as date) is null or period_start >= cast($start_date as date))
      and (cast($end_date as date) is null or period_start <= cast($end_date as date))
    group by period_start
    having sum(orders) > 0 or sum(responses) > 0
),

final as (
    select
        periods.period_start,
        periods.orders,
        periods.responses,
        periods.responses / nullif(periods.orders, 0) as responses_per_order,
        case $grain
            when 'week' then periods.period_start + interval 7 day
            when 'quarter' then periods.period_start + interval 3 month
            else periods.period_start + interval 1 month
        end > model_info.as_of + interval 1 day as is_partial_period
    from periods
    cross join model_info
)

select * from final
order by period_start
