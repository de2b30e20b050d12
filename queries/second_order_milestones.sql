-- Grain: one row per milestone_days in (30, 60, 90, 180, 365). Eligible customers had their first
-- valid order at least that many days before the cutoff (first + milestone days <= cutoff); of them,
-- reached customers placed their second valid order within the milestone (second <= first + days).
-- The 90-day row equals second_order_rate_90d.sql.
-- Reads the aggregate cube_repeat_customers (seg_key x order-count bucket; eligible_/reached_ per milestone).
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_repeat_customers, segment_keys()
with totals as (
    select
        cast(coalesce(sum(eligible_30d), 0) as bigint) as eligible_30d,
        cast(coalesce(sum(reached_30d), 0) as bigint) as reached_30d,
        cast(coalesce(sum(eligible_60d), 0) as bigint) as eligible_60d,
        cast(coalesce(sum(reached_60d), 0) as bigint) as reached_60d,
        cast(coalesce(sum(eligible_90d), 0) as bigint) as eligible_90d,
        cast(coalesce(sum(reached_90d), 0) as bigint) as reached_90d,
        cast(coalesce(sum(eligible_180d), 0) as bigint) as eligible_180d,
        cast(coalesce(sum(reached_180d), 0) as bigint) as reached_180d,
        cast(coalesce(sum(eligible_365d), 0) as bigint) as eligible_365d,
        cast(coalesce(sum(reached_365d), 0) as bigint) as reached_365d
    from cube_repeat_customers
    where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
),

progress as (
    select 30 as milestone_days, eligible_30d as eligible_customers, reached_30d as reached_customers from totals
    union all
    select 60, eligible_60d, reached_60d from totals
    union all
    select 90, eligible_90d, reached_90d from totals
    union all
    select 180, eligible_180d, reached_180d from totals
    union all
    select 365, eligible_365d, reached_365d from totals
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
