-- Grain: one row per distinct masked text (survey comment, or ticket subject and body) as of the cutoff, with
-- text_rows = how many responses and tickets carry it. What the comment themes are fitted on (dashboard/themes.py,
-- at the latest as-of date, which sees every text any as-of date can): only masked text, never the raw export.
-- Params: none
with texts as (
    select comment_masked as text from valid_surveys where comment_masked is not null
    union all
    select text_masked as text from valid_tickets where text_masked is not null
)

select text, count(*) as text_rows
from texts
group by text
order by text
