-- Grain: one row per customer matching the win-back rules and the segment (see churn_winback_macro.sql),
-- highest lifetime revenue (the revenue at stake) first, ties by customer_id; one page of $limit rows from row
-- $offset (null = all rows, from the first). total_matches = customers matching (all pages).
-- email is masked to its first character and domain ('j***@example.com') unless $show_pii, and a customer_id that
-- is an e-mail address or a phone number is a pseudonym (customer_label, privacy_macros.sql); the comment was
-- masked when customer_scores was built (churn_customer_scores.sql).
-- The page is the first matching rows of cube_churn_winback_rows by position (its rows are stored in this
-- order, with the shown columns, so DuckDB reads only what the page needs); total_matches is summed like
-- winback_summary.sql (cube_churn_winback_groups without day or revenue bounds, else the rows).
-- Params: $risk_bands, $rfm_segments, $min_days_since_last_order, $max_days_since_last_order, $min_revenue, $max_revenue, $nps_categories, $has_open_complaint, $is_marketing_opt_in, $channels, $regions, $categories, $tiers, $show_pii, $limit, $offset
-- Reads: cube_churn_winback_groups, cube_churn_winback_rows, customer_label(), segment_keys(), winback_rules_match()
with segment_keys_in_scope as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

-- the page's positions from the columns the rules test, then the shown columns of those rows only (the
-- rows being sorted by position, the join reads the few row groups between the page's first and last)
page_positions as (
    select position
    from cube_churn_winback_rows
    where winback_rules_match(
          $risk_bands, $rfm_segments, $min_days_since_last_order, $max_days_since_last_order, $min_revenue,
          $max_revenue, $nps_categories, $has_open_complaint, $is_marketing_opt_in,
          risk_band, rfm_segment, days_since_last_order, revenue, latest_nps_category, has_open_complaint,
          is_marketing_opt_in
      )
      and (($channels is null and $regions is null and $categories is null and $tiers is null)
           or seg_key in (select seg_key from segment_keys_in_scope))
    order by position
    limit $limit
    offset $offset
),

page as (
    select cube_churn_winback_rows.*
    from cube_churn_winback_rows
    semi join page_positions on page_positions.position = cube_churn_winback_rows.position
),

matching_counts as (
    select customers
    from cube_churn_winback_groups
    where $min_days_since_last_order is null and $max_days_since_last_order is null
      and $min_revenue is null and $max_revenue is null
      and winback_rules_match(
          $risk_bands, $rfm_segments, null, null, null, null, $nps_categories, $has_open_complaint,
          $is_marketing_opt_in,
          risk_band, rfm_segment, null, null, latest_nps_category, has_open_complaint, is_marketing_opt_in
      )
      and seg_key in (select seg_key from segment_keys_in_scope)
    union all
    select 1 as customers
    from cube_churn_winback_rows
    where not ($min_days_since_last_order is null and $max_days_since_last_order is null
               and $min_revenue is null and $max_revenue is null)
      and winback_rules_match(
          $risk_bands, $rfm_segments, $min_days_since_last_order, $max_days_since_last_order, $min_revenue,
          $max_revenue, $nps_categories, $has_open_complaint, $is_marketing_opt_in,
          risk_band, rfm_segment, days_since_last_order, revenue, latest_nps_category, has_open_complaint,
          is_marketing_opt_in
      )
      and (($channels is null and $regions is null and $categories is null and $tiers is null)
           or seg_key in (select seg_key from segment_keys_in_scope))
),

total as (
    select cast(coalesce(sum(customers), 0) as bigint) as total_matches from matching_counts
),

final as (
    select
        page.position,
        customer_label(page.customer_id, $show_pii) as customer_id,
        case
            when $show_pii then page.email
            when instr(page.email, '@') > 1 then left(page.email, 1) || '***' || substr(page.email, instr(page.email, '@'))
        end as email,
        page.rfm_segment,
        page.risk_band,
        page.churn_risk,
        page.p_alive,
        page.days_since_last_order,
        page.frequency,
        page.revenue,
        page.predicted_clv_365d,
        page.latest_nps_category,
        page.has_open_complaint,
        page.is_marketing_opt_in,
        page.reasons,
        page.last_comment_masked,
        total.total_matches
    from page
    cross join total
)

select * exclude (position)
from final
order by position
