-- Grain: one row per kind x response_group: NPS responses by category (promoter 9-10, passive 7-8,
-- detractor 0-6) and CSAT responses by score ('1' .. '5', a fractional score counts in its whole number).
-- Among responses submitted at least 90 days before the cutoff (submitted_at + 90 days <= cutoff_at), the
-- share whose customer placed a valid order after the response and at most 90 days after it.
-- Every group is listed; a group without eligible responses has 0 responses and a null rate.
-- Without segment filters every response counts, including those of customers with no orders.
-- Params: $channels, $regions, $categories, $tiers
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

segment_responses as (
    select valid_surveys.*
    from segment_surveys($channels, $regions, $categories, $tiers) as valid_surveys
),

eligible_responses as (
    select
        -- response_id may be null (such rows are kept by the model), so number the responses.
        row_number() over (
            order by segment_responses.response_id, segment_responses.customer_id, segment_responses.submitted_at,
                segment_responses.kind, segment_responses.score
        ) as response_number,
        segment_responses.customer_id,
        segment_responses.submitted_at,
        segment_responses.kind,
        case
            when segment_responses.kind = 'nps' then segment_responses.nps_category
            else cast(cast(floor(segment_responses.score) as integer) as varchar)
        end as response_group
    from segment_responses
    cross join model_info
    where segment_responses.submitted_at + interval 90 day <= model_info.cutoff_at
),

repurchased as (
    select distinct eligible_responses.response_number
    from eligible_responses
    inner join valid_orders
        on valid_orders.customer_id = eligible_responses.customer_id
        and valid_orders.ordered_at > eligible_responses.submitted_at
        and valid_orders.ordered_at <= eligible_responses.submitted_at + interval 90 day
),

outcomes as (
    select
        eligible_responses.*,
        repurchased.response_number is not null as is_repurchased
    from eligible_responses
    left join repurchased on repurchased.response_number = eligible_responses.response_number
),

final as (
    select
        response_groups.kind,
        response_groups.response_group,
        response_groups.group_order,
        count(outcomes.response_number) as responses,
        count(outcomes.response_number) filter (where outcomes.is_repurchased) as repurchased_responses,
        count(outcomes.response_number) filter (where outcomes.is_repurchased)
            / nullif(count(outcomes.response_number), 0) as repurchase_rate_90d,
        count(distinct outcomes.customer_id) as customers
    from response_groups
    left join outcomes
        on outcomes.kind = response_groups.kind
        and outcomes.response_group = response_groups.response_group
    group by response_groups.kind, response_groups.response_group, response_groups.group_order
)

select * from final
order by kind desc, group_order  -- nps before csat
