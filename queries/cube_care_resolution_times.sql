-- Grain: one row per resolved valid ticket of a customer of customer_summary: its resolution_days (as in
-- valid_tickets), its customer's seg_key and bucket, the ticket's 1-100 equal-count slice of all resolved
-- tickets by resolution_days (ntile: bucket b holds no longer resolution than bucket b + 1). Sorted by
-- (bucket, seg_key, resolution_days) so a query reading one or two buckets skips the other row groups.
-- care_summary finds the buckets holding a segment's middle ticket(s) in cube_care_resolution_buckets and
-- reads only those buckets here, for an exact median.
-- Params: none
-- Reads: customer_summary, valid_tickets
-- Creates: cube_care_resolution_times
create table cube_care_resolution_times as
with resolved as (
    select customer_summary.seg_key, valid_tickets.resolution_days
    from valid_tickets
    inner join customer_summary on customer_summary.customer_id = valid_tickets.customer_id
    where valid_tickets.is_resolved
)

select
    cast(ntile(100) over (order by resolution_days) as integer) as bucket,
    seg_key,
    resolution_days
from resolved
order by bucket, seg_key, resolution_days
