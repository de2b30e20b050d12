-- Grain: one row per customer of customer_scores (built once per as-of by dashboard/churn.py and never changed
-- afterwards) with the columns the win-back rules test, winback_summary.sql sums and winback_segment.sql shows,
-- stored in the list's order: position = rank by lifetime revenue descending, then customer_id.
-- A page of matches is the first rows by position (DuckDB stops reading once the page is full, and reads the
-- shown columns of the matching rows only), so a page costs the same however many customers there are; the
-- day and revenue bounds are tested row by row (revenue bounds skip row groups, the rows being sorted by
-- revenue). seg_key as in cube_churn_winback_groups.
-- Params: none
-- Reads: customer_scores, customer_summary
-- Creates: cube_churn_winback_rows
create table cube_churn_winback_rows as
select
    row_number() over (order by customer_scores.revenue desc, customer_scores.customer_id) as position,
    coalesce(customer_summary.seg_key, -1) as seg_key,
    customer_scores.risk_band,
    customer_scores.rfm_segment,
    customer_scores.days_since_last_order,
    customer_scores.revenue,
    customer_scores.latest_nps_category,
    customer_scores.has_open_complaint,
    customer_scores.is_marketing_opt_in,
    customer_scores.predicted_clv_365d,
    customer_scores.expected_orders_90d,
    customer_scores.churn_risk,
    customer_scores.customer_id,
    customer_scores.email,
    customer_scores.p_alive,
    customer_scores.frequency,
    customer_scores.reasons,
    customer_scores.last_comment_masked
from customer_scores
left join customer_summary on customer_summary.customer_id = customer_scores.customer_id
order by position
