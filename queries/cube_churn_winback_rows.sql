-- Grain: one row per customer of customer_scores (built once per as-of by dashboard/churn.py and never changed
-- afterwards) with the columns the win-back rules test, winback_summary.sql sums and winback_segment.sql shows,
-- stored in the list's order: position = rank by value at stake (the part of the next 365 days' value expected
-- to be lost) descending, then lifetime revenue descending, then customer_id (without a model, value at stake is
-- null and the list is by lifetime revenue).
-- A page of matches is the first rows by position (DuckDB stops reading once the page is full, and reads the
-- shown columns of the matching rows only), so a page costs the same however many customers there are; the
-- day and revenue bounds, RFM scores, complaint categories and where the customer was 7 and 28 days earlier
-- (customer_movements, 'none' without an order by then) are tested row by row. seg_key as in
-- cube_churn_winback_groups.
-- Params: none
-- Reads: customer_movements, customer_scores, customer_summary
-- Creates: cube_churn_winback_rows
create table cube_churn_winback_rows as
with ranked as (
    -- The positions from the three sort keys and the id alone: the window sorts these narrow rows, not every
    -- column (at 39M scored customers the wide rows sorted twice spilled about 19 GB, this 12 GB).
    select
        customer_id,
        row_number() over (
            order by value_at_stake_365d desc nulls last, revenue desc, customer_id
        ) as position
    from customer_scores
)

select
    ranked.position,
    coalesce(customer_summary.seg_key, -1) as seg_key,
    customer_scores.lifecycle_state,
    customer_scores.risk_band,
    customer_scores.rfm_segment,
    customer_scores.recency_score,
    customer_scores.frequency_monetary_score,
    customer_scores.days_since_last_order,
    customer_scores.revenue,
    customer_scores.latest_nps_category,
    customer_scores.has_open_complaint,
    customer_scores.has_complained,
    customer_scores.complaint_categories,
    customer_scores.has_returned,
    customer_scores.is_marketing_opt_in,
    customer_scores.predicted_clv_365d,
    customer_scores.value_if_active_365d,
    customer_scores.value_at_stake_365d,
    customer_scores.expected_orders_90d,
    customer_scores.churn_risk,
    customer_scores.customer_id,
    customer_scores.email,
    customer_scores.p_alive,
    customer_scores.expected_orders_365d,
    customer_scores.predicted_value_90d,
    customer_scores.expected_next_order_on,
    customer_scores.is_overdue,
    customer_scores.frequency,
    customer_scores.count_orders,
    customer_scores.first_purchased_on,
    customer_scores.last_purchased_on,
    -- what winback_segment.sql puts the reasons' words together from (churn_winback_macro.sql)
    customer_scores.has_overdue_reason,
    customer_scores.typical_gap_days,
    customer_scores.median_typical_gap_days,
    customer_scores.expected_gap_days,
    customer_scores.complaint_reason,
    customer_scores.feedback_reason,
    customer_scores.return_reason_text,
    customer_scores.value_reason,
    customer_scores.last_comment_masked,
    coalesce(week_ago.previous_lifecycle_state, 'none') as previous_state_7,
    coalesce(week_ago.previous_rfm_segment, 'none') as previous_segment_7,
    coalesce(four_weeks_ago.previous_lifecycle_state, 'none') as previous_state_28,
    coalesce(four_weeks_ago.previous_rfm_segment, 'none') as previous_segment_28
from ranked
inner join customer_scores on customer_scores.customer_id = ranked.customer_id
left join customer_summary on customer_summary.customer_id = customer_scores.customer_id
left join customer_movements as week_ago
    on week_ago.customer_id = customer_scores.customer_id and week_ago.days_back = 7
left join customer_movements as four_weeks_ago
    on four_weeks_ago.customer_id = customer_scores.customer_id and four_weeks_ago.days_back = 28
order by ranked.position
