-- Grain: one row per customer of one cohort (customers whose first valid order falls in the calendar
-- $grain starting $cohort_start, local time) in the segment, with is_active_in_period = has a valid
-- order in period $cohort_start + $period_number (as in cohort_retention.sql). $activity 'active' or
-- 'inactive' keeps only those customers (null keeps both); total_matches counts the kept customers
-- before $limit / $offset (null $limit = no limit). Emails are masked: 'jane@example.com' -> 'j***@example.com'.
-- email is masked ('j***@example.com') unless $show_email is true (roles allowed to see personal data).
-- Params: $grain, $cohort_start, $period_number, $activity, $show_email, $limit, $offset, $channels, $regions, $categories, $tiers
with segment as (
    select * from segment_cohorts($grain, $channels, $regions, $categories, $tiers)
),

cohort as (
    select * from segment where cohort_start = $cohort_start
),

active_in_period as (
    select customer_activity.customer_id
    from customer_activity
    inner join cohort on cohort.customer_id = customer_activity.customer_id
    where customer_activity.grain = $grain
      and date_diff($grain, cohort.cohort_start, customer_activity.period_start) = $period_number
),

members as (
    select
        cohort.customer_id,
        nullif(trim(cohort.email), '') as email,
        cohort.first_ordered_at,
        cohort.last_ordered_at,
        cohort.count_orders,
        cohort.revenue,
        active_in_period.customer_id is not null as is_active_in_period
    from cohort
    left join active_in_period on active_in_period.customer_id = cohort.customer_id
),

filtered as (
    select *
    from members
    where $activity is null
       or ($activity = 'active' and is_active_in_period)
       or ($activity = 'inactive' and not is_active_in_period)
),

final as (
    select
        customer_id,
        case
            when email is null then null
            when $show_email then email
            when strpos(email, '@') = 0 then left(email, 1) || '***'
            when strpos(email, '@') = 1 then '***' || email
            else left(email, 1) || '***@' || regexp_extract(email, '@([^@]*)$', 1)
        end as email,
        first_ordered_at,
        last_ordered_at,
        count_orders,
        revenue,
        is_active_in_period,
        count(*) over () as total_matches
    from filtered
)

select * from final
order by revenue desc, customer_id
limit $limit offset $offset
