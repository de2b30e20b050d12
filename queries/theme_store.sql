-- Grain: creates themes (one row per theme: theme_id 1..n by size, then the special ids -1 no clear theme,
-- -2 other language, -3 no words; label, top_terms, tone, texts, text_rows) and theme_texts (one row per distinct
-- masked text: its theme_id, theme_weight, VADER sentiment, word_count, language) from the fit dashboard/themes.py
-- registers as computed_themes and computed_theme_texts (the graph's python node themes, same fit at every as-of).
-- Params: none
-- Reads: computed_theme_texts, computed_themes
-- Creates: theme_texts, themes
create table themes as
select theme_id, label, top_terms, tone, texts, text_rows
from computed_themes;

create table theme_texts as
select text, theme_id, theme_weight, sentiment, word_count, language
from computed_theme_texts;
