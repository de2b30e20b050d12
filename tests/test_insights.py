"""'What changed this week': movements relative to the total, rises and falls, a minimum size, no sentence for
values not recorded, and "Nothing moved apart from the total" when that is the truth."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from dashboard import hygiene, insights
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests.exports import write_table

METRICS = ("orders", "revenue", "new_customers", "active_customers")


def movements(rows: dict) -> pd.DataFrame:
    """Rows of segment_movements.sql from {(dimension, value): (previous, this)} for orders; the other metrics
    follow orders (revenue at $50 an order, customers at one order each, none new)."""
    records = []
    for (dimension, value), (previous, this) in rows.items():
        for metric in METRICS:
            scale = {"orders": 1, "revenue": 50.0, "new_customers": 0, "active_customers": 1}[metric]
            before, after = previous * scale, this * scale
            records.append({"dimension": dimension, "segment_value": value, "metric": metric, "this_week": after,
                            "previous_week": before, "change": after - before,
                            "change_rate": (after - before) / before if before else None})
    return pd.DataFrame(records)


def test_segments_rising_with_the_total_say_nothing_moved_apart_from_it():
    """The issue's case: every segment rose about as much as the total; five "rose" sentences said nothing."""
    frame = movements({("acquisition_channel", "email"): (400, 486), ("acquisition_channel", "referral"): (300, 364),
                       ("loyalty_tier", "none"): (500, 610), ("loyalty_tier", "gold"): (200, 240)})
    sentences = insights.movement_sentences(frame)
    assert sentences[0].startswith("Company-wide, week over week: orders rose 21.4% (700 → 850)")
    assert sentences[1].startswith("Nothing moved apart from the total")
    assert len(sentences) == 2


def test_a_segment_that_falls_while_the_total_rises_is_named_with_the_gap():
    frame = movements({("acquisition_channel", "paid_social"): (400, 300), ("acquisition_channel", "email"): (400, 540),
                       ("region", "Europe"): (800, 840)})
    sentences = insights.movement_sentences(frame)
    assert sentences[0].startswith("Company-wide, week over week: orders rose 5.0% (800 → 840)")
    named = " ".join(sentences[1:])
    assert "customers acquired via paid social fell 25.0% (400 → 300) while all orders rose 5.0%: 120 fewer than" \
           in named
    assert "customers acquired via e-mail rose 35.0% (400 → 540)" in named
    assert "Europe" not in named  # the only region is the total itself
    assert all(hygiene.text_problems(sentence) == [] for sentence in sentences)


def test_values_not_recorded_never_get_a_sentence():
    """Orders-only exports: "acquired via unknown", "in unknown", "none-tier" repeated one fact four times."""
    frame = movements({("acquisition_channel", "unknown"): (400, 200), ("acquisition_channel", "email"): (400, 640),
                       ("region", "unknown"): (800, 840), ("first_category", "unknown"): (800, 840),
                       ("loyalty_tier", "none"): (800, 840)})
    sentences = insights.movement_sentences(frame)
    text = " ".join(sentences)
    assert "unknown" not in text and "Not recorded" not in text and "none" not in text
    assert "e-mail rose 60.0%" in text


def test_small_or_noisy_movements_are_left_out():
    # 49 -> 36 orders: 27% down against a flat total, 13 orders short, but that is within chance for 49
    # (13 / sqrt(49) = 1.9 standard deviations).
    frame = movements({("acquisition_channel", "referral"): (49, 36), ("acquisition_channel", "email"): (951, 964)})
    assert insights.movement_sentences(frame)[1].startswith("Nothing moved apart from the total")
    # 49 -> 34 is 15 short: 2.1 standard deviations, named.
    frame = movements({("acquisition_channel", "referral"): (49, 34), ("acquisition_channel", "email"): (951, 966)})
    assert "referral fell 30.6%" in insights.movement_sentences(frame)[1]
    # 25 -> 17: 32% down, but only 8 orders (the minimum is 10).
    frame = movements({("acquisition_channel", "referral"): (25, 17), ("acquisition_channel", "email"): (975, 983)})
    assert insights.movement_sentences(frame)[1].startswith("Nothing moved apart from the total")
    # Below the minimum base (20 orders last week) nothing is said however large the change.
    frame = movements({("acquisition_channel", "referral"): (10, 40), ("acquisition_channel", "email"): (990, 960)})
    assert insights.movement_sentences(frame)[1].startswith("Nothing moved apart from the total")


def test_one_sentence_per_segment_biggest_surprise_first():
    frame = movements({("acquisition_channel", "paid_social"): (1000, 600), ("acquisition_channel", "email"): (1000, 1400),
                       ("acquisition_channel", "referral"): (1000, 1000), ("region", "Europe"): (1500, 1700),
                       ("region", "UK"): (1500, 1300)})
    sentences = insights.movement_sentences(frame)[1:]
    assert len(sentences) == len({sentence.split(" rose")[0].split(" fell")[0] for sentence in sentences})
    assert "paid social" in sentences[0] or "e-mail" in sentences[0]
    assert any("in the UK fell" in sentence for sentence in sentences)


def test_what_changed_on_real_exports(tmp_path, open_database):
    """End to end on DuckDB: 60 email orders a week become 20 while referral orders stay at 60; the total falls
    40%, email falls 67%, referral holds level: both named against the total."""
    as_of = date(2026, 11, 15)
    rows = []
    for week, counts in ((1, {"email": 60, "referral": 60}), (0, {"email": 20, "referral": 60})):
        for channel, count in counts.items():
            for number in range(count):
                day = as_of - timedelta(days=7 * week + number % 7)
                customer = f"{channel}-{number}"
                rows.append({"order_id": f"{channel}-{week}-{number}", "customer_id": customer,
                             "ordered_at": datetime(day.year, day.month, day.day, 12), "revenue": 40.0,
                             "channel": channel})
                rows.append({"order_id": f"{channel}-first-{week}-{number}", "customer_id": customer,
                             "ordered_at": datetime(2026, 1, 5, 12), "revenue": 40.0, "channel": channel})
    data_dir = tmp_path / "exports"
    write_table(data_dir, "orders", pd.DataFrame(rows).drop_duplicates("order_id"))
    database = open_database(data_dir)
    frame = run_query(database.cursor(as_of), "segment_movements", channels=None, regions=None, categories=None,
                      tiers=None)
    sentences = insights.movement_sentences(frame)
    assert sentences[0].startswith("Company-wide, week over week: orders fell 33.3% (120 → 80)")
    text = " ".join(sentences[1:])
    assert "Orders from customers acquired via e-mail fell 66.7% (60 → 20) while all orders fell 33.3%" in text
    assert "Orders from customers acquired via referral held level (60 → 60) while all orders fell 33.3%" in text
