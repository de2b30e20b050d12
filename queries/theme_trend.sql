-- Grain: one row per calendar $grain period (local day of the text) x theme_id (every theme of themes, -1 to -3
-- included) for periods starting between $start_date and $end_date (null = open end) that hold at least one text
-- of $source ('survey', 'ticket' or 'any') for the segment: texts, period_texts (all texts of the period),
-- text_share = texts / period_texts; is_partial_period when the period ends after the as-of day; is_small_sample
-- when period_texts < 30 (its shares swing by chance).
-- Reads cube_theme_days, summed per period over the filter's seg_keys (without a filter, its totals under seg_key 0).
-- Params: $grain, $source, $start_date, $end_date, $channels, $regions, $categories, $tiers
-- Reads: cube_theme_days, period_of_as_of(), segment_keys_with_total(), themes
with per_theme as (
    select
        cast(date_trunc(lower($grain), text_day) as date) as period_start,
        theme_id,
        sum(texts) as texts
    from cube_theme_days
    where seg_key in (select seg_key from segment_keys_with_total($channels, $regions, $categories, $tiers))
      and ($source = 'any' or source = $source)
      and lower($grain) in ('week', 'month', 'quarter')
    group by 1, 2
),

periods as (
    select period_start, sum(texts) as period_texts
    from per_theme
    where (cast($start_date as date) is null or period_start >= cast($start_date as date))
      and (cast($end_date as date) is null or period_start <= cast($end_date as date))
    group by period_start
),

final as (
    select
        periods.period_start,
        themes.theme_id,
        cast(coalesce(per_theme.texts, 0) as bigint) as texts,
        cast(periods.period_texts as bigint) as period_texts,
        coalesce(per_theme.texts, 0) / periods.period_texts as text_share,
        coalesce(periods.period_start = current_period.period_start and current_period.is_incomplete, false)
            as is_partial_period,
        periods.period_texts < 30 as is_small_sample
    from periods
    cross join themes
    cross join period_of_as_of(lower($grain)) as current_period
    left join per_theme
        on per_theme.period_start = periods.period_start
        and per_theme.theme_id = themes.theme_id
)

select * from final
order by period_start, theme_id < 0, abs(theme_id)
