-- Grain: one row per grain x seg_key x period_start (week, month, quarter; local time) in which at least one of
-- the segment's customers placed a valid order: active_customers (customers with an order in the period),
-- new_customers (their first valid order is in it), returning_customers (their first valid order is in an
-- earlier period), orders and revenue. Each customer has one seg_key, so sums over seg_keys count each
-- customer once per period.
-- Params: none
-- Reads: customer_activity, customer_summary
-- Creates: cube_gaps_activity
create table cube_gaps_activity as
with activity as (
    select
        customer_activity.grain,
        customer_summary.seg_key,
        customer_activity.period_start,
        customer_activity.count_orders,
        customer_activity.revenue,
        case customer_activity.grain
            when 'week' then customer_summary.cohort_week
            when 'quarter' then customer_summary.cohort_quarter
            else customer_summary.cohort_month
        end as cohort_start
    from customer_activity
    inner join customer_summary on customer_summary.customer_id = customer_activity.customer_id
)

select
    grain,
    seg_key,
    period_start,
    count(*) as active_customers,
    count(*) filter (where cohort_start = period_start) as new_customers,
    count(*) filter (where cohort_start < period_start) as returning_customers,
    cast(sum(count_orders) as bigint) as orders,
    sum(revenue) as revenue
from activity
group by grain, seg_key, period_start
order by grain, seg_key, period_start
