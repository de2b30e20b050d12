-- Grain: one row per contract table: usable rows as of now (clean views), and the earliest and
-- latest timestamp of its main time column (UTC).
-- Params: none
-- Reads: clean_customers, clean_orders, clean_returns, clean_surveys, clean_tickets
with tables as (
    select 'orders' as table_name, count(*) as usable_rows, min(ordered_at) as earliest_at, max(ordered_at) as latest_at
    from main.clean_orders
    union all
    select 'surveys', count(*), min(submitted_at), max(submitted_at) from main.clean_surveys
    union all
    select 'customers', count(*), min(created_at), max(created_at) from main.clean_customers
    union all
    select 'tickets', count(*), min(opened_at), max(opened_at) from main.clean_tickets
    union all
    select 'returns', count(*), min(requested_at), max(requested_at) from main.clean_returns
)

select * from tables
