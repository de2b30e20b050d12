-- Grain: one row per usable survey response submitted before $cutoff_at, kind lower-cased, with the
-- NPS category (promoter 9-10, passive 7-8, detractor 0-6) for NPS responses and the comment with
-- emails and phone numbers masked (the raw comment is not kept; tests/test_masking.py holds the tricky forms).
-- submitted_local is the time in the configured zone (local_offsets).
-- Params: $cutoff_at
-- Reads: clean_surveys, local_offsets, mask_contact_details()
-- Creates: valid_surveys
create table valid_surveys as
select
    response_id,
    customer_id,
    order_id,
    submitted_at,
    submitted_at + local_offsets.utc_offset as submitted_local,
    lower(trim(kind)) as kind,
    score,
    coalesce(nullif(trim(touchpoint), ''), 'unknown') as touchpoint,
    -- Only the masked comment is kept: e-mail addresses become '[email]' and phone numbers '[phone]', so no
    -- query can return what a customer typed about themselves. The comment is in NFKC already (sources.py
    -- normalise_free_text); the patterns are the macro mask_contact_details (model_text_masking.sql), which
    -- ticket texts use too.
    mask_contact_details(comment) as comment_masked,
    case
        when lower(trim(kind)) <> 'nps' then null
        when score >= 9 then 'promoter'
        when score >= 7 then 'passive'
        else 'detractor'
    end as nps_category
from main.clean_surveys
left join local_offsets on local_offsets.slot_utc = time_bucket(interval 15 minute, clean_surveys.submitted_at)
where submitted_at < $cutoff_at
