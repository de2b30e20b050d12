-- Grain: one row per seg_key x week_index: changes of the 90-day survey counts of weekly_kpis.sql, so a week's
-- counts are the sums over week_index <= it. A response submitted at s is in week w's window
-- [week_cutoff_at - 90 days, week_cutoff_at) for w from the first week whose cutoff is at or before s + 90 days
-- to the last week whose cutoff is after s: +1 at the first, -1 one week after the last. seg_key is the
-- customer's, -1 for responses of people with no valid order. Counts: NPS responses, scores 9-10 and 0-6;
-- CSAT responses, scores 4-5.
-- Params: none
-- Reads: cube_overview_week_ends, customer_summary, valid_surveys
-- Creates: cube_overview_weekly_surveys
create table cube_overview_weekly_surveys as
with surveys as (
    select
        coalesce(customer_summary.seg_key, -1) as seg_key,
        valid_surveys.submitted_at,
        valid_surveys.submitted_at + interval 90 day as window_end_at,
        case when valid_surveys.kind = 'nps' then 1 else 0 end as nps,
        case when valid_surveys.kind = 'nps' and valid_surveys.score >= 9 then 1 else 0 end as nps_high,
        case when valid_surveys.kind = 'nps' and valid_surveys.score <= 6 then 1 else 0 end as nps_low,
        case when valid_surveys.kind = 'csat' then 1 else 0 end as csat,
        case when valid_surveys.kind = 'csat' and valid_surveys.score >= 4 then 1 else 0 end as csat_satisfied
    from valid_surveys
    left join customer_summary on customer_summary.customer_id = valid_surveys.customer_id
),

-- last week: the smallest cutoff after s (the largest week_index whose window still holds s)
with_last as (
    select surveys.*, week_ends.week_index as last_week
    from surveys
    asof inner join cube_overview_week_ends as week_ends on surveys.submitted_at < week_ends.week_cutoff_at
),

-- first week: the largest cutoff at or before s + 90 days (the smallest week_index whose window holds s)
with_first as (
    select with_last.*, week_ends.week_index as first_week
    from with_last
    asof inner join cube_overview_week_ends as week_ends on with_last.window_end_at >= week_ends.week_cutoff_at
),

changes as (
    select seg_key, first_week as week_index, nps, nps_high, nps_low, csat, csat_satisfied
    from with_first
    where first_week <= last_week
    union all
    select seg_key, last_week + 1 as week_index, -nps, -nps_high, -nps_low, -csat, -csat_satisfied
    from with_first
    where first_week <= last_week
)

select
    seg_key,
    week_index,
    cast(sum(nps) as bigint) as nps_responses_change,
    cast(sum(nps_high) as bigint) as nps_high_scores_change,
    cast(sum(nps_low) as bigint) as nps_low_scores_change,
    cast(sum(csat) as bigint) as csat_responses_change,
    cast(sum(csat_satisfied) as bigint) as csat_satisfied_change
from changes
group by all
order by seg_key, week_index
