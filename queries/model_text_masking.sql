-- Grain: two scalar macros. mask_contact_details(text): the text with e-mail addresses replaced by '[email]' and
-- phone numbers (7+ digits, possibly separated by spaces, dots, dashes or parentheses, optional leading +) by
-- '[phone]'. The model keeps only masked free text (survey comments, ticket subjects and bodies), so no query
-- can return what a customer typed about themselves; this is the one place the rule is written.
-- Params: none
create macro mask_contact_details(text) as
regexp_replace(
    regexp_replace(
        text,
        '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}',
        '[email]',
        'g'
    ),
    '\+?\(?[0-9](?:[ .()-]*[0-9]){6,}',
    '[phone]',
    'g'
)
;

-- mask_email(email): the first character, '***' and the domain ('jane@example.com' -> 'j***@example.com'); a value
-- without '@' keeps its first character and '***'; null stays null. Lists show it unless the role may see e-mails.
create macro mask_email(email) as
case
    when email is null then null
    when strpos(email, '@') = 0 then left(email, 1) || '***'
    when strpos(email, '@') = 1 then '***' || email
    else left(email, 1) || '***@' || regexp_extract(email, '@([^@]*)$', 1)
end
