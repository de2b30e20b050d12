-- Grain: one row per months_since_first_order K = 0, 1, ... up to the latest month a cohort of the segment has
-- completed. Over the monthly cohorts (calendar month of the first valid order, local time) whose month K has
-- ended by the as-of day, customers = their customers, revenue = their valid revenue from the first order
-- through month K, revenue_per_customer = revenue / customers (the LTV curve: cumulative revenue per customer by
-- months since first order), revenue_sd = the sample standard deviation of that revenue over the customers, and
-- ci_low, ci_high = the 95% interval of revenue_per_customer (normal approximation: mean -/+ 1.96 sd / sqrt(n)).
-- The month containing the as-of date counts only when the as-of day is its last day (as in cohort_retention).
-- Reads cube_ltv_cohort_months (seg_key x cohort_month x month: revenue and the change of the sum of squares),
-- summed over the segment's seg_keys; a cohort's running sums over months give its R_K and R_K squared.
-- Reads: cube_ltv_cohort_months, period_of_as_of(), segment_keys()
-- Params: $channels, $regions, $categories, $tiers
with keys as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

cells as (
    select
        cohort_month,
        period_number,
        sum(active_customers) as active_customers,
        sum(revenue) as revenue,
        sum(revenue_square_change) as revenue_square_change
    from cube_ltv_cohort_months
    where seg_key in (select seg_key from keys)
    group by cohort_month, period_number
),

as_of_month as (
    select * from period_of_as_of('month')
),

-- month 0 holds the whole cohort (everyone ordered in their first month)
cohorts as (
    select
        cells.cohort_month,
        cells.active_customers as cohort_size,
        date_diff('month', cells.cohort_month, as_of_month.period_start)
            - case when as_of_month.is_incomplete then 1 else 0 end as last_complete_month
    from cells
    cross join as_of_month
    where cells.period_number = 0
),

cohort_months as (
    select cohort_month, cohort_size, unnest(generate_series(0, last_complete_month)) as months_since_first_order
    from cohorts
    where last_complete_month >= 0
),

running as (
    select
        cohort_months.months_since_first_order,
        cohort_months.cohort_size,
        sum(coalesce(cells.revenue, 0)) over cohort_to_date as revenue_to_date,
        sum(coalesce(cells.revenue_square_change, 0)) over cohort_to_date as revenue_squares
    from cohort_months
    left join cells
        on cells.cohort_month = cohort_months.cohort_month
        and cells.period_number = cohort_months.months_since_first_order
    window cohort_to_date as (
        partition by cohort_months.cohort_month
        order by cohort_months.months_since_first_order
        rows between unbounded preceding and current row
    )
),

totals as (
    select
        months_since_first_order,
        cast(count(*) as bigint) as cohorts,
        cast(sum(cohort_size) as bigint) as customers,
        sum(revenue_to_date) as revenue,
        sum(revenue_squares) as revenue_squares
    from running
    group by months_since_first_order
),

spread as (
    select
        *,
        revenue / customers as revenue_per_customer,
        sqrt(greatest(revenue_squares - revenue * revenue / customers, 0) / nullif(customers - 1, 0)) as revenue_sd
    from totals
),

final as (
    select
        months_since_first_order,
        cohorts,
        customers,
        revenue,
        revenue_per_customer,
        revenue_sd,
        revenue_per_customer - 1.96 * revenue_sd / sqrt(customers) as ci_low,
        revenue_per_customer + 1.96 * revenue_sd / sqrt(customers) as ci_high
    from spread
)

select * from final
order by months_since_first_order
