-- Grain: one row per group of $dimension among anchor orders (valid orders at least 90 days old, judged by the
-- care page's order-anchored 90-day repurchase) placed on a local day between $start_date and $end_date (null =
-- open end), for the segment:
--   'ticket_category': one row per ticket category (fact_value); outcome null;
--   'category_outcome': one row per ticket category x outcome ('resolved within a day', 'resolved in a day or
--     more', 'unresolved'; all three listed for every category in the range);
--   'return_reason': one row per return reason (fact_value null = not recorded); outcome null.
-- Another $dimension returns no rows. anchor_orders, repurchased_orders, repurchase_rate_90d with its 95% Wilson
-- interval (ci_low, ci_high); the baseline = anchor orders in the same range with no ticket and no return
-- (baseline_anchor_orders, baseline_rate_90d); rate_gap = baseline_rate_90d - repurchase_rate_90d;
-- repeat_orders_lost = anchor_orders x rate_gap: how many fewer of these orders were followed by another order
-- within 90 days than if they had come back as often as orders without a problem (negative = more). An
-- association, not a cause. first_anchor_day, last_anchor_day: the local days of the earliest and latest anchor
-- order in the range (any group). Sorted by repeat_orders_lost (largest first, empty last), then anchor orders.
-- Reads cube_reason_day_groups (counts per seg_key x anchor day x group), summed over the filter's seg_keys
-- (without a filter, its totals under seg_key 0).
-- Params: $dimension, $start_date, $end_date, $channels, $regions, $categories, $tiers
-- Reads: cube_reason_day_groups, segment_keys_with_total(), wilson_high(), wilson_low()
with in_range as (
    select *
    from cube_reason_day_groups
    where seg_key in (select seg_key from segment_keys_with_total($channels, $regions, $categories, $tiers))
      and (cast($start_date as date) is null or anchor_day >= cast($start_date as date))
      and (cast($end_date as date) is null or anchor_day <= cast($end_date as date))
),

baseline as (
    select
        cast(coalesce(sum(anchor_orders) filter (where fact_kind = 'baseline'), 0) as bigint) as anchor_orders,
        cast(coalesce(sum(repurchased_orders) filter (where fact_kind = 'baseline'), 0) as bigint)
            as repurchased_orders,
        min(anchor_day) filter (where fact_kind = 'all') as first_anchor_day,
        max(anchor_day) filter (where fact_kind = 'all') as last_anchor_day
    from in_range
),

groups as (
    select
        fact_value,
        case when $dimension = 'category_outcome' then outcome end as outcome,
        cast(sum(anchor_orders) as bigint) as anchor_orders,
        cast(sum(repurchased_orders) as bigint) as repurchased_orders
    from in_range
    where fact_kind = case $dimension
        when 'ticket_category' then 'ticket_category'
        when 'category_outcome' then 'ticket_category'
        when 'return_reason' then 'return_reason'
    end
    group by fact_value, case when $dimension = 'category_outcome' then outcome end
),

-- Every outcome of every category in the range, 0 when none of its orders had it.
listed as (
    select groups.fact_value, groups.outcome, groups.anchor_orders, groups.repurchased_orders
    from groups
    where $dimension is distinct from 'category_outcome'
    union all
    select categories.fact_value, outcomes.outcome,
        coalesce(groups.anchor_orders, 0) as anchor_orders,
        coalesce(groups.repurchased_orders, 0) as repurchased_orders
    from (select distinct fact_value from groups) as categories
    cross join (values ('resolved within a day'), ('resolved in a day or more'), ('unresolved')) as outcomes (outcome)
    left join groups
        on groups.fact_value is not distinct from categories.fact_value
        and groups.outcome = outcomes.outcome
    where $dimension = 'category_outcome'
),

final as (
    select
        listed.fact_value,
        listed.outcome,
        listed.anchor_orders,
        listed.repurchased_orders,
        listed.repurchased_orders / nullif(listed.anchor_orders, 0) as repurchase_rate_90d,
        wilson_low(listed.repurchased_orders, listed.anchor_orders) as ci_low,
        wilson_high(listed.repurchased_orders, listed.anchor_orders) as ci_high,
        baseline.anchor_orders as baseline_anchor_orders,
        baseline.repurchased_orders / nullif(baseline.anchor_orders, 0) as baseline_rate_90d,
        baseline.first_anchor_day,
        baseline.last_anchor_day
    from listed
    cross join baseline
)

select
    fact_value,
    outcome,
    anchor_orders,
    repurchased_orders,
    repurchase_rate_90d,
    ci_low,
    ci_high,
    baseline_anchor_orders,
    baseline_rate_90d,
    baseline_rate_90d - repurchase_rate_90d as rate_gap,
    anchor_orders * (baseline_rate_90d - repurchase_rate_90d) as repeat_orders_lost,
    first_anchor_day,
    last_anchor_day
from final
order by repeat_orders_lost desc nulls last, anchor_orders desc, fact_value nulls last,
    case outcome when 'resolved within a day' then 1 when 'resolved in a day or more' then 2 else 3 end
