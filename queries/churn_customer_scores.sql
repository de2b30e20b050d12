-- Grain: one row per customer with at least one valid order by the as-of date; creates the table
-- customer_scores of the as-of schema (built once per as-of by dashboard/churn.py, see docs/churn.md).
-- Reads churn_model_scores, the rows of churn_features.sql with the model's outputs (p_alive,
-- expected_orders_90d, churn_risk, expected_order_value, predicted_clv_365d) registered by dashboard/churn.py,
-- and adds RFM scores and segments, the risk band, the latest survey answers, open complaints and up to three
-- reasons in plain words. Segments come from rfm_segment_map (churn_rfm_segment_map.sql).
-- Params: $high_risk, $medium_risk, $overdue_gap_ratio, $slow_resolution_days, $falling_value_share
create table customer_scores as
with model_scores as (
    select * from churn_model_scores
),

as_of as (
    select as_of, timezone from model_info
),

profiles as (
    select customer_id, email, is_marketing_opt_in from customer_summary
),

customer_count as (
    select count(*) as customers from model_scores
),

-- RFM: score = 1 + floor(5 x share of the other customers with a strictly smaller value), capped at 5 (what
-- percent_rank gives, computed per distinct value instead of sorting every customer), so equal values always
-- get equal scores. Recency counts the customers whose last order is strictly older: the most recent score 5.
recency_values as (
    select
        days_since_last_order,
        sum(count(*)) over (order by days_since_last_order desc) - count(*) as customers_below
    from model_scores
    group by days_since_last_order
),

frequency_values as (
    select
        frequency,
        sum(count(*)) over (order by frequency) - count(*) as customers_below
    from model_scores
    group by frequency
),

monetary_values as (
    select
        revenue,
        sum(count(*)) over (order by revenue) - count(*) as customers_below
    from model_scores
    group by revenue
),

rfm_values as (
    select
        model_scores.customer_id,
        cast(coalesce(least(5, 1 + floor(5 * recency_values.customers_below
            / nullif(customer_count.customers - 1, 0))), 1) as integer) as recency_score,
        cast(coalesce(least(5, 1 + floor(5 * frequency_values.customers_below
            / nullif(customer_count.customers - 1, 0))), 1) as integer) as frequency_score,
        cast(coalesce(least(5, 1 + floor(5 * monetary_values.customers_below
            / nullif(customer_count.customers - 1, 0))), 1) as integer) as monetary_score
    from model_scores
    cross join customer_count
    inner join recency_values on recency_values.days_since_last_order = model_scores.days_since_last_order
    inner join frequency_values on frequency_values.frequency = model_scores.frequency
    inner join monetary_values on monetary_values.revenue = model_scores.revenue
),

-- FM combines frequency and spend: floor((F + M) / 2).
rfm_scores as (
    select
        *,
        cast(floor((frequency_score + monetary_score) / 2) as integer) as frequency_monetary_score
    from rfm_values
),

named_segments as (
    select rfm_scores.*, rfm_segment_map.rfm_segment
    from rfm_scores
    inner join rfm_segment_map
        on rfm_segment_map.recency_score = rfm_scores.recency_score
       and rfm_segment_map.frequency_monetary_score = rfm_scores.frequency_monetary_score
),

surveys_ranked as (
    select
        customer_id,
        kind,
        score,
        nps_category,
        cast(submitted_local as date) as submitted_on,
        row_number() over (partition by customer_id order by submitted_at desc, response_id) as recency_rank
    from valid_surveys
),

