-- Grain: one row per usable survey response submitted before $cutoff_at, kind lower-cased, with the
-- NPS category (promoter 9-10, passive 7-8, detractor 0-6) for NPS responses and the comment with
-- emails and phone numbers masked (the raw comment is not kept).
-- submitted_local is the time in the configured zone (local_offsets).
-- Params: $cutoff_at
-- Reads: clean_surveys, local_offsets
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
    -- Only the masked comment is kept: e-mail addresses become '[email]' and phone numbers (7+ digits,
    -- possibly separated by spaces, dots, dashes or parentheses, optional leading +) '[phone]', so no
    -- query can return what a customer typed about themselves.
    regexp_replace(
        regexp_replace(
            comment,
            '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}',
            '[email]',
            'g'
        ),
        '\+?\(?[0-9](?:[ .()-]*[0-9]){6,}',
        '[phone]',
        'g'
    ) as comment_masked,
    case
        when lower(trim(kind)) <> 'nps' then null
        when score >= 9 then 'promoter'
        when score >= 7 then 'passive'
        else 'detractor'
    end as nps_category
from main.clean_surveys
left join local_offsets on local_offsets.slot_utc = time_bucket(interval 15 minute, clean_surveys.submitted_at)
where submitted_at < $cutoff_at
