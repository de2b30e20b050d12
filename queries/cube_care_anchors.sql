-- Grain: one row per anchor order: a valid order of customer_summary's customers placed at least 90 days before
-- the cutoff (ordered_at + 90 days <= cutoff_at). is_repurchased: the customer's next valid order (order_seq + 1)
-- came at most 90 days after it. anchor_day is the order's local calendar day. The order-anchored 90-day
-- repurchase of docs/metrics.md ("Repurchase rate by post-purchase care"), written once: the care cube and the
-- "why customers leave" cubes read it.
-- Params: none
-- Reads: customer_summary, model_info, valid_orders
-- Creates: cube_care_anchors
create table cube_care_anchors as
with segment_orders as (
    select
        valid_orders.order_id,
        valid_orders.customer_id,
        valid_orders.ordered_at,
        valid_orders.ordered_local,
        valid_orders.order_seq,
        customer_summary.seg_key
    from valid_orders
    inner join customer_summary on customer_summary.customer_id = valid_orders.customer_id
)

select
    segment_orders.order_id,
    segment_orders.customer_id,
    segment_orders.seg_key,
    segment_orders.ordered_at,
    cast(segment_orders.ordered_local as date) as anchor_day,
    coalesce(next_orders.ordered_at <= segment_orders.ordered_at + interval 90 day, false) as is_repurchased
from segment_orders
cross join model_info
left join segment_orders as next_orders
    on next_orders.customer_id = segment_orders.customer_id
    and next_orders.order_seq = segment_orders.order_seq + 1
where segment_orders.ordered_at + interval 90 day <= model_info.cutoff_at