latest_surveys as (
    select * from surveys_ranked where recency_rank = 1
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

-- The comment is masked inside DuckDB (as in survey_comments.sql): e-mail addresses become '[email]' and phone
-- numbers (7+ digits, possibly separated) '[phone]'; the raw text never leaves the database.
comments_ranked as (
    select
        customer_id,
        submitted_at as last_comment_at,
        comment,
        row_number() over (partition by customer_id order by submitted_at desc, response_id) as recency_rank
    from valid_surveys
    where trim(comment) <> ''
),

last_comments as (
    select
        customer_id,
        last_comment_at,
        regexp_replace(
            regexp_replace(
                comment,
                '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}',
                '[email]',
                'g'
            ),
            '\+?\(?[0-9](?:[ .()-]*[0-9]){6,}',
            '[phone]',
            'g'
        ) as last_comment_masked
    from comments_ranked
    where recency_rank = 1
),

tickets_local as (
    select
        valid_tickets.customer_id,
        valid_tickets.category,
        valid_tickets.is_resolved,
        valid_tickets.resolution_days,
        valid_tickets.opened_at,
        valid_tickets.ticket_id,
        cast(timezone(as_of.timezone, valid_tickets.opened_at at time zone 'UTC') as date) as opened_on
    from valid_tickets
    cross join as_of
),

-- The complaint a reason names: the oldest ticket still open at the as-of date, else the slowest one opened on
-- or after the customer's last purchase day that took more than $slow_resolution_days to resolve.
complaints_ranked as (
    select
        tickets_local.*,
        row_number() over (
            partition by tickets_local.customer_id
            order by tickets_local.is_resolved, tickets_local.resolution_days desc, tickets_local.opened_at,
                tickets_local.ticket_id
        ) as complaint_rank
    from tickets_local
    inner join model_scores on model_scores.customer_id = tickets_local.customer_id
    where not tickets_local.is_resolved
       or (tickets_local.opened_on >= model_scores.last_purchased_on
           and tickets_local.resolution_days > $slow_resolution_days)
),

complaints as (
    select customer_id, category, is_resolved, resolution_days, opened_on
    from complaints_ranked
    where complaint_rank = 1
),

open_complaints as (
    select distinct customer_id from valid_tickets where not is_resolved
),

-- The latest return requested on or after the customer's last purchase day.
returns_ranked as (
    select
        valid_returns.customer_id,
        coalesce(nullif(trim(valid_returns.reason), ''), 'no reason given') as return_reason,
        cast(timezone(as_of.timezone, valid_returns.requested_at at time zone 'UTC') as date) as requested_on,
        row_number() over (
            partition by valid_returns.customer_id order by valid_returns.requested_at desc, valid_returns.return_id
        ) as recency_rank
    from valid_returns
    cross join as_of
    inner join model_scores on model_scores.customer_id = valid_returns.customer_id
    where cast(timezone(as_of.timezone, valid_returns.requested_at at time zone 'UTC') as date)
        >= model_scores.last_purchased_on
),

recent_returns as (
    select customer_id, return_reason, requested_on from returns_ranked where recency_rank = 1
),

repeat_gap as (
    select median(typical_gap_days) as median_typical_gap_days from model_scores
),

-- Each reason is null when it does not apply; dates as '12 Aug 2026', money as whole dollars.
reason_candidates as (
    select
        model_scores.customer_id,
        case
            when model_scores.frequency > 0
             and model_scores.days_since_last_order >= $overdue_gap_ratio * model_scores.typical_gap_days
                then 'no order for ' || cast(model_scores.days_since_last_order as varchar) || ' days, '
                    || case
                        when model_scores.days_since_last_order / model_scores.typical_gap_days >= 3
                            then cast(cast(round(model_scores.days_since_last_order / model_scores.typical_gap_days)
                                as integer) as varchar)
                        else cast(round(model_scores.days_since_last_order / model_scores.typical_gap_days, 1)
                            as varchar)
                    end
                    || 'x their usual gap of ' || cast(cast(round(model_scores.typical_gap_days) as integer)
                        as varchar) || ' days'
            when model_scores.frequency = 0
             and repeat_gap.median_typical_gap_days is not null
             and model_scores.days_since_last_order >= $overdue_gap_ratio * repeat_gap.median_typical_gap_days
                then 'only one order, ' || cast(model_scores.days_since_last_order as varchar)
                    || ' days ago (a repeat customer''s usual gap is '
                    || cast(cast(round(repeat_gap.median_typical_gap_days) as integer) as varchar) || ' days)'
        end as overdue_reason,
        case
            when complaints.customer_id is null then null
            when not complaints.is_resolved
                then 'complaint about ' || complaints.category || ' open for '
                    || cast(date_diff('day', complaints.opened_on, as_of.as_of) as varchar) || ' days'
            else 'complaint about ' || complaints.category || ' took '
                || cast(cast(round(complaints.resolution_days) as integer) as varchar) || ' days to resolve'
        end as complaint_reason,
        case
            when latest_surveys.submitted_on >= model_scores.last_purchased_on
             and ((latest_surveys.kind = 'nps' and latest_surveys.score <= 6)
                  or (latest_surveys.kind = 'csat' and latest_surveys.score <= 2))
                then 'gave ' || upper(latest_surveys.kind) || ' '
                    || cast(cast(latest_surveys.score as integer) as varchar)
                    || case when latest_surveys.kind = 'csat' then '/5' else '' end
                    || ' on ' || strftime(latest_surveys.submitted_on, '%-d %b %Y')
        end as feedback_reason,
        case
            when recent_returns.customer_id is not null
                then 'returned an order on ' || strftime(recent_returns.requested_on, '%-d %b %Y')
                    || ' (' || recent_returns.return_reason || ')'
        end as return_reason,
        case
            when model_scores.count_orders >= 2
             and model_scores.earlier_order_mean_value > 0
             and model_scores.last_order_value
                 <= (1 - $falling_value_share) * model_scores.earlier_order_mean_value
                then 'last order $' || cast(cast(round(model_scores.last_order_value) as bigint) as varchar) || ', '
                    || cast(cast(round(100 * (1 - model_scores.last_order_value
                        / model_scores.earlier_order_mean_value)) as integer) as varchar)
                    || '% below their average of $'
                    || cast(cast(round(model_scores.earlier_order_mean_value) as bigint) as varchar)
        end as value_reason
    from model_scores
    cross join as_of
    cross join repeat_gap
    left join complaints on complaints.customer_id = model_scores.customer_id
    left join latest_surveys on latest_surveys.customer_id = model_scores.customer_id
    left join recent_returns on recent_returns.customer_id = model_scores.customer_id
),

-- Keep the first three reasons that apply, in the order above (the most telling first).
reasons as (
    select
        customer_id,
        concat_ws(
            '; ',
            overdue_reason,
            complaint_reason,
            case when (case when overdue_reason is null then 0 else 1 end
                       + case when complaint_reason is null then 0 else 1 end) < 3 then feedback_reason end,
            case when (case when overdue_reason is null then 0 else 1 end
                       + case when complaint_reason is null then 0 else 1 end
                       + case when feedback_reason is null then 0 else 1 end) < 3 then return_reason end,
            case when (case when overdue_reason is null then 0 else 1 end
                       + case when complaint_reason is null then 0 else 1 end
                       + case when feedback_reason is null then 0 else 1 end
                       + case when return_reason is null then 0 else 1 end) < 3 then value_reason end
        ) as reasons
    from reason_candidates
),

final as (
    select
        model_scores.customer_id,
        profiles.email,
        coalesce(profiles.is_marketing_opt_in, false) as is_marketing_opt_in,
        model_scores.first_purchased_on,
        model_scores.last_purchased_on,
        model_scores.frequency,
        model_scores.recency_days,
        model_scores.t_days,
        model_scores.days_since_last_order,
        model_scores.typical_gap_days,
        model_scores.monetary,
        model_scores.count_orders,
        model_scores.revenue,
        model_scores.last_order_value,
        model_scores.p_alive,
        model_scores.expected_orders_90d,
        model_scores.churn_risk,
        case
            when model_scores.churn_risk >= $high_risk then 'high'
            when model_scores.churn_risk >= $medium_risk then 'medium'
            else 'low'
        end as risk_band,
        model_scores.expected_order_value,
        model_scores.predicted_clv_365d,
        named_segments.recency_score,
        named_segments.frequency_score,
        named_segments.monetary_score,
        named_segments.frequency_monetary_score,
        named_segments.rfm_segment,
        latest_nps.latest_nps_score,
        coalesce(latest_nps.latest_nps_category, 'none') as latest_nps_category,
        open_complaints.customer_id is not null as has_open_complaint,
        last_comments.last_comment_at,
        last_comments.last_comment_masked,
        nullif(reasons.reasons, '') as reasons
    from model_scores
    inner join named_segments on named_segments.customer_id = model_scores.customer_id
    inner join reasons on reasons.customer_id = model_scores.customer_id
    left join profiles on profiles.customer_id = model_scores.customer_id
    left join latest_nps on latest_nps.customer_id = model_scores.customer_id
    left join open_complaints on open_complaints.customer_id = model_scores.customer_id
    left join last_comments on last_comments.customer_id = model_scores.customer_id
)

select * from final
