-- Grain: one row. NPS and CSAT over responses submitted in the 90 days ending at the cutoff
-- ([cutoff - 90 days, cutoff)). NPS = 100 x (share 9-10 - share 0-6); CSAT = share scoring 4-5.
-- Without segment filters every response counts, including those of customers with no orders.
-- Params: $channels, $regions, $categories, $tiers
with in_window as (
    select valid_surveys.*
    from segment_surveys($channels, $regions, $categories, $tiers) as valid_surveys, model_info
    where valid_surveys.submitted_at >= model_info.cutoff_at - interval 90 day
),

final as (
    select
        count(*) filter (where kind = 'nps') as nps_responses_90d,
        100.0 * (
            count(*) filter (where kind = 'nps' and score >= 9)
            - count(*) filter (where kind = 'nps' and score <= 6)
        ) / nullif(count(*) filter (where kind = 'nps'), 0) as nps_90d,
        count(*) filter (where kind = 'csat') as csat_responses_90d,
        count(*) filter (where kind = 'csat' and score >= 4)
            / nullif(count(*) filter (where kind = 'csat'), 0) as csat_90d
    from in_window
)

select * from final
