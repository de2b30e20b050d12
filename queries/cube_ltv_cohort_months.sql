-- Grain: one row per seg_key x cohort_month x period_number with at least one active customer: calendar months
-- from the month of a customer's first valid order (customer_summary.cohort_month, local time) to a month in
-- which they placed a valid order (customer_activity, grain 'month'), for the customers of customer_summary.
-- active_customers: customers with a valid order in that month (period 0: the whole cohort); revenue: their valid
-- revenue in it; revenue_square_change: the sum over them of R_k * R_k - R_(k-1) * R_(k-1), R_k being the
-- customer's revenue from the first order through month k. A month without orders leaves R unchanged, so summed
-- over k <= K these give the sum of R_K and of R_K squared over the cohort: the mean and the spread of revenue
-- per customer by month K, which revenue_per_customer_by_month.sql reads.
-- Reads: customer_activity, customer_summary
-- Creates: cube_ltv_cohort_months
-- Params: none
create table cube_ltv_cohort_months as
with customer_months as (
    select
        customer_summary.seg_key,
        customer_summary.cohort_month,
        customer_activity.customer_id,
        date_diff('month', customer_summary.cohort_month, customer_activity.period_start) as period_number,
        customer_activity.revenue
    from customer_activity
    inner join customer_summary on customer_summary.customer_id = customer_activity.customer_id
    where customer_activity.grain = 'month'
),

running as (
    select
        seg_key,
        cohort_month,
        period_number,
        revenue,
        sum(revenue) over (
            partition by customer_id order by period_number rows between unbounded preceding and current row
        ) as revenue_to_date
    from customer_months
)

select
    seg_key,
    cohort_month,
    period_number,
    count(*) as active_customers,
    sum(revenue) as revenue,
    sum(revenue_to_date * revenue_to_date - (revenue_to_date - revenue) * (revenue_to_date - revenue))
        as revenue_square_change
from running
group by seg_key, cohort_month, period_number
order by seg_key, cohort_month, period_number
