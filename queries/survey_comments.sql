-- Grain: one row per survey response with a non-empty comment, newest first (ties by response_id), one page
-- of $limit rows from row $offset (null = all rows, from the first). Filters (null = any): $search, a
-- case-insensitive substring of the masked comment taken literally (no wildcards); $kinds, a list of
-- 'nps'/'csat'; $min_score and $max_score, inclusive.
-- comment_masked has email addresses replaced by '[email]' and phone numbers (7+ digits, possibly separated by
-- spaces, dots, dashes or parentheses, optional leading +) by '[phone]': the raw comment never leaves DuckDB,
-- and searching the masked text means a search cannot probe for a hidden address or number.
-- total_matches = number of responses matching the filters (all pages).
-- Without segment filters every response counts, including those of customers with no orders.
-- Reads cube_sat_comments (the commented responses in list order, with seg_key, comment_key, comment_row),
-- cube_sat_comment_texts (each distinct comment once: the search runs on these, then selects rows by key) and
-- cube_sat_comment_counts (responses per seg_key x comment x kind x score, for total_matches).
-- customer_id goes through customer_label (privacy_macros.sql): an id that is an e-mail address or a phone number
-- is a pseudonym unless $show_pii.
-- Params: $search, $kinds, $min_score, $max_score, $limit, $offset, $channels, $regions, $categories, $tiers, $show_pii
-- Reads: cube_sat_comment_counts, cube_sat_comment_texts, cube_sat_comments, customer_label(), segment_keys()
with matching_texts as (
    select comment_key
    from cube_sat_comment_texts
    where $search is null or contains(comment_lower, lower($search))
),

accepted_keys as (
    select seg_key from segment_keys($channels, $regions, $categories, $tiers)
),

-- total_matches: the matching responses counted from cube_sat_comment_counts (no rows read).
total as (
    select cast(coalesce(sum(responses), 0) as bigint) as total_matches
    from cube_sat_comment_counts
    where seg_key in (select seg_key from accepted_keys)
      and ($search is null or comment_key in (select comment_key from matching_texts))
      and ($kinds is null or list_contains($kinds, kind))
      and ($min_score is null or score >= $min_score)
      and ($max_score is null or score <= $max_score)
),

-- The page's positions: comment_row is the list's order (newest first, then response_id, customer_id, kind,
-- score, comment; response_id may be null, the other columns make the order deterministic). The cube is stored
-- in that order, so the scan stops early; only the page's rows are then read in full.
page as (
    select comment_row
    from cube_sat_comments
    where seg_key in (select seg_key from accepted_keys)
      and ($search is null or comment_key in (select comment_key from matching_texts))
      and ($kinds is null or list_contains($kinds, kind))
      and ($min_score is null or score >= $min_score)
      and ($max_score is null or score <= $max_score)
    order by comment_row
    limit $limit
    offset $offset
),

final as (
    select
        cube_sat_comments.submitted_at,
        customer_label(cube_sat_comments.customer_id, $show_pii) as customer_id,
        cube_sat_comments.kind,
        cube_sat_comments.score,
        cube_sat_comments.nps_category,
        cube_sat_comments.touchpoint,
        cube_sat_comment_texts.comment_masked,
        total.total_matches,
        cube_sat_comments.comment_row
    from page
    inner join cube_sat_comments on cube_sat_comments.comment_row = page.comment_row
    inner join cube_sat_comment_texts on cube_sat_comment_texts.comment_key = cube_sat_comments.comment_key
    cross join total
)

select submitted_at, customer_id, kind, score, nps_category, touchpoint, comment_masked, total_matches
from final
order by comment_row
