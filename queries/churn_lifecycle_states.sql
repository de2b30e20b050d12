-- Grain: one row per lifecycle state with at least one customer of the segment (docs/churn.md, "Lifecycle
-- states"): customers, their lifetime revenue, predicted 365-day value, value if they stay, value at stake and
-- expected orders in the next 90 days. Reads the aggregate cube_churn_rfm_cells, summed over the seg_keys of the
-- segment. Value columns are null without a fitted model.
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_churn_rfm_cells, segment_keys()
select
    lifecycle_state,
    cast(sum(customers) as bigint) as customers,
    sum(revenue) as revenue,
    sum(predicted_clv_365d) as predicted_clv_365d,
    sum(value_if_active_365d) as value_if_active_365d,
    sum(value_at_stake_365d) as value_at_stake_365d,
    sum(expected_orders_90d) as expected_orders_90d
from cube_churn_rfm_cells
where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
group by lifecycle_state
order by lifecycle_state
