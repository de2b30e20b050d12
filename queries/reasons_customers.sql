-- Grain: one row per customer of the segment with at least one anchor order (at least 90 days old) placed on a local
-- day between $start_date and $end_date (null = open end) that is in the chosen group: $fact_kind
-- 'ticket_category' (a ticket of category $fact_value; $outcome, when not null, that category's outcome),
-- 'return_reason' (a return with reason $fact_value; null = not recorded) or 'theme' (a text of theme
-- $fact_value, a theme_id, from $source 'survey', 'ticket' or 'any'). Columns: the customer, email (masked unless
-- $show_email), group_orders (their anchor orders in the group), repurchased_orders (of those, followed by another
-- order within 90 days), last_group_order_at (UTC), and from customer_summary their valid orders, revenue and last
-- order; has_ordered_since = a valid order after the latest group order. $ordered_since false keeps only customers
-- who have not ordered since (the ones to win back), true only those who have, null both. Customers who have not
-- ordered since first, then by revenue (highest first), then customer_id; one page ($limit after $offset; null
-- $limit = all); total_matches = customers before paging.
-- Reads cube_reason_order_facts and cube_theme_order_facts (stored by group, so one group's rows are read; each row
-- carries its customer's customer_summary columns, so nothing is joined).
-- customer_id goes through customer_label (privacy_macros.sql): an id that is an e-mail address or a phone number
-- is a pseudonym unless $show_email (the role may see personal data).
-- Params: $fact_kind, $fact_value, $outcome, $source, $ordered_since, $show_email, $start_date, $end_date, $limit, $offset, $channels, $regions, $categories, $tiers
-- Reads: cube_reason_order_facts, cube_theme_order_facts, customer_label(), mask_email(), segment_keys()
with group_orders as (
    select customer_id, seg_key, ordered_at, is_repurchased, email, count_orders, revenue, last_ordered_at
    from cube_reason_order_facts
    where fact_kind = $fact_kind
      and $fact_kind in ('ticket_category', 'return_reason')
      and fact_value is not distinct from $fact_value
      and ($outcome is null or outcome = $outcome)
      and (cast($start_date as date) is null or anchor_day >= cast($start_date as date))
      and (cast($end_date as date) is null or anchor_day <= cast($end_date as date))
    union all
    select customer_id, seg_key, ordered_at, is_repurchased, email, count_orders, revenue, last_ordered_at
    from cube_theme_order_facts
    where $fact_kind = 'theme'
      and source = $source
      and cast(theme_id as varchar) = $fact_value
      and (cast($start_date as date) is null or anchor_day >= cast($start_date as date))
      and (cast($end_date as date) is null or anchor_day <= cast($end_date as date))
),

customers as (
    select
        customer_id,
        count(*) as group_orders,
        count(*) filter (where is_repurchased) as repurchased_orders,
        max(ordered_at) as last_group_order_at,
        -- the same on every row of a customer (customer_summary's)
        any_value(email) as email,
        any_value(count_orders) as count_orders,
        any_value(revenue) as revenue,
        any_value(last_ordered_at) as last_ordered_at
    from group_orders
    where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
      and count_orders is not null
    group by customer_id
),

listed as (
    select
        customers.*,
        customers.last_ordered_at > customers.last_group_order_at as has_ordered_since
    from customers
    where $ordered_since is null
       or (customers.last_ordered_at > customers.last_group_order_at) = $ordered_since
),

-- the page first, then its labels: masking every match's id and e-mail cost more than the rest at 10M orders
paged as (
    select *, count(*) over () as total_matches
    from listed
    order by has_ordered_since, revenue desc, customer_id
    limit $limit offset $offset
)

select
    customer_label(customer_id, $show_email) as customer_id,
    case when $show_email then email else mask_email(email) end as email,
    group_orders,
    repurchased_orders,
    last_group_order_at,
    has_ordered_since,
    count_orders,
    revenue,
    last_ordered_at,
    total_matches
from paged
order by has_ordered_since, revenue desc, paged.customer_id
