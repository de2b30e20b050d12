-- Grain: one row per valid survey response with a non-empty masked comment: the columns survey_comments lists,
-- the customer's seg_key (-1 for customers with no valid order), comment_key (cube_sat_comment_texts) and
-- comment_row, the row's position in the list's order (newest first, then response_id, customer_id, kind,
-- score, comment). Stored in that order, so a page's rows are found by comment_row with zone maps.
-- Params: none
-- Reads: cube_sat_comment_texts, customer_summary, valid_surveys
-- Creates: cube_sat_comments
create table cube_sat_comments as
with commented as (
    select
        valid_surveys.submitted_at,
        valid_surveys.response_id,
        valid_surveys.customer_id,
        valid_surveys.kind,
        valid_surveys.score,
        valid_surveys.nps_category,
        valid_surveys.touchpoint,
        cube_sat_comment_texts.comment_key,
        coalesce(customer_summary.seg_key, -1) as seg_key
    from valid_surveys
    inner join cube_sat_comment_texts on cube_sat_comment_texts.comment_masked = valid_surveys.comment_masked
    left join customer_summary on customer_summary.customer_id = valid_surveys.customer_id
)

select
    cast(row_number() over (
        order by submitted_at desc, response_id, customer_id, kind, score, comment_key
    ) as integer) as comment_row,
    *
from commented
order by comment_row
