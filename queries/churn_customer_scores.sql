-- Grain: one row per customer with at least one valid order by the as-of date (unordered); creates the table
-- customer_scores of the as-of schema (built once per as-of by dashboard/churn.py, see docs/churn.md).
-- Reads churn_model_scores, the rows of churn_features.sql with the model's outputs (churn.PREDICTION_COLUMNS:
-- p_alive, expected orders and value, value at stake, expected next order date, lifecycle_state, ...) registered
-- by dashboard/churn.py, and adds RFM scores and segments (from rfm_segment_map, churn_rfm_segment_map.sql), the
-- risk band, the e-mail address and marketing opt-in (the customers export's row, when there is one), the latest
-- survey answers, open complaints, complaint history (categories), returns, the last comment (masked) and what
-- the reasons in plain words are made of (reasons_text() and winback_reason_text(), churn_winback_macro.sql).
-- churn_model_scores is read by name wherever it is needed, not through a CTE: DuckDB materializes a CTE that is
-- read more than once, a copy of 3.9M rows x 30 columns at 10M orders (7 s of CPU in the plan).
-- Params: $high_risk, $medium_risk, $overdue_gap_ratio, $slow_resolution_days, $falling_value_share
-- Reads: churn_model_scores, clean_customers, customer_rfm(), model_info, valid_returns, valid_surveys, valid_tickets
-- Creates: customer_scores
create table customer_scores as
with as_of as (
    select as_of, timezone from model_info
),

-- RFM scores and segment: the macro customer_rfm (churn_rfm_macro.sql), one definition for every date.
rfm as (
    select * from customer_rfm('churn_model_scores')
),

surveys_ranked as (
    select
        customer_id,
        kind,
        score,
        cast(submitted_local as date) as submitted_on,
        row_number() over (partition by customer_id order by submitted_at desc, response_id) as recency_rank
    from valid_surveys
),

latest_surveys as (
    select customer_id, kind, score, submitted_on from surveys_ranked where recency_rank = 1
),

nps_ranked as (
    select
        customer_id,
        score,
        nps_category,
        row_number() over (partition by customer_id order by submitted_at desc, response_id) as recency_rank
    from valid_surveys
    where kind = 'nps'
),

latest_nps as (
    select customer_id, score as latest_nps_score, nps_category as latest_nps_category
    from nps_ranked
    where recency_rank = 1
),

comments_ranked as (
    select
        customer_id,
        submitted_at,
        comment_masked,
        row_number() over (partition by customer_id order by submitted_at desc, response_id) as recency_rank
    from valid_surveys
    where trim(comment_masked) <> ''
),

-- The latest comment, masked by the model (valid_surveys.comment_masked): the raw text never leaves DuckDB.
last_comments as (
    select
        customer_id,
        submitted_at as last_comment_at,
        comment_masked as last_comment_masked
    from comments_ranked
    where recency_rank = 1
),

tickets_local as (
    select
        valid_tickets.*,
        cast(timezone(as_of.timezone, valid_tickets.opened_at at time zone 'UTC') as date) as opened_on
    from valid_tickets
    cross join as_of
),

-- The complaint a reason names: the oldest ticket still open at the as-of date, else the slowest one opened on
-- or after the customer's last purchase day that took more than $slow_resolution_days to resolve.
complaints_ranked as (
    select
        tickets_local.customer_id,
        tickets_local.category,
        tickets_local.is_resolved,
        tickets_local.resolution_days,
        tickets_local.opened_on,
        row_number() over (
            partition by tickets_local.customer_id
            order by tickets_local.is_resolved, tickets_local.resolution_days desc, tickets_local.opened_at,
                tickets_local.ticket_id
        ) as complaint_rank
    from tickets_local
    inner join churn_model_scores as model_scores on model_scores.customer_id = tickets_local.customer_id
    where not tickets_local.is_resolved
       or (tickets_local.opened_on >= model_scores.last_purchased_on
           and tickets_local.resolution_days > $slow_resolution_days)
),

complaints as (
    select
        customer_id,
        category as complaint_category,
        is_resolved as is_complaint_resolved,
        resolution_days as complaint_resolution_days,
        opened_on as complaint_opened_on
    from complaints_ranked
    where complaint_rank = 1
),

-- Every complaint category a customer ever opened a ticket about (sorted, for the builder's category rule).
complaint_history as (
    select customer_id, list_sort(list(distinct category)) as complaint_categories
    from valid_tickets
    group by customer_id
),

returned_customers as (
    select customer_id, true as has_returned
    from valid_returns
    group by customer_id
),

open_complaints as (
    select customer_id, true as has_open_complaint
    from valid_tickets
    where not is_resolved
    group by customer_id
),

-- The latest return requested on or after the customer's last purchase day.
returns_local as (
    select
        valid_returns.*,
        cast(timezone(as_of.timezone, valid_returns.requested_at at time zone 'UTC') as date) as requested_on
    from valid_returns
    cross join as_of
),

returns_ranked as (
    select
        returns_local.customer_id,
        coalesce(nullif(trim(returns_local.reason), ''), 'no reason given') as return_reason,
        returns_local.requested_on,
        row_number() over (
            partition by returns_local.customer_id order by returns_local.requested_at desc, returns_local.return_id
        ) as recency_rank
    from returns_local
    inner join churn_model_scores as model_scores on model_scores.customer_id = returns_local.customer_id
    where returns_local.requested_on >= model_scores.last_purchased_on
),

recent_returns as (
    select customer_id, return_reason, requested_on as return_requested_on from returns_ranked where recency_rank = 1
),

repeat_gap as (
    select median(typical_gap_days) as median_typical_gap_days from churn_model_scores
),

-- Everything about a customer on one row: a single pass of joins, the customer-level tables all small or keyed
-- by customer_id.
customers as (
    select
        model_scores.*,
        profiles.email,
        coalesce(profiles.marketing_opt_in, false) as is_marketing_opt_in,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        rfm.frequency_monetary_score,
        rfm.rfm_segment,
        latest_surveys.kind as latest_survey_kind,
        latest_surveys.score as latest_survey_score,
        latest_surveys.submitted_on as latest_survey_on,
        latest_nps.latest_nps_score,
        coalesce(latest_nps.latest_nps_category, 'none') as latest_nps_category,
        coalesce(open_complaints.has_open_complaint, false) as has_open_complaint,
        complaint_history.complaint_categories,
        complaint_history.customer_id is not null as has_complained,
        coalesce(returned_customers.has_returned, false) as has_returned,
        complaints.complaint_category,
        complaints.is_complaint_resolved,
        complaints.complaint_resolution_days,
        complaints.complaint_opened_on,
        recent_returns.return_reason,
        recent_returns.return_requested_on,
        last_comments.last_comment_at,
        last_comments.last_comment_masked,
        repeat_gap.median_typical_gap_days,
        as_of.as_of
    from churn_model_scores as model_scores
    cross join repeat_gap
    cross join as_of
    inner join rfm on rfm.customer_id = model_scores.customer_id
    left join main.clean_customers as profiles on profiles.customer_id = model_scores.customer_id
    left join latest_surveys on latest_surveys.customer_id = model_scores.customer_id
    left join latest_nps on latest_nps.customer_id = model_scores.customer_id
    left join open_complaints on open_complaints.customer_id = model_scores.customer_id
    left join complaint_history on complaint_history.customer_id = model_scores.customer_id
    left join returned_customers on returned_customers.customer_id = model_scores.customer_id
    left join complaints on complaints.customer_id = model_scores.customer_id
    left join recent_returns on recent_returns.customer_id = model_scores.customer_id
    left join last_comments on last_comments.customer_id = model_scores.customer_id
),

-- Each reason is null when it does not apply; dates as '12 Aug 2026', money as whole dollars. The overdue reason,
-- which applies to most customers, is stored as a flag (has_overdue_reason); its words are made when read.
reason_candidates as (
    select
        customers.*,
        coalesce(frequency > 0 and days_since_last_order >= $overdue_gap_ratio * typical_gap_days, false)
            or coalesce(frequency = 0 and days_since_last_order >= $overdue_gap_ratio * median_typical_gap_days, false)
            as has_overdue_reason,
        case
            when complaint_category is null then null
            when not is_complaint_resolved
                then 'complaint about ' || complaint_category || ' open for '
                    || cast(date_diff('day', complaint_opened_on, as_of) as varchar) || ' days'
            else 'complaint about ' || complaint_category || ' took '
                || cast(cast(round(complaint_resolution_days) as integer) as varchar) || ' days to resolve'
        end as complaint_reason,
        case
            when latest_survey_on >= last_purchased_on
             and ((latest_survey_kind = 'nps' and latest_survey_score <= 6)
                  or (latest_survey_kind = 'csat' and latest_survey_score <= 2))
                then 'gave ' || upper(latest_survey_kind) || ' '
                    || cast(cast(latest_survey_score as integer) as varchar)
                    || case when latest_survey_kind = 'csat' then '/5' else '' end
                    || ' on ' || strftime(latest_survey_on, '%-d %b %Y')
        end as feedback_reason,
        case
            when return_requested_on is not null
                then 'returned an order on ' || strftime(return_requested_on, '%-d %b %Y')
                    || ' (' || return_reason || ')'
        end as return_reason_text,
        case
            when count_orders >= 2
             and earlier_order_mean_value > 0
             and last_order_value <= (1 - $falling_value_share) * earlier_order_mean_value
                then 'last order $' || cast(cast(round(last_order_value) as bigint) as varchar) || ', '
                    || cast(cast(round(100 * (1 - last_order_value / earlier_order_mean_value)) as integer)
                        as varchar)
                    || '% below their average of $'
                    || cast(cast(round(earlier_order_mean_value) as bigint) as varchar)
        end as value_reason
    from customers
),

-- The reasons in words (reasons, winback_reason) are put together where they are read, for the rows read
-- (churn_winback_macro.sql): stored for every customer, the two texts were 540 MB of strings at 3.9M customers.
final as (
    select
        customer_id,
        email,
        is_marketing_opt_in,
        first_purchased_on,
        last_purchased_on,
        frequency,
        recency_days,
        t_days,
        days_since_last_order,
        typical_gap_days,
        monetary,
        count_orders,
        revenue,
        last_order_value,
        p_alive,
        p_alive_after_last_order,
        expected_orders_90d,
        expected_orders_365d,
        churn_risk,
        case
            when churn_risk >= $high_risk then 'high'
            when churn_risk >= $medium_risk then 'medium'
            else 'low'
        end as risk_band,
        expected_order_value,
        predicted_value_90d,
        predicted_clv_365d,
        value_if_active_365d,
        value_at_stake_365d,
        expected_gap_days,
        cast(expected_next_order_on as date) as expected_next_order_on,
        is_overdue,
        lifecycle_state,
        recency_score,
        frequency_score,
        monetary_score,
        frequency_monetary_score,
        rfm_segment,
        latest_nps_score,
        latest_nps_category,
        has_open_complaint,
        has_complained,
        complaint_categories,
        has_returned,
        last_comment_at,
        last_comment_masked,
        -- The reason texts are made where they are read (reasons_text, winback_reason_text in
        -- churn_winback_macro.sql), from these columns: the overdue reason's flag and numbers, the rarer reasons
        -- already in words (null when they do not apply).
        has_overdue_reason,
        median_typical_gap_days,
        complaint_reason,
        feedback_reason,
        return_reason_text,
        value_reason
    from reason_candidates
)

select * from final
