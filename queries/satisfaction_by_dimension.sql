-- Grain: one row per dimension_value of $dimension ('touchpoint', 'acquisition_channel' or 'region') with at
-- least one response submitted on a local date between $start_date and $end_date (null = open end).
-- nps = 100 x (share 9-10 - share 0-6) of NPS responses; csat = share of CSAT responses scoring 4-5.
-- Responses of customers with no orders have acquisition_channel and region 'unknown'; they count only
-- without segment filters. Another $dimension returns no rows.
-- Params: $dimension, $start_date, $end_date, $channels, $regions, $categories, $tiers
with responses as (
    select
        case $dimension
            when 'touchpoint' then valid_surveys.touchpoint
            when 'acquisition_channel' then coalesce(customer_summary.acquisition_channel, 'unknown')
            when 'region' then coalesce(customer_summary.region, 'unknown')
        end as dimension_value,
        valid_surveys.kind,
        valid_surveys.score
    from segment_surveys($channels, $regions, $categories, $tiers) as valid_surveys
    left join customer_summary on customer_summary.customer_id = valid_surveys.customer_id
    where (cast($start_date as date) is null or cast(valid_surveys.submitted_local as date) >= cast($start_date as date))
      and (cast($end_date as date) is null or cast(valid_surveys.submitted_local as date) <= cast($end_date as date))
),

final as (
    select
        dimension_value,
        count(*) filter (where kind = 'nps') as nps_responses,
        100.0 * (
            count(*) filter (where kind = 'nps' and score >= 9)
            - count(*) filter (where kind = 'nps' and score <= 6)
        ) / nullif(count(*) filter (where kind = 'nps'), 0) as nps,
        count(*) filter (where kind = 'csat') as csat_responses,
        count(*) filter (where kind = 'csat' and score >= 4)
            / nullif(count(*) filter (where kind = 'csat'), 0) as csat
    from responses
    where dimension_value is not null
    group by dimension_value
)

select * from final
order by dimension_value
