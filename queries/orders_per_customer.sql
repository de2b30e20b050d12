-- Grain: one row per order_count_bucket ('1', '2', '3', '4', '5', '6-10', '11+'), all seven always
-- present: the segment's customers by their number of valid orders by the cutoff, with their
-- lifetime revenue. customer_share is the bucket's share of the segment's customers.
-- Params: $channels, $regions, $categories, $tiers
with segment as (
    select * from segment_customers($channels, $regions, $categories, $tiers)
),

buckets as (
    select order_count_bucket, bucket_order
    from (
        values ('1', 1), ('2', 2), ('3', 3), ('4', 4), ('5', 5), ('6-10', 6), ('11+', 7)
    ) as bucket_list (order_count_bucket, bucket_order)
),

bucketed as (
    select
        case
            when count_orders <= 5 then cast(count_orders as varchar)
            when count_orders <= 10 then '6-10'
            else '11+'
        end as order_count_bucket,
        revenue
    from segment
),

bucket_totals as (
    select order_count_bucket, count(*) as customers, sum(revenue) as revenue
    from bucketed
    group by order_count_bucket
),

final as (
    select
        buckets.order_count_bucket,
        buckets.bucket_order,
        coalesce(bucket_totals.customers, 0) as customers,
        coalesce(bucket_totals.customers, 0) / nullif(sum(bucket_totals.customers) over (), 0) as customer_share,
        coalesce(bucket_totals.revenue, 0) as revenue
    from buckets
    left join bucket_totals on bucket_totals.order_count_bucket = buckets.order_count_bucket
)

select * from final
order by bucket_order
