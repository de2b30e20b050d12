-- Grain: one row per survey response with a non-empty comment, newest first (ties by response_id), one page
-- of $limit rows from row $offset (null = all rows, from the first). Filters (null = any): $search, a
-- case-insensitive substring of the masked comment taken literally (no wildcards); $kinds, a list of
-- 'nps'/'csat'; $min_score and $max_score, inclusive.
-- comment_masked has email addresses replaced by '[email]' and phone numbers (7+ digits, possibly separated by
-- spaces, dots, dashes or parentheses, optional leading +) by '[phone]': the raw comment never leaves DuckDB,
-- and searching the masked text means a search cannot probe for a hidden address or number.
-- total_matches = number of responses matching the filters (all pages).
-- Without segment filters every response counts, including those of customers with no orders.
-- Params: $search, $kinds, $min_score, $max_score, $limit, $offset, $channels, $regions, $categories, $tiers
with commented as (
    select
        valid_surveys.response_id,
        valid_surveys.submitted_at,
        valid_surveys.customer_id,
        valid_surveys.kind,
        valid_surveys.score,
        valid_surveys.nps_category,
        valid_surveys.touchpoint,
        valid_surveys.comment_masked
    from segment_surveys($channels, $regions, $categories, $tiers) as valid_surveys
    where trim(valid_surveys.comment_masked) <> ''
),

matches as (
    select *
    from commented
    where ($search is null or contains(lower(comment_masked), lower($search)))
      and ($kinds is null or list_contains($kinds, kind))
      and ($min_score is null or score >= $min_score)
      and ($max_score is null or score <= $max_score)
),

final as (
    select
        submitted_at,
        customer_id,
        kind,
        score,
        nps_category,
        touchpoint,
        comment_masked,
        count(*) over () as total_matches,
        response_id
    from matches
)

select submitted_at, customer_id, kind, score, nps_category, touchpoint, comment_masked, total_matches
from final
-- response_id may be null (kept by the model): the other columns make the order deterministic.
order by submitted_at desc, response_id, customer_id, kind, score, comment_masked
limit $limit
offset $offset
