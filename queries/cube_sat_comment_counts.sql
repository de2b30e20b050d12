-- Grain: one row per seg_key x comment_key x kind x score among the commented responses of cube_sat_comments,
-- with their number: survey_comments sums it for total_matches (the rows themselves are read for one page only).
-- Params: none
-- Reads: cube_sat_comments
-- Creates: cube_sat_comment_counts
create table cube_sat_comment_counts as
select seg_key, comment_key, kind, score, count(*) as responses
from cube_sat_comments
group by all
order by seg_key, comment_key, kind, score
