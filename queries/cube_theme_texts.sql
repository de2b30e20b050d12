-- Grain: one row per survey response with a comment (source 'survey', text_day = local day of submission) and per
-- ticket with a subject or body (source 'ticket', text_day = local day of opening), as of the cutoff, with its theme
-- (theme_texts; every text has one, -1 to -3 for the untheme-able), sentiment, seg_key (-1: no valid order), kind and
-- score (surveys), and the masked text. Stored newest first within each theme (theme_id, text_at descending, id),
-- with position numbering that order, so theme_examples reads a page of one theme without sorting. Read by
-- cube_theme_days and theme_examples.
-- Params: none
-- Reads: customer_summary, local_offsets, theme_texts, valid_surveys, valid_tickets
-- Creates: cube_theme_texts
create table cube_theme_texts as
with texts as (
    select
        'survey' as source,
        valid_surveys.response_id as text_id,
        valid_surveys.customer_id,
        valid_surveys.submitted_at as text_at,
        cast(valid_surveys.submitted_local as date) as text_day,
        valid_surveys.kind,
        valid_surveys.score,
        valid_surveys.touchpoint,
        cast(null as varchar) as category,
        valid_surveys.comment_masked as text
    from valid_surveys
    where valid_surveys.comment_masked is not null
    union all
    select
        'ticket' as source,
        valid_tickets.ticket_id as text_id,
        valid_tickets.customer_id,
        valid_tickets.opened_at as text_at,
        cast(valid_tickets.opened_at + local_offsets.utc_offset as date) as text_day,
        null as kind,
        null as score,
        null as touchpoint,
        valid_tickets.category,
        valid_tickets.text_masked as text
    from valid_tickets
    left join local_offsets on local_offsets.slot_utc = time_bucket(interval 15 minute, valid_tickets.opened_at)
    where valid_tickets.text_masked is not null
)

select
    theme_texts.theme_id,
    texts.source,
    coalesce(customer_summary.seg_key, -1) as seg_key,
    texts.text_day,
    texts.text_at,
    texts.text_id,
    texts.customer_id,
    texts.kind,
    texts.score,
    texts.touchpoint,
    texts.category,
    theme_texts.sentiment,
    texts.text,
    row_number() over (
        order by theme_texts.theme_id, texts.text_at desc, texts.source, texts.text_id, texts.text
    ) as position
from texts
inner join theme_texts on theme_texts.text = texts.text
left join customer_summary on customer_summary.customer_id = texts.customer_id
order by position
