-- Grain: scalar macros, created in memory.main when the exports are opened (graph.OPENED_BY_DATABASE), the one
-- place the rule for free text is written. The model keeps only masked free text (survey comments, ticket subjects
-- and bodies), so no query can return what a customer typed about themselves (tests/test_masking.py holds the
-- tricky forms, for comments and ticket texts alike).
-- mask_contact_details(text): e-mail addresses become '[email]' and phone numbers '[phone]'. The text is in NFKC
-- already (sources.normalise_free_text on sources.FREE_TEXT_COLUMNS: fullwidth digits and letters, non-breaking and
-- other spaces, ligatures become their plain forms; zero-width characters are gone), so the patterns see one form
-- of each character: an e-mail address is a local part of letters in any script, digits, combining marks,
-- apostrophes and RFC 5322's other characters, then @ (or [at], (at)), then a domain in any script with a dotted
-- ending ('.' or [dot]) of 2+ letters; a phone number is 7+ digits of any script, each after the first possibly
-- preceded by spaces, dots, slashes, parentheses or any dash (-, ‐, –, —, −), with an optional leading + or (.
-- Params: none
-- Reads: none
-- Creates: mask_contact_details(), mask_email(), ticket_text_masked()
create or replace macro mask_contact_details(text) as
regexp_replace(
    regexp_replace(
        text,
        '[\p{L}\p{M}\p{N}!#$%&''’*+/=?^_`{|}~.\-]+\s*(?:@|[\[(]\s*at\s*[\])])\s*[\p{L}\p{M}\p{N}\-]+(?:(?:\.|\s*[\[(]\s*dot\s*[\])]\s*)[\p{L}\p{M}\p{N}\-]+)*(?:\.|\s*[\[(]\s*dot\s*[\])]\s*)\p{L}{2,}',
        '[email]',
        'g'
    ),
    '[+(]?\p{Nd}(?:[\p{Z}\s.()/\p{Pd}−]*\p{Nd}){6,}',
    '[phone]',
    'g'
)
;

-- ticket_text_masked(subject, body): a ticket's subject and body joined by ' — ' (either alone when the other is
-- empty; null when both are), masked as above: valid_tickets.text_masked and the themes' fit texts.
create or replace macro ticket_text_masked(subject, body) as
mask_contact_details(nullif(concat_ws(' — ', nullif(trim(subject), ''), nullif(trim(body), '')), ''))
;

-- mask_email(email): the first character, '***' and the domain ('jane@example.com' -> 'j***@example.com'); a value
-- without '@' keeps its first character and '***'; null stays null. Lists show it unless the role may see e-mails.
create or replace macro mask_email(email) as
case
    when email is null then null
    when strpos(email, '@') = 0 then left(email, 1) || '***'
    when strpos(email, '@') = 1 then '***' || email
    else left(email, 1) || '***@' || regexp_extract(email, '@([^@]*)$', 1)
end
