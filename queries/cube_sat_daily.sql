-- Grain: one row per submitted_day (local date of the submission) x seg_key x touchpoint with at least one
-- valid survey response. seg_key is the customer's (customer_summary.seg_key), -1 for responses of customers
-- with no valid order (they count only without segment filters, see segment_keys). Counts only, no rates:
-- responses (any kind); NPS responses, scores 9-10 / 0-6 and promoter/passive/detractor categories;
-- CSAT responses, scores 4-5, the sum and count of their scores (for the mean). Also one row per
-- submitted_day x touchpoint under seg_key 0 with the totals over everyone (every seg_key and -1), which the
-- unfiltered view reads (segment_keys_with_total).
-- Params: none
-- Reads: customer_summary, valid_surveys
-- Creates: cube_sat_daily
create table cube_sat_daily as
with responses as (
    select
        cast(valid_surveys.submitted_local as date) as submitted_day,
        coalesce(customer_summary.seg_key, -1) as seg_key,
        valid_surveys.touchpoint,
        valid_surveys.kind,
        valid_surveys.score,
        valid_surveys.nps_category
    from valid_surveys
    left join customer_summary on customer_summary.customer_id = valid_surveys.customer_id
)

select
    submitted_day,
    case when grouping(seg_key) = 1 then 0 else seg_key end as seg_key,
    touchpoint,
    count(*) as responses,
    count(*) filter (where kind = 'nps') as nps_responses,
    count(*) filter (where kind = 'nps' and score >= 9) as nps_high_scores,
    count(*) filter (where kind = 'nps' and score <= 6) as nps_low_scores,
    count(*) filter (where kind = 'nps' and nps_category = 'promoter') as nps_promoters,
    count(*) filter (where kind = 'nps' and nps_category = 'passive') as nps_passives,
    count(*) filter (where kind = 'nps' and nps_category = 'detractor') as nps_detractors,
    count(*) filter (where kind = 'csat') as csat_responses,
    count(*) filter (where kind = 'csat' and score >= 4) as csat_satisfied,
    coalesce(sum(score) filter (where kind = 'csat'), 0) as csat_score_sum,
    count(score) filter (where kind = 'csat') as csat_scored
from responses
group by grouping sets ((submitted_day, seg_key, touchpoint), (submitted_day, touchpoint))
order by 1, 2, 3
