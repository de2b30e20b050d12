-- Grain: one row per kind x response_group: NPS responses by category (promoter 9-10, passive 7-8,
-- detractor 0-6) and CSAT responses by score ('1' .. '5', a fractional score counts in its whole number).
-- Among responses submitted at least 90 days before the cutoff (submitted_at + 90 days <= cutoff_at), the
-- share whose customer placed a valid order after the response and at most 90 days after it.
-- Every group is listed; a group without eligible responses has 0 responses and a null rate.
-- Without segment filters every response counts, including those of customers with no orders.
-- Reads cube_sat_repurchase (counts per seg_key x kind x response_group): summed over the filter's seg_keys.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_sat_repurchase, segment_keys()
with response_groups as (
    select *
    from (
        values
            ('nps', 'promoter', 1),
            ('nps', 'passive', 2),
            ('nps', 'detractor', 3),
            ('csat', '1', 1),
            ('csat', '2', 2),
            ('csat', '3', 3),
            ('csat', '4', 4),
            ('csat', '5', 5)
    ) as response_groups (kind, response_group, group_order)
),

group_counts as (
    select
        kind,
        response_group,
        cast(sum(responses) as bigint) as responses,
        cast(sum(repurchased_responses) as bigint) as repurchased_responses,
        cast(sum(customers) as bigint) as customers
    from cube_sat_repurchase
    where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
    group by kind, response_group
),

final as (
    select
        response_groups.kind,
        response_groups.response_group,
        response_groups.group_order,
        coalesce(group_counts.responses, 0) as responses,
        coalesce(group_counts.repurchased_responses, 0) as repurchased_responses,
        coalesce(group_counts.repurchased_responses, 0) / nullif(coalesce(group_counts.responses, 0), 0)
            as repurchase_rate_90d,
        coalesce(group_counts.customers, 0) as customers
    from response_groups
    left join group_counts
        on group_counts.kind = response_groups.kind
        and group_counts.response_group = response_groups.response_group
)

select * from final
order by kind desc, group_order  -- nps before csat
