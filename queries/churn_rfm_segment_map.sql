-- Grain: one row per recency_score x frequency_monetary_score (1-5 each, 25 rows): the RFM segment of that
-- cell; creates the table rfm_segment_map of the as-of schema (the table in docs/churn.md, checked by a test).
-- Params: none
-- Reads: none
-- Creates: rfm_segment_map
create table rfm_segment_map as
select recency_score, frequency_monetary_score, rfm_segment
from (
    values
        (5, 5, 'Champions'), (5, 4, 'Champions'),
        (5, 3, 'Potential loyalists'), (5, 2, 'Potential loyalists'), (5, 1, 'New'),
        (4, 5, 'Loyal'), (4, 4, 'Loyal'),
        (4, 3, 'Potential loyalists'), (4, 2, 'Potential loyalists'), (4, 1, 'Promising'),
        (3, 5, 'Loyal'), (3, 4, 'Loyal'),
        (3, 3, 'Needs attention'), (3, 2, 'Needs attention'), (3, 1, 'Hibernating'),
        (2, 5, 'Can''t lose them'), (2, 4, 'At risk'), (2, 3, 'At risk'),
        (2, 2, 'Hibernating'), (2, 1, 'Hibernating'),
        (1, 5, 'Can''t lose them'), (1, 4, 'At risk'), (1, 3, 'At risk'),
        (1, 2, 'Lost'), (1, 1, 'Lost')
) as segment_map (recency_score, frequency_monetary_score, rfm_segment)
