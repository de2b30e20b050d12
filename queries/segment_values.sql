-- Grain: one row per segment dimension x value present among customers with a valid order,
-- with its customer count; feeds the sidebar filter options.
-- Params: none
-- Reads: customer_summary
with dimensions as (
    select 'acquisition_channel' as dimension, acquisition_channel as segment_value from customer_summary
    union all
    select 'region' as dimension, region as segment_value from customer_summary
    union all
    select 'first_category' as dimension, first_category as segment_value from customer_summary
    union all
    select 'loyalty_tier' as dimension, loyalty_tier as segment_value from customer_summary
)

select dimension, segment_value, count(*) as customers
from dimensions
group by dimension, segment_value
order by dimension, customers desc, segment_value
