-- Grain: one row per customer x days_back (7, 28) who had a valid order by the date days_back before the as-of
-- date: their lifecycle state then (under today's fit, dashboard/churn.py build_customer_movements) and their
-- RFM segment then (customer_rfm among that date's customers); creates the table customer_movements. Reads the
-- frame movement_features (snapshot = days_back, customer_id, days_since_last_order, frequency, revenue,
-- lifecycle_state) registered by dashboard/churn.py.
-- Params: none
-- Reads: customer_rfm(), movement_features
-- Creates: customer_movements
create table customer_movements as
with earlier as (
    select snapshot, customer_id, lifecycle_state from movement_features
),

earlier_rfm as (
    select snapshot, customer_id, rfm_segment from customer_rfm('movement_features')
),

final as (
    select
        cast(earlier.snapshot as integer) as days_back,
        earlier.customer_id,
        earlier.lifecycle_state as previous_lifecycle_state,
        earlier_rfm.rfm_segment as previous_rfm_segment
    from earlier
    inner join earlier_rfm on earlier_rfm.snapshot = earlier.snapshot and earlier_rfm.customer_id = earlier.customer_id
)

select * from final
order by days_back, customer_id
