-- Grain: one row per grain ('week', 'month', 'quarter') x period_start (calendar period of the local day) x
-- seg_key with a valid order or a survey response. The counts of cube_sat_daily summed over the period's days
-- and touchpoints, plus orders: valid orders placed in the period by the segment's customers (seg_key -1 has
-- none). Counts only, no rates. Also one row per grain x period_start under seg_key 0 with the totals over
-- everyone (every seg_key and -1), which the unfiltered view reads (segment_keys_with_total).
-- Params: none
-- Reads: cube_sat_daily, customer_summary, valid_orders
-- Creates: cube_sat_period
create table cube_sat_period as
with grains as (
    select unnest(['week', 'month', 'quarter']) as grain
),

order_days as (
    select
        cast(valid_orders.ordered_local as date) as ordered_day,
        customer_summary.seg_key,
        count(*) as orders
    from valid_orders
    inner join customer_summary on customer_summary.customer_id = valid_orders.customer_id
    group by ordered_day, customer_summary.seg_key
),

response_days as (
    select
        submitted_day as day,
        seg_key,
        sum(responses) as responses,
        sum(nps_responses) as nps_responses,
        sum(nps_promoters) as nps_promoters,
        sum(nps_passives) as nps_passives,
        sum(nps_detractors) as nps_detractors,
        sum(csat_responses) as csat_responses,
        sum(csat_satisfied) as csat_satisfied,
        sum(csat_score_sum) as csat_score_sum,
        sum(csat_scored) as csat_scored,
        0 as orders
    from cube_sat_daily
    where seg_key <> 0  -- the per-segment rows; the totals are made again below
    group by submitted_day, seg_key
    union all
    select ordered_day, seg_key, 0, 0, 0, 0, 0, 0, 0, 0.0, 0, orders
    from order_days
),

final as (
    select
        grains.grain,
        cast(date_trunc(grains.grain, response_days.day) as date) as period_start,
        case when grouping(response_days.seg_key) = 1 then 0 else response_days.seg_key end as seg_key,
        cast(sum(response_days.responses) as bigint) as responses,
        cast(sum(response_days.nps_responses) as bigint) as nps_responses,
        cast(sum(response_days.nps_promoters) as bigint) as nps_promoters,
        cast(sum(response_days.nps_passives) as bigint) as nps_passives,
        cast(sum(response_days.nps_detractors) as bigint) as nps_detractors,
        cast(sum(response_days.csat_responses) as bigint) as csat_responses,
        cast(sum(response_days.csat_satisfied) as bigint) as csat_satisfied,
        sum(response_days.csat_score_sum) as csat_score_sum,
        cast(sum(response_days.csat_scored) as bigint) as csat_scored,
        cast(sum(response_days.orders) as bigint) as orders
    from response_days
    cross join grains
    group by grouping sets ((grains.grain, period_start, response_days.seg_key), (grains.grain, period_start))
)

select * from final
order by grain, period_start, seg_key
