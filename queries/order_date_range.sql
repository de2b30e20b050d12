-- Grain: one row: the local date of the first valid order as of the cutoff (first_order_date) and the as-of
-- date: the range the sidebar's dates may take (before the first order every metric would read 0 without
-- meaning it; the latest order is Database.default_as_of).
-- Reads customer_summary (the first order is some customer's first order): one row per customer, not every order.
-- Params: none
-- Reads: customer_summary, model_info
with bounds as (
    select min(first_ordered_local) as first_ordered_local
    from customer_summary
),

final as (
    select
        cast(bounds.first_ordered_local as date) as first_order_date,
        cast(model_info.as_of as date) as as_of
    from bounds, model_info
)

select * from final
