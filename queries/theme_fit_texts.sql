-- Grain: one row per distinct masked text (survey comment, or ticket subject and body) of this version of the
-- exports, with text_rows = how many responses and tickets carry it. What the comment themes are fitted on
-- (dashboard/themes.py, once per version of the exports): every text any as-of date can show, masked exactly as
-- valid_surveys.comment_masked and valid_tickets.text_masked are (the same macros), never the raw export.
-- Params: none
-- Reads: clean_surveys, clean_tickets, mask_contact_details(), ticket_text_masked()
with texts as (
    select mask_contact_details(comment) as text from main.clean_surveys
    union all
    select ticket_text_masked(subject, body) as text from main.clean_tickets
)

select text, count(*) as text_rows
from texts
where text is not null
group by text
order by text
