-- Grain: one row per previous value x current value of $dimension ('lifecycle_state' or 'rfm_segment') with at
-- least one customer of the segment: how many customers moved from where they were $days_back days before the
-- as-of date (7 or 28; 'none' = no valid order by then) to where they are now, and their value at stake now.
-- Unchanged pairs (from = to) are rows too. An unknown $dimension gives no rows. Reads cube_churn_movements.
-- Params: $days_back, $dimension, $channels, $regions, $categories, $tiers
-- Reads: cube_churn_movements, segment_keys()
select
    case $dimension
        when 'lifecycle_state' then previous_lifecycle_state
        when 'rfm_segment' then previous_rfm_segment
    end as previous_value,
    case $dimension
        when 'lifecycle_state' then lifecycle_state
        when 'rfm_segment' then rfm_segment
    end as current_value,
    cast(sum(customers) as bigint) as customers,
    sum(value_at_stake_365d) as value_at_stake_365d
from cube_churn_movements
where days_back = $days_back
  and $dimension in ('lifecycle_state', 'rfm_segment')
  and seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
group by all
order by customers desc, previous_value, current_value
