-- Grain: one row per seg_key x text_day x source x theme_id with at least one text (cube_theme_texts): texts,
-- NPS responses with their score sum, promoters (9-10) and detractors (0-6), CSAT responses with their score sum
-- and satisfied (4-5), and the sum and count of sentiment scores (English texts only). Counts and sums only: means
-- and shares after summing. Also one row per text_day x source x theme_id under seg_key 0 with the totals over
-- everyone (every seg_key and -1), which the unfiltered view reads (segment_keys_with_total: a few rows per day
-- instead of one per seg_key). Read by theme_summary and theme_trend.
-- Params: none
-- Reads: cube_theme_texts
-- Creates: cube_theme_days
create table cube_theme_days as
select
    case when grouping(seg_key) = 1 then 0 else seg_key end as seg_key,
    text_day,
    source,
    theme_id,
    count(*) as texts,
    count(*) filter (where kind = 'nps') as nps_responses,
    coalesce(sum(score) filter (where kind = 'nps'), 0) as nps_score_sum,
    count(*) filter (where kind = 'nps' and score >= 9) as nps_promoters,
    count(*) filter (where kind = 'nps' and score <= 6) as nps_detractors,
    count(*) filter (where kind = 'csat') as csat_responses,
    coalesce(sum(score) filter (where kind = 'csat'), 0) as csat_score_sum,
    count(*) filter (where kind = 'csat' and score >= 4) as csat_satisfied,
    coalesce(sum(sentiment), 0) as sentiment_sum,
    count(sentiment) as sentiment_texts
from cube_theme_texts
group by grouping sets ((seg_key, text_day, source, theme_id), (text_day, source, theme_id))
order by text_day, seg_key
