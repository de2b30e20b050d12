-- Grain: one row per seg_key x bucket of cube_care_resolution_times with at least one resolved ticket:
-- tickets = resolved tickets of the seg_key's customers in that resolution-time slice (at most
-- segments x 100 rows). A segment's cumulative counts over buckets locate the bucket(s) of its median
-- ticket(s). Read by care_summary.
-- Params: none
-- Reads: cube_care_resolution_times
-- Creates: cube_care_resolution_buckets
create table cube_care_resolution_buckets as
select seg_key, bucket, count(*) as tickets
from cube_care_resolution_times
group by seg_key, bucket
order by seg_key, bucket
