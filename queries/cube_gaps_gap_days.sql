-- Grain: one row per seg_key x gap_day: the number of gaps between consecutive valid orders of the segment's
-- customers that last gap_day whole days (rounded down), from cube_gaps_order_gaps. The histogram a segment
-- filter sums to count the gaps and find the gap_day(s) holding the median.
-- Params: none
-- Reads: cube_gaps_order_gaps
-- Creates: cube_gaps_gap_days
create table cube_gaps_gap_days as
select seg_key, gap_day, count(*) as gaps
from cube_gaps_order_gaps
group by seg_key, gap_day
order by seg_key, gap_day
