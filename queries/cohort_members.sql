-- Grain: one row per customer of one cohort (customers whose first valid order falls in the calendar
-- $grain starting $cohort_start, local time) in the segment, with is_active_in_period = has a valid
-- order in period $cohort_start + $period_number (as in cohort_retention.sql). $activity 'active' or
-- 'inactive' keeps only those customers (null keeps both); total_matches counts the kept customers
-- before $limit / $offset (null $limit = no limit). Emails are masked: 'jane@example.com' -> 'j***@example.com'.
-- email is masked ('j***@example.com') unless $show_email is true (roles allowed to see personal data).
-- Reads cube_cohort_members (one row per customer, sorted by first order, so the cohort is one contiguous
-- range of rows) and keeps the segment's seg_keys.
-- Params: $grain, $cohort_start, $period_number, $activity, $show_email, $limit, $offset, $channels, $regions, $categories, $tiers
with cohort as (
    select *
    from cube_cohort_members
    where case $grain when 'week' then cohort_week when 'quarter' then cohort_quarter else cohort_month end
            = $cohort_start
      and seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
),

-- Activity is that of the grain exactly as given (customer_activity.grain = $grain): none for other grains.
members as (
    select
        customer_id,
        email,
        first_ordered_at,
        last_ordered_at,
        count_orders,
        revenue,
        coalesce(
            case $grain
                when 'week' then list_contains(week_periods, $period_number)
                when 'month' then list_contains(month_periods, $period_number)
                when 'quarter' then list_contains(quarter_periods, $period_number)
            end,
            false
        ) as is_active_in_period
    from cohort
),

filtered as (
    select *
    from members
    where $activity is null
       or ($activity = 'active' and is_active_in_period)
       or ($activity = 'inactive' and not is_active_in_period)
),

-- The page of rows first, then its emails masked; total_matches counts every kept customer.
page as (
    select *
    from filtered
    order by revenue desc, customer_id
    limit $limit offset $offset
),

matches as (
    select count(*) as total_matches from filtered
),

final as (
    select
        page.customer_id,
        case
            when page.email is null then null
            when $show_email then page.email
            when strpos(page.email, '@') = 0 then left(page.email, 1) || '***'
            when strpos(page.email, '@') = 1 then '***' || page.email
            else left(page.email, 1) || '***@' || regexp_extract(page.email, '@([^@]*)$', 1)
        end as email,
        page.first_ordered_at,
        page.last_ordered_at,
        page.count_orders,
        page.revenue,
        page.is_active_in_period,
        matches.total_matches
    from page
    cross join matches
)

select * from final
order by revenue desc, customer_id
