-- Grain: one row per campaign_id x campaign_group ('treatment', 'holdout') x window_days (30, 60, 90): how the
-- campaign's customers ordered in the window after their send (docs/churn.md, "Campaigns").
-- Members come from the campaigns export (clean_campaigns) and from the campaigns this app recorded when a list
-- was exported (recorded_campaigns: a frame made from the state folder for each run, graph.CALLER_FRAMES); a customer
-- counts once per campaign (the export's copy first, then the earliest send). For each member: did they place a
-- valid order (valid_orders: usable, not cancelled, by the as-of date) in (sent_at, sent_at + window_days days];
-- how many, their revenue, and the discount given on them. discount is read as a share of the list price
-- (revenue x d / (1 - d)) when every valid order's discount is between 0 and 1 (below 1), else as an amount.
-- is_complete: every member's window ended by the end of the as-of day (model_info.cutoff_at).
-- Params: none
-- Reads: clean_campaigns, model_info, recorded_campaigns, valid_orders
with all_members as (
    select
        campaign_id,
        customer_id,
        lower(trim("group")) as campaign_group,
        sent_at,
        nullif(trim(channel), '') as channel,
        nullif(trim(offer), '') as offer,
        0 as source_rank
    from clean_campaigns
    union all
    select campaign_id, customer_id, campaign_group, sent_at, channel, offer, 1 as source_rank
    from recorded_campaigns
),

ranked_members as (
    select
        *,
        row_number() over (
            partition by campaign_id, customer_id order by source_rank, sent_at, campaign_group
        ) as copy_number
    from all_members
    where campaign_group in ('treatment', 'holdout')
),

members as (
    select campaign_id, customer_id, campaign_group, sent_at, channel, offer
    from ranked_members
    where copy_number = 1
),

windows as (
    select window_days from (values (30), (60), (90)) as windows (window_days)
),

discount_kind as (
    select coalesce(max(discount) < 1 and min(discount) >= 0, false) as is_share
    from valid_orders
    where discount is not null
),

member_windows as (
    select
        members.*,
        windows.window_days,
        members.sent_at + to_days(cast(windows.window_days as integer)) as window_end_at
    from members
    cross join windows
),

member_orders as (
    select
        member_windows.campaign_id,
        member_windows.customer_id,
        member_windows.window_days,
        count(*) as orders,
        sum(valid_orders.revenue) as revenue,
        sum(
            case
                when valid_orders.discount is null or valid_orders.discount <= 0 then 0
                when discount_kind.is_share then valid_orders.revenue * valid_orders.discount
                    / (1 - valid_orders.discount)
                else valid_orders.discount
            end
        ) as discount_given
    from member_windows
    inner join valid_orders
        on valid_orders.customer_id = member_windows.customer_id
       and valid_orders.ordered_at > member_windows.sent_at
       and valid_orders.ordered_at <= member_windows.window_end_at
    cross join discount_kind
    group by member_windows.campaign_id, member_windows.customer_id, member_windows.window_days
),

final as (
    select
        member_windows.campaign_id,
        member_windows.campaign_group,
        member_windows.window_days,
        min(member_windows.sent_at) as first_sent_at,
        max(member_windows.sent_at) as last_sent_at,
        max(member_windows.window_end_at) as window_end_at,
        max(member_windows.window_end_at) <= max(model_info.cutoff_at) as is_complete,
        count(*) as customers,
        count(member_orders.customer_id) as customers_ordered,
        cast(coalesce(sum(member_orders.orders), 0) as bigint) as orders,
        coalesce(sum(member_orders.revenue), 0) as revenue,
        coalesce(sum(member_orders.discount_given), 0) as discount_given,
        min(member_windows.channel) as channel,
        min(member_windows.offer) as offer
    from member_windows
    left join member_orders
        on member_orders.campaign_id = member_windows.campaign_id
       and member_orders.customer_id = member_windows.customer_id
       and member_orders.window_days = member_windows.window_days
    cross join model_info
    group by member_windows.campaign_id, member_windows.campaign_group, member_windows.window_days
)

select * from final
order by first_sent_at, campaign_id, campaign_group desc, window_days
