-- Grain: one row per complaint (ticket) category of the scored customers: the options of the win-back builder's
-- complaint category rule, most customers first, then by name.
-- Params: none
-- Reads: cube_churn_winback_rows
with categories as (
    select unnest(complaint_categories) as complaint_category
    from cube_churn_winback_rows
    where complaint_categories is not null
)

select complaint_category, count(*) as customers
from categories
group by complaint_category
order by customers desc, complaint_category
