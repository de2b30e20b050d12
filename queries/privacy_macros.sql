-- Grain: a macro and the one-row table of its key, created in memory.main when the exports are opened
-- (model.Database.open, access.install_customer_labels), before any model is built, so every query that shows a
-- customer id goes through one rule and no raw id it hides reaches a page, a download or the scores CSV.
-- customer_label(customer_id, show_pii): the id as it may be shown. An id that looks like an e-mail address
-- (it has an @, ASCII or fullwidth) or a phone number (only digits and phone punctuation, at least 7 digits,
-- with a leading + or a separator: '+44 20 7946 0958', '(555) 123-4567'; a plain run of digits is an ordinary
-- id) is replaced by a stable pseudonym unless show_pii: 'anon-' and 12 hex digits of SHA-256 over the key in
-- pseudonym_key ($pseudonym_key: a secret kept in the state folder, access.pseudonym_key) and the id. The same id gives the
-- same pseudonym on every page and in every download, and it cannot be turned back into the id without the key.
-- Other ids are shown as they are.
-- Params: $pseudonym_key
-- Reads: none
-- Creates: customer_label(), pseudonym_key
create or replace macro customer_label(customer_id, show_pii) as (
    case
        when customer_id is null or coalesce(show_pii, false) then customer_id
        when regexp_matches(customer_id, '[@＠]')
            or (
                regexp_full_match(customer_id, '[+(]?[0-9][0-9 ().\-]*[0-9]')
                and length(regexp_replace(customer_id, '[^0-9]', '', 'g')) >= 7
                and regexp_matches(customer_id, '^[+]|[ ().\-]')
            )
            then 'anon-' || left(sha256((select key from pseudonym_key) || customer_id), 12)
        else customer_id
    end
);

create or replace table pseudonym_key as select $pseudonym_key as key;
