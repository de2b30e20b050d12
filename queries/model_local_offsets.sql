-- Grain: one row per 15-minute UTC slot from the earliest to the latest usable order or survey response
-- before $cutoff_at, with utc_offset = the configured time zone's local time minus UTC at that slot.
-- Local times are ordered_at + utc_offset: one time zone lookup per slot (about 35,000 a year) instead of
-- one per row. Exact for every zone since 1990 (older rows are unusable): offsets are whole quarter hours
-- and change only at quarter-hour UTC instants.
-- Params: $cutoff_at, $timezone
-- Reads: clean_orders, clean_surveys
-- Creates: local_offsets
create table local_offsets as
with bounds as (
    select min(low) as low, max(high) as high
    from (
        select min(ordered_at) as low, max(ordered_at) as high from main.clean_orders where ordered_at < $cutoff_at
        union all
        select min(submitted_at) as low, max(submitted_at) as high
        from main.clean_surveys
        where submitted_at < $cutoff_at
    )
),

slots as (
    select unnest(generate_series(time_bucket(interval 15 minute, low), high, interval 15 minute)) as slot_utc
    from bounds
    where low is not null
)

select slot_utc, timezone($timezone, slot_utc at time zone 'UTC') - slot_utc as utc_offset
from slots
