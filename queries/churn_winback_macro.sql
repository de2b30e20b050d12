-- Grain: macros, created with customer_scores so winback_segment.sql and winback_summary.sql share one
-- definition of the win-back rules, and churn_scores.sql and winback_segment.sql one wording of the reasons.
-- winback_rules_match(rules..., the row's values...): true when a customer (or a group of customers sharing
-- the values) matches the rules. Every rule argument null means "any"; lists match any of their values (an
-- empty list matches nobody): states (lifecycle states: 'active', 'slipping', 'new', 'one_time', 'lapsed'),
-- bands ('high', 'medium', 'low'), segments (RFM segment names), r_scores and fm_scores (RFM scores 1-5: an RFM
-- cell), nps ('promoter', 'passive', 'detractor', 'none' = no NPS answer), complaint_categories (any ticket
-- ever opened in one of them); days since the last order and lifetime revenue between inclusive bounds;
-- open_complaint, complained (any ticket ever), returned (any return ever) and opt_in true or false;
-- moved_days (7 or 28) with previous_states and previous_segments: where the customer was that many days before
-- the as-of date ('none': no order yet; customer_movements), matched against the row's value for that period.
-- The win-back queries apply it to the aggregates cube_churn_winback_groups and cube_churn_winback_rows.
-- Params: none
-- Reads: none
-- Creates: overdue_reason_text(), reasons_text(), winback_reason_text(), winback_rules_match()
create macro winback_rules_match(
    states, bands, segments, r_scores, fm_scores, min_days, max_days, min_value, max_value, nps, open_complaint,
    complained, complaint_categories, returned, opt_in, moved_days, previous_states, previous_segments,
    row_lifecycle_state, row_risk_band, row_rfm_segment, row_recency_score, row_fm_score,
    row_days_since_last_order, row_revenue, row_nps_category, row_has_open_complaint, row_has_complained,
    row_complaint_categories, row_has_returned, row_is_marketing_opt_in, row_previous_state_7,
    row_previous_segment_7, row_previous_state_28, row_previous_segment_28
) as (
    (states is null or list_contains(states, row_lifecycle_state))
    and (bands is null or list_contains(bands, row_risk_band))
    and (segments is null or list_contains(segments, row_rfm_segment))
    and (r_scores is null or list_contains(r_scores, row_recency_score))
    and (fm_scores is null or list_contains(fm_scores, row_fm_score))
    and (min_days is null or row_days_since_last_order >= min_days)
    and (max_days is null or row_days_since_last_order <= max_days)
    and (min_value is null or row_revenue >= min_value)
    and (max_value is null or row_revenue <= max_value)
    and (nps is null or list_contains(nps, row_nps_category))
    and (open_complaint is null or row_has_open_complaint = open_complaint)
    and (complained is null or row_has_complained = complained)
    and (complaint_categories is null or coalesce(list_has_any(row_complaint_categories, complaint_categories), false))
    and (returned is null or row_has_returned = returned)
    and (opt_in is null or row_is_marketing_opt_in = opt_in)
    and (previous_states is null or list_contains(previous_states,
        case when coalesce(moved_days, 7) = 7 then row_previous_state_7 else row_previous_state_28 end))
    and (previous_segments is null or list_contains(previous_segments,
        case when coalesce(moved_days, 7) = 7 then row_previous_segment_7 else row_previous_segment_28 end))
);

