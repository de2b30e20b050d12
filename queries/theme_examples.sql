-- Grain: one row per text of theme $theme_id from $source ('survey', 'ticket' or 'any') written on a local day
-- between $start_date and $end_date (null = open end), for the segment, newest first (ties by source, id), one page
-- ($limit rows after $offset; null $limit = all): when (text_at, UTC), source, kind and score (surveys), touchpoint
-- (surveys) or category (tickets), sentiment, and the text with e-mails and phone numbers masked (the model keeps
-- nothing else). total_matches = the texts matching before paging.
-- Reads cube_theme_texts (stored in this order within each theme): a page is a short scan of one theme's rows.
-- Params: $theme_id, $source, $start_date, $end_date, $limit, $offset, $channels, $regions, $categories, $tiers
-- Reads: cube_theme_texts, segment_keys()
with matches as (
    select position, text_at, source, kind, score, touchpoint, category, sentiment, text
    from cube_theme_texts
    where theme_id = $theme_id
      and ($source = 'any' or source = $source)
      and seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
      and (cast($start_date as date) is null or text_day >= cast($start_date as date))
      and (cast($end_date as date) is null or text_day <= cast($end_date as date))
),

-- counted apart from the page, so that only the page's texts are read (a window over every match read them all)
total as (
    select count(*) as total_matches from matches
)

select
    text_at,
    source,
    kind,
    score,
    touchpoint,
    category,
    sentiment,
    text,
    total.total_matches
from matches
cross join total
order by position
limit $limit offset $offset
