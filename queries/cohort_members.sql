-- Grain: one row per customer of one cohort (customers whose first valid order falls in the calendar
-- $grain starting $cohort_start, local time) in the segment, with is_active_in_period = has a valid
-- order in period $cohort_start + $period_number (as in cohort_retention.sql). $activity 'active' or
-- 'inactive' keeps only those customers (null keeps both); total_matches counts the kept customers
-- before $limit / $offset (null $limit = no limit). Highest revenue first, ties by customer_id.
-- email is masked ('j***@example.com') unless $show_email is true (roles allowed to see personal data), and so
-- is a customer_id that is an e-mail address or a phone number (customer_label, privacy_macros.sql: a pseudonym).
-- Reads cube_cohort_members (one row per grain x customer, stored in this order within each cohort): the page's
-- positions first, then the listed columns of those positions only. total_matches comes from
-- cube_cohort_retention (cohort size, and customers active in the period), summed over the segment's keys.
-- Params: $grain, $cohort_start, $period_number, $activity, $show_email, $limit, $offset, $channels, $regions, $categories, $tiers
-- Reads: cube_cohort_members, cube_cohort_retention, customer_label(), segment_keys(), segment_keys_with_total()
-- Cohorts are the week or quarter of the first order for those grains, else its month (customer_summary's
-- cohort_week, cohort_quarter, cohort_month);
-- activity is that of the grain exactly as given: none for a grain other than week, month and quarter.
with cohort_grain as (
    select
        case $grain when 'week' then 'week' when 'quarter' then 'quarter' else 'month' end as grain,
        coalesce($grain in ('week', 'month', 'quarter'), false) as has_activity
),

cohort as (
    select
        cube_cohort_members.position,
        coalesce(
            cohort_grain.has_activity and list_contains(cube_cohort_members.active_periods, $period_number), false
        ) as is_active_in_period
    from cube_cohort_members, cohort_grain
    where cube_cohort_members.grain = cohort_grain.grain
      and cube_cohort_members.cohort_start = $cohort_start
      and cube_cohort_members.seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
),

page_positions as (
    select position, is_active_in_period
    from cohort
    where $activity is null
       or ($activity = 'active' and is_active_in_period)
       or ($activity = 'inactive' and not is_active_in_period)
    order by position
    limit $limit
    offset $offset
),

page as (
    select cube_cohort_members.*, page_positions.is_active_in_period
    from cube_cohort_members
    inner join page_positions on page_positions.position = cube_cohort_members.position
),

-- Without a segment filter the all-customer rows (seg_key 0); with one, the accepted seg_keys.
counts as (
    select
        coalesce(sum(cube_cohort_retention.last_active_customers), 0) as cohort_customers,
        coalesce(sum(cube_cohort_retention.active_customers) filter (
            where cube_cohort_retention.period_number = $period_number and cohort_grain.has_activity
        ), 0) as active_customers
    from cube_cohort_retention, cohort_grain
    where cube_cohort_retention.grain = cohort_grain.grain
      and cube_cohort_retention.cohort_start = $cohort_start
      and cube_cohort_retention.seg_key in (
          select seg_key from segment_keys_with_total($channels, $regions, $categories, $tiers)
      )
),

matches as (
    select
        cast(case
            when $activity = 'active' then active_customers
            when $activity = 'inactive' then cohort_customers - active_customers
            when $activity is null then cohort_customers
            else 0
        end as bigint) as total_matches
    from counts
),

final as (
    select
        customer_label(page.customer_id, $show_email) as customer_id,
        page.customer_id as sort_id,
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

select * exclude (sort_id) from final
order by revenue desc, sort_id
