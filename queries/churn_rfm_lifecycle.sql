-- Grain: one row per rfm_segment x lifecycle_state with at least one customer of the segment: customers and
-- their mean churn risk. What explains a "Loyal" customer at 98% churn risk: RFM ranks recency against everyone,
-- the lifecycle state against the customer's own rhythm. Reads the aggregate cube_churn_rfm_cells.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_churn_rfm_cells, segment_keys()
select
    rfm_segment,
    lifecycle_state,
    cast(sum(customers) as bigint) as customers,
    sum(churn_risk_sum) / nullif(sum(churn_risk_count), 0) as mean_churn_risk
from cube_churn_rfm_cells
where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
group by rfm_segment, lifecycle_state
order by rfm_segment, lifecycle_state
