-- Grain: one row per order_count_bucket ('1', '2', '3', '4', '5', '6-10', '11+'), all seven always
-- present: the segment's customers by their number of valid orders by the cutoff, with their
-- lifetime revenue. customer_share is the bucket's share of the segment's customers.
-- Reads the aggregate cube_repeat_customers (seg_key x order-count bucket).
-- Params: $channels, $regions, $categories, $tiers
-- Reads: cube_repeat_customers, segment_keys()
with buckets as (
    select order_count_bucket, bucket_order
    from (
        values ('1', 1), ('2', 2), ('3', 3), ('4', 4), ('5', 5), ('6-10', 6), ('11+', 7)
    ) as bucket_list (order_count_bucket, bucket_order)
),

bucket_totals as (
    select bucket_order, cast(sum(customers) as bigint) as customers, sum(revenue) as revenue
    from cube_repeat_customers
    where seg_key in (select seg_key from segment_keys($channels, $regions, $categories, $tiers))
    group by bucket_order
),

final as (
    select
        buckets.order_count_bucket,
        buckets.bucket_order,
        coalesce(bucket_totals.customers, 0) as customers,
        coalesce(bucket_totals.customers, 0) / nullif(sum(bucket_totals.customers) over (), 0) as customer_share,
        coalesce(bucket_totals.revenue, 0) as revenue
    from buckets
    left join bucket_totals on bucket_totals.bucket_order = buckets.bucket_order
)

select * from final
order by bucket_order
