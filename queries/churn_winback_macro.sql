-- Grain: macros, created with customer_scores so winback_segment.sql and winback_summary.sql share one
-- definition of the win-back rules.
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
-- Creates: winback_rules_match()
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
