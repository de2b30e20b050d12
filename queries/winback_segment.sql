-- Grain: one row per customer matching the win-back rules and the segment (see churn_winback_macro.sql),
-- highest lifetime revenue (the revenue at stake) first, ties by customer_id; one page of $limit rows from row
-- $offset (null = all rows, from the first). total_matches = customers matching (all pages).
-- email is masked to its first character and domain ('j***@example.com') unless $show_pii; the comment was
-- masked when customer_scores was built (churn_customer_scores.sql).
-- Params: $risk_bands, $rfm_segments, $min_days_since_last_order, $max_days_since_last_order, $min_revenue, $max_revenue, $nps_categories, $has_open_complaint, $is_marketing_opt_in, $channels, $regions, $categories, $tiers, $show_pii, $limit, $offset
with matches as (
    select *
    from winback_customers(
        $risk_bands, $rfm_segments, $min_days_since_last_order, $max_days_since_last_order, $min_revenue,
        $max_revenue, $nps_categories, $has_open_complaint, $is_marketing_opt_in,
        $channels, $regions, $categories, $tiers
    )
),

final as (
    select
        customer_id,
        case
            when $show_pii then email
            when instr(email, '@') > 1 then left(email, 1) || '***' || substr(email, instr(email, '@'))
        end as email,
        rfm_segment,
        risk_band,
        churn_risk,
        p_alive,
        days_since_last_order,
        frequency,
        revenue,
        predicted_clv_365d,
        latest_nps_category,
        has_open_complaint,
        is_marketing_opt_in,
        reasons,
        last_comment_masked,
        count(*) over () as total_matches
    from matches
)

select *
from final
order by revenue desc, customer_id
limit $limit
offset $offset
