-- Grain: one row per milestone_days in (30, 60, 90, 180, 365). Eligible customers had their first
-- valid order at least that many days before the cutoff (first + milestone days <= cutoff); of them,
-- reached customers placed their second valid order within the milestone (second <= first + days).
-- The 90-day row equals second_order_rate_90d.sql.
-- Params: $channels, $regions, $categories, $tiers
with segment as (
    select * from segment_customers($channels, $regions, $categories, $tiers)
),

milestones as (
    select milestone_days
    from (values (30), (60), (90), (180), (365)) as milestone_list (milestone_days)
),

progress as (
    select
        milestones.milestone_days,
        count(segment.customer_id) as eligible_customers,
        count(segment.customer_id) filter (
            where segment.second_ordered_at <= segment.first_ordered_at + to_days(milestones.milestone_days)
        ) as reached_customers
    from milestones
    cross join model_info
    left join segment
        on segment.first_ordered_at + to_days(milestones.milestone_days) <= model_info.cutoff_at
    group by milestones.milestone_days
),

final as (
    select
        milestone_days,
        eligible_customers,
        reached_customers,
        reached_customers / nullif(eligible_customers, 0) as reached_rate
    from progress
)

select * from final
order by milestone_days
