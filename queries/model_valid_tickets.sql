-- Grain: one row per usable support ticket opened before $cutoff_at. A ticket resolved after the
-- cutoff was still unresolved at the as-of date, so resolved_at is null for it. text_masked is the subject and
-- body joined by ' — ' with e-mails and phone numbers masked (ticket_text_masked, model_text_masking.sql); the raw
-- text is not kept.
-- Params: $cutoff_at
-- Reads: clean_tickets, ticket_text_masked()
-- Creates: valid_tickets
create table valid_tickets as
with as_of as (
    select
        ticket_id,
        customer_id,
        order_id,
        opened_at,
        case when resolved_at < $cutoff_at then resolved_at end as resolved_at,
        coalesce(nullif(trim(category), ''), 'unknown') as category,
        ticket_text_masked(subject, body) as text_masked
    from main.clean_tickets
    where opened_at < $cutoff_at
)

select
    *,
    resolved_at is not null as is_resolved,
    date_diff('second', opened_at, resolved_at) / 86400.0 as resolution_days
from as_of
