-- Grain: one row per days_back (7, 28) x seg_key x previous_lifecycle_state x lifecycle_state x
-- previous_rfm_segment x rfm_segment: the customers of customer_scores by where they were days_back days before
-- the as-of date (customer_movements; 'none' = no valid order by then) and where they are now, with their value at
-- stake. seg_key as in the other churn cubes (-1: a scored customer missing from customer_summary).
-- Params: none
-- Reads: customer_movements, customer_scores, customer_summary
-- Creates: cube_churn_movements
create table cube_churn_movements as
with periods as (
    select days_back from (values (7), (28)) as periods (days_back)
),

final as (
    select
        periods.days_back,
        coalesce(customer_summary.seg_key, -1) as seg_key,
        coalesce(customer_movements.previous_lifecycle_state, 'none') as previous_lifecycle_state,
        customer_scores.lifecycle_state,
        coalesce(customer_movements.previous_rfm_segment, 'none') as previous_rfm_segment,
        customer_scores.rfm_segment,
        count(*) as customers,
        sum(customer_scores.value_at_stake_365d) as value_at_stake_365d
    from customer_scores
    cross join periods
    left join customer_movements
        on customer_movements.customer_id = customer_scores.customer_id
       and customer_movements.days_back = periods.days_back
    left join customer_summary on customer_summary.customer_id = customer_scores.customer_id
    group by all
)

select * from final
order by days_back, seg_key, previous_lifecycle_state, lifecycle_state, previous_rfm_segment, rfm_segment
