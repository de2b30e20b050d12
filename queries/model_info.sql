-- Grain: one row, the as-of date this schema is built for, its cutoff (the first UTC instant after the as-of
-- day in the configured time zone, naive UTC) and that time zone: what every other file of the model reads
-- instead of taking them as parameters.
-- Params: $as_of, $cutoff_at, $timezone
-- Reads: none
-- Creates: model_info
create table model_info as
select
    cast($as_of as date) as as_of,
    cast($cutoff_at as timestamp) as cutoff_at,
    cast($timezone as varchar) as timezone
