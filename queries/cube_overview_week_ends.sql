-- Grain: one row per week_index 0 .. N counted back from the as-of date in 7-day windows (week 0 ends on the
-- as-of date, week k on as_of - 7k), far enough back that the oldest week ends before every valid order and
-- survey response. week_cutoff_at is the first UTC instant after week_end's local day (how weekly_kpis.sql
-- defines each week's cutoff). A helper of the other cube_overview_* tables.
-- Params: none
-- Reads: model_info, valid_orders, valid_surveys
-- Creates: cube_overview_week_ends
create table cube_overview_week_ends as
with span as (
    select
        model_info.as_of,
        model_info.timezone,
        least(
            (select min(cast(ordered_local as date)) from valid_orders),
            (select min(cast(submitted_local as date)) from valid_surveys),
            model_info.as_of
        ) as earliest_day
    from model_info
),

week_numbers as (
    select
        unnest(generate_series(0, date_diff('day', earliest_day, as_of) // 7 + 2)) as week_index,
        as_of,
        timezone
    from span
),

week_ends as (
    select
        week_index,
        cast(as_of - to_days(cast(7 * week_index as integer)) as date) as week_end,
        timezone
    from week_numbers
)

select
    week_index,
    week_end,
    timezone('UTC', timezone(timezone, cast(week_end + to_days(1) as timestamp))) as week_cutoff_at
from week_ends
order by week_index
