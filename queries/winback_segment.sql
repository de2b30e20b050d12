-- Grain: one row per customer matching the win-back rules and the segment (see churn_winback_macro.sql), in the
-- list's order (highest value at stake first, then lifetime revenue, then customer_id; see
-- cube_churn_winback_rows); one page of $limit rows from row $offset (null = all rows, from the first);
-- $opted_in_only keeps only customers who opted in to marketing (the campaign export's default).
-- total_matches = customers matching (all pages, before $opted_in_only).
-- email is masked to its first character and domain ('j***@example.com') unless $show_pii, and a customer_id that
-- is an e-mail address or a phone number is a pseudonym (customer_label, privacy_macros.sql); the comment was
-- masked when customer_scores was built (churn_customer_scores.sql). The reasons' words are put together for the
-- page's rows only (reasons_text, winback_reason_text: churn_winback_macro.sql).
-- The page is the first matching rows of cube_churn_winback_rows by position (its rows are stored in this
-- order, with the shown columns, so DuckDB reads only what the page needs); total_matches is summed like
-- winback_summary.sql.
-- Params: $lifecycle_states, $risk_bands, $rfm_segments, $recency_scores, $fm_scores, $min_days_since_last_order, $max_days_since_last_order, $min_revenue, $max_revenue, $nps_categories, $has_open_complaint, $has_complained, $complaint_categories, $has_returned, $is_marketing_opt_in, $moved_days, $previous_states, $previous_segments, $channels, $regions, $categories, $tiers, $opted_in_only, $show_pii, $limit, $offset
-- Reads: cube_churn_winback_groups, cube_churn_winback_rows, customer_label(), reasons_text(), segment_keys(), winback_reason_text(), winback_rules_match()
with segment_keys_in_scope as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

-- the page's positions from the columns the rules test, then the shown columns of those rows only (the
-- rows being sorted by position, the join reads the few row groups between the page's first and last)
page_positions as (
    select position
    from cube_churn_winback_rows
    where winback_rules_match(
          $lifecycle_states, $risk_bands, $rfm_segments, $recency_scores, $fm_scores, $min_days_since_last_order,
          $max_days_since_last_order, $min_revenue, $max_revenue, $nps_categories, $has_open_complaint,
          $has_complained, $complaint_categories, $has_returned, $is_marketing_opt_in, $moved_days,
          $previous_states, $previous_segments,
          lifecycle_state, risk_band, rfm_segment, recency_score, frequency_monetary_score, days_since_last_order,
          revenue, latest_nps_category, has_open_complaint, has_complained, complaint_categories, has_returned,
          is_marketing_opt_in, previous_state_7, previous_segment_7, previous_state_28, previous_segment_28
      )
      and (not coalesce($opted_in_only, false) or is_marketing_opt_in)
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
      and $recency_scores is null and $fm_scores is null and $complaint_categories is null
      and $previous_states is null and $previous_segments is null
      and winback_rules_match(
          $lifecycle_states, $risk_bands, $rfm_segments, null, null, null, null, null, null, $nps_categories,
          $has_open_complaint, $has_complained, null, $has_returned, $is_marketing_opt_in, null, null, null,
          lifecycle_state, risk_band, rfm_segment, null, null, null, null, latest_nps_category,
          has_open_complaint, has_complained, null, has_returned, is_marketing_opt_in, null, null, null, null
      )
      and seg_key in (select seg_key from segment_keys_in_scope)
    union all
    select 1 as customers
    from cube_churn_winback_rows
    where not ($min_days_since_last_order is null and $max_days_since_last_order is null
               and $min_revenue is null and $max_revenue is null
               and $recency_scores is null and $fm_scores is null and $complaint_categories is null
               and $previous_states is null and $previous_segments is null)
      and winback_rules_match(
          $lifecycle_states, $risk_bands, $rfm_segments, $recency_scores, $fm_scores, $min_days_since_last_order,
          $max_days_since_last_order, $min_revenue, $max_revenue, $nps_categories, $has_open_complaint,
          $has_complained, $complaint_categories, $has_returned, $is_marketing_opt_in, $moved_days,
          $previous_states, $previous_segments,
          lifecycle_state, risk_band, rfm_segment, recency_score, frequency_monetary_score, days_since_last_order,
          revenue, latest_nps_category, has_open_complaint, has_complained, complaint_categories, has_returned,
          is_marketing_opt_in, previous_state_7, previous_segment_7, previous_state_28, previous_segment_28
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
        page.lifecycle_state,
        page.rfm_segment,
        page.risk_band,
        page.churn_risk,
        page.p_alive,
        page.expected_next_order_on,
        page.is_overdue,
        page.expected_orders_90d,
        page.expected_orders_365d,
        page.predicted_value_90d,
        page.predicted_clv_365d,
        page.value_if_active_365d,
        page.value_at_stake_365d,
        page.days_since_last_order,
        page.first_purchased_on,
        page.last_purchased_on,
        page.frequency,
        page.count_orders,
        page.revenue,
        page.latest_nps_category,
        page.has_open_complaint,
        page.has_complained,
        page.has_returned,
        page.is_marketing_opt_in,
        winback_reason_text(
            page.lifecycle_state, page.expected_next_order_on, page.expected_gap_days, page.first_purchased_on,
            page.last_purchased_on, page.p_alive, page.complaint_reason, page.feedback_reason,
            page.return_reason_text, page.value_reason
        ) as winback_reason,
        reasons_text(
            page.has_overdue_reason, page.frequency, page.days_since_last_order, page.typical_gap_days,
            page.median_typical_gap_days, page.complaint_reason, page.feedback_reason, page.return_reason_text,
            page.value_reason
        ) as reasons,
        page.last_comment_masked,
        total.total_matches
    from page
    cross join total
)

select * exclude (position)
from final
order by position
