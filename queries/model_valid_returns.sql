-- Grain: one row per usable return requested before $cutoff_at.
-- Params: $cutoff_at
-- Reads: clean_returns
-- Creates: valid_returns
create table valid_returns as
select return_id, order_id, customer_id, requested_at, reason, refund_amount
from main.clean_returns
where requested_at < $cutoff_at
