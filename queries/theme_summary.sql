-- Grain: one row per theme of the comment themes (themes: every theme listed, also with no text in the range; then
-- the untheme-able groups -1 no clear theme, -2 other language, -3 empty or no words), for texts of $source
-- ('survey' comments, 'ticket' subjects and bodies, or 'any') written on a local day between $start_date and
-- $end_date (null = open end), for the segment (texts of people with no valid order only without a filter):
--   fitted_texts = the distinct texts of the export the fit put in the theme (any date, segment and source);
--   texts, text_share = texts / all texts of the source in the range;
--   nps_responses, mean_nps_score (0-10), nps (100 x (promoters - detractors) / NPS responses); csat_responses,
--   mean_csat_score (1-5), csat (share 4-5); mean_sentiment (VADER compound, -1..1, English texts only);
--   anchor_orders with a text of the theme about them placed in the range and at least 90 days old, repurchased_orders,
--   repurchase_rate_90d with its 95% Wilson interval; the same for every other anchor order of the range
--   (other_anchor_orders = all anchor orders - the theme's; other_rate_90d, other_ci_low, other_ci_high);
--   rate_gap = other_rate_90d - repurchase_rate_90d;
--   recent_texts / recent_total: the theme's and all texts in the 91 days ending on the as-of day, prior_texts /
--   prior_total in the 365 days before those (whatever the range); is_rising when the recent share is at least 1.5
--   times the prior share (or the theme is new) and a two-proportion z-test gives z >= 3.
-- Rows sorted by theme_id with the themes first (largest theme of the fit first), then -1, -2, -3.
-- Reads themes, cube_theme_days, cube_theme_day_groups and cube_reason_day_groups (all anchor orders), summed over
-- the filter's seg_keys (without a filter, their totals under seg_key 0).
-- Params: $source, $start_date, $end_date, $channels, $regions, $categories, $tiers
-- Reads: cube_reason_day_groups, cube_theme_day_groups, cube_theme_days, model_info, segment_keys_with_total(), themes, wilson_high(), wilson_low()
with keys as (
    select seg_key from segment_keys_with_total($channels, $regions, $categories, $tiers)
),

days as (
    select cube_theme_days.*
    from cube_theme_days
    where seg_key in (select seg_key from keys)
      and ($source = 'any' or source = $source)
),

in_range as (
    select
        theme_id,
        sum(texts) as texts,
        sum(nps_responses) as nps_responses,
        sum(nps_score_sum) as nps_score_sum,
        sum(nps_promoters) as nps_promoters,
        sum(nps_detractors) as nps_detractors,
        sum(csat_responses) as csat_responses,
        sum(csat_score_sum) as csat_score_sum,
        sum(csat_satisfied) as csat_satisfied,
        sum(sentiment_sum) as sentiment_sum,
        sum(sentiment_texts) as sentiment_texts
    from days
    where (cast($start_date as date) is null or text_day >= cast($start_date as date))
      and (cast($end_date as date) is null or text_day <= cast($end_date as date))
    group by theme_id
),

recent as (
    select
        days.theme_id,
        sum(days.texts) filter (where days.text_day > model_info.as_of - 91) as recent_texts,
        sum(days.texts) filter (where days.text_day <= model_info.as_of - 91 and days.text_day > model_info.as_of - 456)
            as prior_texts
    from days
    cross join model_info
    group by days.theme_id
),

recent_totals as (
    select sum(recent_texts) as recent_total, sum(prior_texts) as prior_total from recent
),

anchors_in_range as (
    select
        theme_id,
        sum(anchor_orders) as anchor_orders,
        sum(repurchased_orders) as repurchased_orders
    from cube_theme_day_groups
    where seg_key in (select seg_key from keys)
      and source = $source
      and (cast($start_date as date) is null or anchor_day >= cast($start_date as date))
      and (cast($end_date as date) is null or anchor_day <= cast($end_date as date))
    group by theme_id
),

all_anchors as (
    select
        coalesce(sum(anchor_orders), 0) as anchor_orders,
        coalesce(sum(repurchased_orders), 0) as repurchased_orders
    from cube_reason_day_groups
    where fact_kind = 'all'
      and seg_key in (select seg_key from keys)
      and (cast($start_date as date) is null or anchor_day >= cast($start_date as date))
      and (cast($end_date as date) is null or anchor_day <= cast($end_date as date))
),

joined as (
    select
        themes.theme_id,
        themes.label,
        themes.top_terms,
        themes.texts as fitted_texts,
        cast(coalesce(in_range.texts, 0) as bigint) as texts,
        sum(coalesce(in_range.texts, 0)) over () as all_texts,
        cast(coalesce(in_range.nps_responses, 0) as bigint) as nps_responses,
        in_range.nps_score_sum,
        in_range.nps_promoters,
        in_range.nps_detractors,
        cast(coalesce(in_range.csat_responses, 0) as bigint) as csat_responses,
        in_range.csat_score_sum,
        in_range.csat_satisfied,
        in_range.sentiment_sum,
        in_range.sentiment_texts,
        cast(coalesce(anchors_in_range.anchor_orders, 0) as bigint) as anchor_orders,
        cast(coalesce(anchors_in_range.repurchased_orders, 0) as bigint) as repurchased_orders,
        cast(all_anchors.anchor_orders - coalesce(anchors_in_range.anchor_orders, 0) as bigint) as other_anchor_orders,
        cast(all_anchors.repurchased_orders - coalesce(anchors_in_range.repurchased_orders, 0) as bigint)
            as other_repurchased_orders,
        cast(coalesce(recent.recent_texts, 0) as bigint) as recent_texts,
        cast(coalesce(recent_totals.recent_total, 0) as bigint) as recent_total,
        cast(coalesce(recent.prior_texts, 0) as bigint) as prior_texts,
        cast(coalesce(recent_totals.prior_total, 0) as bigint) as prior_total
    from themes
    cross join all_anchors
    cross join recent_totals
    left join in_range on in_range.theme_id = themes.theme_id
    left join anchors_in_range on anchors_in_range.theme_id = themes.theme_id
    left join recent on recent.theme_id = themes.theme_id
),

rates as (
    select
        *,
        recent_texts / nullif(recent_total, 0) as recent_share,
        prior_texts / nullif(prior_total, 0) as prior_share,
        (recent_texts + prior_texts) / nullif(recent_total + prior_total, 0) as pooled_share
    from joined
),

final as (
    select
        theme_id,
        label,
        top_terms,
        fitted_texts,
        texts,
        texts / nullif(all_texts, 0) as text_share,
        nps_responses,
        nps_score_sum / nullif(nps_responses, 0) as mean_nps_score,
        100.0 * (nps_promoters - nps_detractors) / nullif(nps_responses, 0) as nps,
        csat_responses,
        csat_score_sum / nullif(csat_responses, 0) as mean_csat_score,
        csat_satisfied / nullif(csat_responses, 0) as csat,
        sentiment_sum / nullif(sentiment_texts, 0) as mean_sentiment,
        anchor_orders,
        repurchased_orders,
        repurchased_orders / nullif(anchor_orders, 0) as repurchase_rate_90d,
        wilson_low(repurchased_orders, anchor_orders) as ci_low,
        wilson_high(repurchased_orders, anchor_orders) as ci_high,
        other_anchor_orders,
        other_repurchased_orders / nullif(other_anchor_orders, 0) as other_rate_90d,
        wilson_low(other_repurchased_orders, other_anchor_orders) as other_ci_low,
        wilson_high(other_repurchased_orders, other_anchor_orders) as other_ci_high,
        other_repurchased_orders / nullif(other_anchor_orders, 0) - repurchased_orders / nullif(anchor_orders, 0)
            as rate_gap,
        recent_texts,
        recent_total,
        prior_texts,
        prior_total,
        coalesce(
            theme_id > 0
            and recent_texts > 0
            and (prior_share = 0 or recent_share >= 1.5 * prior_share)
            and (recent_share - prior_share)
                / nullif(sqrt(pooled_share * (1 - pooled_share) * (1.0 / recent_total + 1.0 / prior_total)), 0) >= 3,
            false
        ) as is_rising
    from rates
)

select * from final
order by theme_id < 0, abs(theme_id)