-- The reasons a customer may be lost, in plain words, made from customer_scores' columns for the rows a query
-- returns (churn_customer_scores.sql stores what they are made of; docs/churn.md, "Reasons"). Dates as
-- '12 Aug 2026'.
-- overdue_reason_text: when has_overdue_reason (churn_customer_scores.sql decides it), how overdue in days and
-- in multiples of the customer's usual gap (a repeat customer) or of repeat customers' median usual gap (one
-- order); else null.
create macro overdue_reason_text(
    row_has_overdue_reason, row_frequency, row_days_since_last_order, row_typical_gap_days,
    row_median_typical_gap_days
) as (
    case
        when not row_has_overdue_reason then null
        when row_frequency > 0
            then 'no order for ' || cast(row_days_since_last_order as varchar) || ' days, '
                || case
                    when row_days_since_last_order / row_typical_gap_days >= 3
                        then cast(cast(round(row_days_since_last_order / row_typical_gap_days) as integer) as varchar)
                    else cast(round(row_days_since_last_order / row_typical_gap_days, 1) as varchar)
                end
                || 'x their usual gap of ' || cast(cast(round(row_typical_gap_days) as integer) as varchar)
                || ' days'
        else 'only one order, ' || cast(row_days_since_last_order as varchar)
            || ' days ago (a repeat customer''s usual gap is '
            || cast(cast(round(row_median_typical_gap_days) as integer) as varchar) || ' days)'
    end
);

-- reasons_text: the first three reasons that apply, in this order (the most telling first): overdue, complaint,
-- feedback, return, falling order value; overdue, complaint and feedback can never be crowded out, a return only
-- by three before it, falling value by three before it. Null when none applies.
create macro reasons_text(
    row_has_overdue_reason, row_frequency, row_days_since_last_order, row_typical_gap_days,
    row_median_typical_gap_days, row_complaint_reason, row_feedback_reason, row_return_reason_text,
    row_value_reason
) as (
    nullif(concat_ws(
        '; ',
        overdue_reason_text(row_has_overdue_reason, row_frequency, row_days_since_last_order, row_typical_gap_days,
            row_median_typical_gap_days),
        row_complaint_reason,
        row_feedback_reason,
        case
            when (case when row_has_overdue_reason then 1 else 0 end
                  + case when row_complaint_reason is null then 0 else 1 end
                  + case when row_feedback_reason is null then 0 else 1 end) < 3
                then row_return_reason_text
        end,
        case
            when (case when row_has_overdue_reason then 1 else 0 end
                  + case when row_complaint_reason is null then 0 else 1 end
                  + case when row_feedback_reason is null then 0 else 1 end
                  + case when row_return_reason_text is null then 0 else 1 end) < 3
                then row_value_reason
        end
    ), '')
);

-- winback_reason_text, for the campaign list: the lifecycle state in words (never empty), then the complaint,
-- feedback, return and order-value reasons that apply (the state already says how overdue they are).
create macro winback_reason_text(
    row_lifecycle_state, row_expected_next_order_on, row_expected_gap_days, row_first_purchased_on,
    row_last_purchased_on, row_p_alive, row_complaint_reason, row_feedback_reason, row_return_reason_text,
    row_value_reason
) as (
    concat_ws(
        '; ',
        case row_lifecycle_state
            when 'active' then 'ordering as expected: next order due by '
                || strftime(cast(row_expected_next_order_on as date), '%-d %b %Y')
            when 'slipping' then 'slipping: an order was due by '
                || strftime(cast(row_expected_next_order_on as date), '%-d %b %Y') || ' (about every '
                || cast(cast(greatest(1, round(row_expected_gap_days)) as integer) as varchar) || ' days), none since '
                || strftime(row_last_purchased_on, '%-d %b %Y')
            when 'new' then 'new: first order on ' || strftime(row_first_purchased_on, '%-d %b %Y')
                || ', a second is expected by ' || strftime(cast(row_expected_next_order_on as date), '%-d %b %Y')
            when 'one_time' then 'one order, on ' || strftime(row_first_purchased_on, '%-d %b %Y')
                || '; a second was expected by ' || strftime(cast(row_expected_next_order_on as date), '%-d %b %Y')
            else 'lapsed: last order on ' || strftime(row_last_purchased_on, '%-d %b %Y') || ', '
                || case
                    when row_p_alive < 0.005 then 'under 1%'
                    else cast(cast(round(100 * row_p_alive) as integer) as varchar) || '%'
                end || ' chance still a customer'
        end,
        row_complaint_reason,
        row_feedback_reason,
        row_return_reason_text,
        row_value_reason
    )
);
