-- Grain: one row per seg_key with a valid survey response submitted in the 90 days ending at the cutoff
-- ([cutoff - 90 days, cutoff), the window of satisfaction_90d). seg_key is the customer's, -1 for customers
-- with no valid order. Counts only: NPS responses, scores 9-10 and 0-6; CSAT responses, scores 4-5.
-- Params: none
-- Reads: customer_summary, model_info, valid_surveys
-- Creates: cube_sat_window90
create table cube_sat_window90 as
select
    coalesce(customer_summary.seg_key, -1) as seg_key,
    count(*) filter (where valid_surveys.kind = 'nps') as nps_responses,
    count(*) filter (where valid_surveys.kind = 'nps' and valid_surveys.score >= 9) as nps_high_scores,
    count(*) filter (where valid_surveys.kind = 'nps' and valid_surveys.score <= 6) as nps_low_scores,
    count(*) filter (where valid_surveys.kind = 'csat') as csat_responses,
    count(*) filter (where valid_surveys.kind = 'csat' and valid_surveys.score >= 4) as csat_satisfied
from valid_surveys
cross join model_info
left join customer_summary on customer_summary.customer_id = valid_surveys.customer_id
where valid_surveys.submitted_at >= model_info.cutoff_at - interval 90 day
group by all
order by seg_key
