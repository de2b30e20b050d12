-- Grain: one row per care_dimension x care_group (every group listed, 0 anchors when empty).
-- Anchor = a valid order placed at least 90 days before the cutoff (ordered_at + 90 days <= cutoff_at);
-- it is repurchased when the customer's next valid order (order_seq + 1) came at most 90 days after it.
-- Each anchor is classified by the care around it, as of the cutoff:
--   ticket: no ticket / resolved (all its tickets resolved) / unresolved (any ticket still open);
--   resolution_time: orders whose first ticket is resolved, by that ticket's resolution time
--     (< 1 day, 1-3 days, 3-7 days, > 7 days: lower bound included, upper excluded, 7+ days in the last);
--   return: returned / not returned;
--   survey: surveyed / not surveyed;
--   silent_unhappy: orders with an NPS detractor response with / without a ticket, and orders whose
--     NPS responses are all promoter or passive.
-- Tickets, returns and responses belong to an order by order_id; a ticket without order_id belongs to the
-- customer's latest valid order at or before its opening, a response without order_id to every order of
-- the customer it was submitted within 30 days after.
-- ci_low, ci_high: 95% Wilson score interval of repurchase_rate_90d (null when there are no anchors).
-- Reads cube_care_order_groups (every anchor order classified once, counted per seg_key x group): the
-- segment filter keeps its seg_keys' rows and sums them; rates and intervals come after the sums.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_care_order_groups, segment_keys()
with care_groups as (
    select *
    from (
        values
            (1, 'ticket', 'no ticket', 1),
            (1, 'ticket', 'resolved', 2),
            (1, 'ticket', 'unresolved', 3),
            (2, 'resolution_time', '< 1 day', 1),
            (2, 'resolution_time', '1-3 days', 2),
            (2, 'resolution_time', '3-7 days', 3),
            (2, 'resolution_time', '> 7 days', 4),
            (3, 'return', 'returned', 1),
            (3, 'return', 'not returned', 2),
            (4, 'survey', 'surveyed', 1),
            (4, 'survey', 'not surveyed', 2),
            (5, 'silent_unhappy', 'detractor, no ticket', 1),
            (5, 'silent_unhappy', 'detractor with ticket', 2),
            (5, 'silent_unhappy', 'promoter or passive', 3)
    ) as care_groups (dimension_order, care_dimension, care_group, group_order)
),

selected_counts as (
    select
        care_dimension,
        care_group,
        sum(anchor_orders) as anchor_orders,
        sum(customers) as customers,
        sum(repurchased_orders) as repurchased_orders
    from cube_care_order_groups
    where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
    group by care_dimension, care_group
),

group_counts as (
    select
        care_groups.dimension_order,
        care_groups.care_dimension,
        care_groups.care_group,
        care_groups.group_order,
        cast(coalesce(selected_counts.anchor_orders, 0) as bigint) as anchor_orders,
        cast(coalesce(selected_counts.customers, 0) as bigint) as customers,
        cast(coalesce(selected_counts.repurchased_orders, 0) as bigint) as repurchased_orders
    from care_groups
    left join selected_counts
        on selected_counts.care_dimension = care_groups.care_dimension
        and selected_counts.care_group = care_groups.care_group
),

-- Wilson score interval with z = 1.959963984540054 (95%), written with counts x of n:
-- (x + z^2/2 +/- z sqrt(x (n - x) / n + z^2/4)) / (n + z^2), clamped to [0, 1] against rounding.
wilson as (
    select
        *,
        repurchased_orders / nullif(anchor_orders, 0) as repurchase_rate_90d,
        (repurchased_orders + 1.959963984540054 * 1.959963984540054 / 2)
            / nullif(anchor_orders + 1.959963984540054 * 1.959963984540054, 0) as ci_center,
        1.959963984540054 * sqrt(
            repurchased_orders * (anchor_orders - repurchased_orders) / nullif(anchor_orders, 0)
            + 1.959963984540054 * 1.959963984540054 / 4
        ) / nullif(anchor_orders + 1.959963984540054 * 1.959963984540054, 0) as ci_half_width
    from group_counts
),

final as (
    select
        dimension_order,
        care_dimension,
        care_group,
        group_order,
        anchor_orders,
        customers,
        repurchased_orders,
        repurchase_rate_90d,
        case when anchor_orders > 0 then greatest(0.0, ci_center - ci_half_width) end as ci_low,
        case when anchor_orders > 0 then least(1.0, ci_center + ci_half_width) end as ci_high
    from wilson
)

select
    care_dimension, care_group, group_order, anchor_orders, customers, repurchased_orders, repurchase_rate_90d,
    ci_low, ci_high
from final
order by dimension_order, group_order
