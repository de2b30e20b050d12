-- Grain: one row, the churn model fitted at the as-of date (see churn_model_fit.sql).
-- Params: none
-- Reads: churn_model
select as_of, method, n_customers, r, alpha, a, b, gg_p, gg_q, gg_v, message, season_index, season_message
from churn_model
