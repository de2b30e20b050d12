-- Grain: a table macro, created with customer_scores: customer_rfm(source), one row per row of the table named
-- source (snapshot, customer_id, days_since_last_order, frequency, revenue): its RFM scores and segment among the
-- customers of the same snapshot (docs/churn.md, "RFM scores and segments"). One definition for the scores of the
-- as-of date (churn_customer_scores.sql: snapshot 0) and of the earlier dates the movement compares with
-- (churn_movements_store.sql: snapshot = days before the as-of date).
-- Score = 1 + floor(5 x share of the other customers with a strictly smaller value), capped at 5 (what
-- percent_rank gives, computed once per distinct value instead of sorting every customer), so equal values always
-- get equal scores. Recency counts the customers whose last order is strictly older: the most recent score 5.
-- FM = floor((F + M) / 2); the segment is looked up from R and FM in rfm_segment_map.
-- Params: none
-- Reads: rfm_segment_map
-- Creates: customer_rfm()
create macro customer_rfm(source) as table
with base as (
    select snapshot, customer_id, days_since_last_order, frequency, revenue from query_table(source)
),

customer_count as (
    select snapshot, count(*) as customers from base group by snapshot
),

recency_values as (
    select
        snapshot,
        days_since_last_order,
        sum(count(*)) over (partition by snapshot order by days_since_last_order desc) - count(*) as customers_below
    from base
    group by snapshot, days_since_last_order
),

frequency_values as (
    select
        snapshot,
        frequency,
        sum(count(*)) over (partition by snapshot order by frequency) - count(*) as customers_below
    from base
    group by snapshot, frequency
),

monetary_values as (
    select
        snapshot,
        revenue,
        sum(count(*)) over (partition by snapshot order by revenue) - count(*) as customers_below
    from base
    group by snapshot, revenue
),

scored as (
    select
        base.snapshot,
        base.customer_id,
        cast(coalesce(least(5, 1 + floor(5 * recency_values.customers_below
            / nullif(customer_count.customers - 1, 0))), 1) as integer) as recency_score,
        cast(coalesce(least(5, 1 + floor(5 * frequency_values.customers_below
            / nullif(customer_count.customers - 1, 0))), 1) as integer) as frequency_score,
        cast(coalesce(least(5, 1 + floor(5 * monetary_values.customers_below
            / nullif(customer_count.customers - 1, 0))), 1) as integer) as monetary_score
    from base
    inner join customer_count on customer_count.snapshot = base.snapshot
    inner join recency_values
        on recency_values.snapshot = base.snapshot
       and recency_values.days_since_last_order = base.days_since_last_order
    inner join frequency_values
        on frequency_values.snapshot = base.snapshot and frequency_values.frequency = base.frequency
    inner join monetary_values
        on monetary_values.snapshot = base.snapshot and monetary_values.revenue = base.revenue
),

with_fm as (
    select
        scored.*,
        cast(floor((scored.frequency_score + scored.monetary_score) / 2) as integer) as frequency_monetary_score
    from scored
)

select with_fm.*, rfm_segment_map.rfm_segment
from with_fm
inner join rfm_segment_map
    on rfm_segment_map.recency_score = with_fm.recency_score
   and rfm_segment_map.frequency_monetary_score = with_fm.frequency_monetary_score;
