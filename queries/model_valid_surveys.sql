-- Grain: one row per usable survey response submitted before $cutoff_at, kind lower-cased, with the
-- NPS category (promoter 9-10, passive 7-8, detractor 0-6) for NPS responses and the comment with
-- emails and phone numbers masked (the raw comment is not kept; tests/test_masking.py holds the tricky forms).
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
    -- Only the masked comment is kept: e-mail addresses become '[email]' and phone numbers '[phone]', so no
    -- query can return what a customer typed about themselves. The comment is in NFKC already (sources.py
    -- normalise_free_text: fullwidth digits and letters, non-breaking and other spaces, ligatures become their
    -- plain forms; zero-width characters are gone), so the patterns see one form of each character:
    -- an e-mail address is a local part of letters in any script, digits, combining marks, apostrophes and
    -- RFC 5322's other characters, then @ (or [at], (at)), then a domain in any script with a dotted ending
    -- ('.' or [dot]) of 2+ letters; a phone number is 7+ digits of any script, each after the first possibly
    -- preceded by spaces, dots, slashes, parentheses or any dash (-, ‐, –, —, −), with an optional leading + or (.
    regexp_replace(
        regexp_replace(
            comment,
            '[\p{L}\p{M}\p{N}!#$%&''’*+/=?^_`{|}~.\-]+\s*(?:@|[\[(]\s*at\s*[\])])\s*[\p{L}\p{M}\p{N}\-]+(?:(?:\.|\s*[\[(]\s*dot\s*[\])]\s*)[\p{L}\p{M}\p{N}\-]+)*(?:\.|\s*[\[(]\s*dot\s*[\])]\s*)\p{L}{2,}',
            '[email]',
            'g'
        ),
        '[+(]?\p{Nd}(?:[\p{Z}\s.()/\p{Pd}−]*\p{Nd}){6,}',
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
