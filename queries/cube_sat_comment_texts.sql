-- Grain: one row per distinct non-empty masked survey comment (valid_surveys.comment_masked with trim <> ''),
-- comment_key numbering them in the comment's own sort order, with the lower-cased text the search reads.
-- survey_comments searches this short list, then picks the matching rows of cube_sat_comments by key.
-- Params: none
-- Reads: valid_surveys
-- Creates: cube_sat_comment_texts
create table cube_sat_comment_texts as
with texts as (
    select distinct comment_masked
    from valid_surveys
    where trim(comment_masked) <> ''
)

select
    cast(row_number() over (order by comment_masked) as integer) as comment_key,
    comment_masked,
    lower(comment_masked) as comment_lower
from texts
order by comment_key
