"""Synthetic post-purchase exports for the embedded demo, written as Parquet by `generate`.

Layout rule (under out_dir):
- `orders/` is always Hive-partitioned: `orders/year=YYYY/part-NNNNN.parquet`, YYYY the UTC year of
  `ordered_at` and NNNNN the chunk number; the `year` column lives only in the folder name.
- `surveys`, `customers`, `tickets` and `returns` are single files (`surveys.parquet`, ...) when the run fits
  in one chunk (customers <= chunk_customers, 250,000 by default, so the default demo is single files),
  and folders with one file per chunk (`surveys/part-NNNNN.parquet`, ...) otherwise.
A new run first removes `orders/` and both layouts of the other four tables; nothing else in out_dir is touched.

The simulation is BG/NBD-like and vectorised over customers: each customer has a gamma purchase rate and a
beta dropout probability; orders are drawn one purchase at a time for all still-active customers, and after
each order the customer drops out with a probability scaled by what happened at that order.  Effects planted
for a manager to find:
- acquisition grows about 1.8x a year, and first and repeat orders peak in November and December;
- referral and email customers retain best, paid_social and marketplace worst; gold tier retains better;
- detractors (NPS 0-6, CSAT 1-2) come back far less than promoters (NPS 9-10, CSAT 4-5);
- unresolved and slow (> 7 days) tickets push customers away, tickets fixed within a day do not;
- cancelled orders (about 3%, spelled four ways) and returns (about 8%) also raise dropout a little;
- a handful of deterministic data-quality problems: orders with a null customer_id, a duplicated order_id,
  negative revenue, surveys from customer ids without orders, CSAT scores 0 and 7, and the unknown kind "ces";
- two past win-back e-mail campaigns with a 15% holdout (the ``campaigns`` table): one to lapsing repeat
  customers 230 days before the end that worked (its treatment group ordered more in the next 60 days), one to
  one-time buyers 140 days before the end that did not. They are drawn after everything else, from their own
  random stream, so every other table is the same with or without them: the working campaign's holdout is drawn
  less often from customers who ordered in the 60 days after the send, which is what a working campaign shows.
The same seed and arguments give byte-identical files.
"""

from __future__ import annotations

import datetime
import math
import shutil
import sys
from pathlib import Path
from typing import NamedTuple, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

TABLE_NAMES = ("orders", "surveys", "customers", "tickets", "returns", "campaigns")
DEFAULT_CHUNK_CUSTOMERS = 250_000
SECONDS_PER_DAY = 86_400
TIMESTAMP_UTC = pa.timestamp("us", tz="UTC")
PARQUET_COMPRESSION = "zstd"

ACQUISITION_CHANNELS = ("organic_search", "paid_social", "email", "referral", "marketplace")
ACQUISITION_CHANNEL_SHARES = (0.30, 0.26, 0.14, 0.12, 0.18)
ACQUISITION_CHANNEL_DROPOUT = (1.0, 1.55, 0.7, 0.6, 1.5)
MARKETPLACE_CHANNEL = ACQUISITION_CHANNELS.index("marketplace")
EMAIL_CHANNEL = ACQUISITION_CHANNELS.index("email")
REGIONS = ("North America", "Europe", "UK", "Asia Pacific")
REGION_SHARES = (0.45, 0.25, 0.15, 0.15)
LOYALTY_TIERS = ("none", "silver", "gold")
LOYALTY_TIER_SHARES = (0.72, 0.19, 0.09)
LOYALTY_TIER_DROPOUT = (1.0, 0.8, 0.55)

SALES_CHANNELS = ("web", "app", "marketplace")
SALES_MARKETPLACE = SALES_CHANNELS.index("marketplace")
SALES_CHANNEL_SHARES_DIRECT = (0.55, 0.37, 0.08)
SALES_CHANNEL_SHARES_MARKETPLACE = (0.08, 0.07, 0.85)
PRODUCT_CATEGORIES = ("apparel", "footwear", "accessories", "home", "beauty")
PRODUCT_CATEGORY_SHARES = (0.34, 0.18, 0.16, 0.17, 0.15)
PRODUCT_CATEGORY_LIST_PRICE = (55.0, 90.0, 35.0, 70.0, 30.0)
PRODUCT_CATEGORY_RETURN_RATE = (0.085, 0.095, 0.03, 0.04, 0.025)
SIZED_CATEGORIES = (PRODUCT_CATEGORIES.index("apparel"), PRODUCT_CATEGORIES.index("footwear"))

ORDER_STATUSES = ("completed", "fulfilled", "cancelled", "Cancelled", "CANCELED", "canceled")
CANCELLED_SPELLING_SHARES = (0.4, 0.3, 0.15, 0.15)
CANCELLED_SHARE = 0.03
NULL_STATUS_SHARE = 0.001

TICKET_SHARE = 0.115
TICKET_CATEGORIES = ("delivery_delay", "damaged_item", "wrong_item", "billing", "sizing")
TICKET_CATEGORY_SHARES = (0.36, 0.15, 0.12, 0.17, 0.20)
TICKET_OPEN_DELAY_DAYS = ((3.0, 12.0), (2.0, 8.0), (2.0, 8.0), (0.1, 5.0), (2.0, 12.0))
DELIVERY_DELAY, DAMAGED_ITEM, WRONG_ITEM, BILLING, SIZING = range(5)
# Resolution buckets: -1 no ticket, 0 unresolved, 1 under a day, 2 one to three days, 3 three to seven, 4 over seven.
NO_TICKET, UNRESOLVED, UNDER_A_DAY, ONE_TO_THREE_DAYS, THREE_TO_SEVEN_DAYS, OVER_SEVEN_DAYS = range(-1, 5)
RESOLUTION_SHARES = (0.07, 0.30, 0.28, 0.20, 0.15)
RESOLUTION_DAYS_RANGE = ((0.0, 0.0), (0.05, 1.0), (1.0, 3.0), (3.0, 7.0), (7.0, 7.0))
SLOW_RESOLUTION_EXTRA_DAYS = 6.0

RETURN_REASONS = ("too_small", "too_large", "damaged", "not_as_described", "changed_mind")
RETURN_REASON_SHARES_SIZED = (0.30, 0.25, 0.08, 0.17, 0.20)
RETURN_REASON_SHARES_OTHER = (0.02, 0.02, 0.25, 0.30, 0.41)
RETURN_AFTER_TICKET_RATE = 0.5
FULL_REFUND_SHARE = 0.85

# Satisfaction is an order-level 0-10 score (what an NPS answer would be), observed only through surveys.
SATISFACTION_MEAN = 8.0
SATISFACTION_CUSTOMER_SD = 1.3
SATISFACTION_ORDER_SD = 1.5
SATISFACTION_TICKET_SHIFT = (0.0, -4.0, 0.2, -0.5, -1.5, -3.0)  # indexed by resolution bucket + 1
SATISFACTION_DELIVERY_DELAY_SHIFT = -0.5
SATISFACTION_RETURN_SHIFT = -0.5
CSAT_FROM_SATISFACTION = np.array([1, 1, 1, 1, 1, 2, 2, 3, 4, 5, 5])

# Dropout after an order = customer's beta draw x these multipliers, capped at MAX_DROPOUT.
DROPOUT_BETA = (0.8, 1.2)
DROPOUT_BY_SATISFACTION = np.array([2.2] * 7 + [1.0] * 2 + [0.55] * 2)
DROPOUT_BY_TICKET = np.array([1.0, 1.8, 0.85, 1.0, 1.15, 1.5])  # indexed by resolution bucket + 1
DROPOUT_CANCELLED = 1.5
DROPOUT_RETURNED = 1.15
MAX_DROPOUT = 0.95
PURCHASE_RATE_GAMMA = (1.2, 1 / 70)  # shape, scale in purchases per (season-weighted) day: median gap ~6 weeks
ANNUAL_ACQUISITION_GROWTH = 1.8
MONTH_SEASONALITY = (0.85, 0.82, 0.92, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.6, 1.75)
BLACK_FRIDAY_WEEK_BOOST = 1.4
HOUR_OF_DAY_WEIGHTS = (
    1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.8, 3.2, 3.5,
    3.8, 3.6, 3.4, 3.3, 3.4, 3.8, 4.3, 4.8, 5.0, 4.4, 3.2, 2.0,
)

SURVEY_KINDS = ("nps", "csat", "NPS", "CSAT", "ces")
CSAT_SHARE = 0.30
UPPER_CASE_KIND_SHARE = 0.02
SURVEY_RESPONSE_RATE = 0.33
SURVEY_RESPONSE_RATE_AFTER_TICKET = 0.45
TOUCHPOINTS = ("post_delivery", "post_support", "post_return")
COMMENT_RATE_BY_SENTIMENT = (0.35, 0.25, 0.6)  # positive, neutral, negative
PII_COMMENT_SHARE = 0.006
POSITIVE, NEUTRAL, NEGATIVE_DELIVERY, NEGATIVE_QUALITY, NEGATIVE_SUPPORT = range(5)
# "{item}" is filled with a product of the order's category (ITEMS) from the reasons stream (_plant_reasons).
COMMENT_TEMPLATES = (
    (
        "Fast delivery and great quality, will order again!",
        "Great quality, love the {item}.",
        "Love the {item}, exactly as pictured.",
        "Fast delivery, my {item} arrived early. Thank you!",
        "Great value for money, very happy with the {item}.",
        "Support sorted my question in minutes, thank you.",
        "Excellent quality, my new favourite shop.",
    ),
    (
        "Product is fine, delivery took a bit long.",
        "Okay overall, nothing special.",
        "Decent quality for the price.",
        "Runs a little small but I kept it.",
        "Good {item}, packaging could be better.",
    ),
    (
        "Late delivery, my {item} arrived a week late. Disappointed.",
        "Delivery was late and tracking never updated, very frustrating.",
        "Still waiting for my {item}, the delivery is so late.",
        "The courier was late and left my {item} at the wrong address.",
        "Late delivery again, the {item} came two weeks after the promised date.",
    ),
    (
        "Poor quality, the {item} fell apart after two weeks.",
        "The {item} arrived damaged, poor quality packaging.",
        "Not as described, poor quality and the colour is different.",
        "Wrong size sent and the quality feels cheap.",
    ),
    (
        "Support never answered my emails, terrible service.",
        "Support took weeks to sort my refund, really annoying.",
        "Nobody in support resolved my issue, very disappointed.",
        "I was charged twice and support keeps closing my ticket, unacceptable.",
    ),
)
PII_PHONES = ("+1 415 555 0134", "+1 (212) 555-0199", "+44 20 7946 0321", "+1 312 555 0117", "+61 2 5550 1234")

# Why customers leave (issue 18). Drawn from a random stream of its own (REASONS_STREAM, one per chunk), after the
# simulation above: it only removes the rows of customers who leave and fills text, so every other row and value
# is the one the simulation drew.
# - A customer leaves (none of their later orders happens) with these probabilities after an order with a
#   delivery-delay ticket not fixed within a day, a "late delivery" comment, or a return because the item was
#   damaged or not as described. Returns for size (too small, too large) or a change of mind add nothing.
# - From RISING_THEME_DAYS before the end, answers without a comment and without a top score increasingly complain
#   about the new app (up to RISING_THEME_MAX_SHARE of them on the last day): a theme rising in the last quarter.
# - A few answers get a comment in another language or an empty one; tickets get a subject and a body.
REASONS_STREAM = 18
LEAVE_AFTER_SLOW_DELIVERY_DELAY = 0.45
LEAVE_AFTER_LATE_DELIVERY_COMMENT = 0.45
LEAVE_AFTER_DEFECT_RETURN = 0.25
DEFECT_RETURN_REASONS = ("damaged", "not_as_described")
RISING_THEME_DAYS = 100
RISING_THEME_MAX_SHARE = 0.9
RISING_THEME_TEMPLATES = (
    "The app crashes when I pay, very annoying.",
    "Since the update the app crashes at payment.",
    "The app crashes and freezes when I try to pay.",
    "New app crashes every time, I had to use the website.",
)
OTHER_LANGUAGE_SHARE = 0.004
OTHER_LANGUAGE_COMMENTS = (
    ("Muy buen producto, llegó rápido.", "Sehr gute Qualität, schnelle Lieferung.", "Très bon produit, merci.",
     "商品很好，发货很快。"),
    ("El pedido llegó tarde y roto.", "Die Lieferung kam viel zu spät.", "Livraison en retard, très déçu.",
     "配送が遅すぎます。"),
)
EMPTY_COMMENT_SHARE = 0.004
EMPTY_COMMENTS = ("", "   ", "-", "...", ":)")  # no word (not "n/a": the app never shows that as a value)
ITEMS = (
    ("jacket", "dress", "jeans", "shirt"),
    ("shoes", "boots", "sneakers"),
    ("bag", "belt", "scarf", "watch"),
    ("lamp", "cushion", "rug", "vase"),
    ("serum", "moisturiser", "lipstick", "shampoo"),
)
TICKET_SUBJECTS = (  # indexed like TICKET_CATEGORIES
    ("Where is my order?", "Order not delivered yet", "Parcel is late"),
    ("Item arrived damaged", "Broken on arrival"),
    ("Wrong item received", "This is not what I ordered"),
    ("Charged twice", "Refund not received"),
    ("Size exchange", "Wrong size"),
)
TICKET_BODIES = (
    ("My {item} was due last week and the tracking has not moved.",
     "The delivery is late and nobody tells me when my {item} will arrive."),
    ("The {item} arrived broken and the box was crushed.", "My {item} is damaged, I want a replacement."),
    ("I ordered a {item} but received something else.", "Wrong {item} in the parcel, please send the right one."),
    ("I was charged twice for one order, please refund the second payment.",
     "My refund has still not arrived after two weeks."),
    ("The {item} is too small, can I exchange it for a bigger size?", "The size chart is wrong, the {item} is too large."),
)
TICKET_BODY_MISSING_SHARE = 0.1
TICKET_CONTACT_SHARE = 0.01

FIRST_NAMES = (
    "ana", "ben", "carla", "david", "emma", "farid", "grace", "hugo", "ines", "jonas", "kai", "lena", "mateo",
    "nora", "oscar", "priya", "quinn", "rosa", "sam", "tara", "umar", "vera", "wei", "xena", "yusuf", "zoe",
)
LAST_NAMES = (
    "silva", "smith", "garcia", "muller", "rossi", "dubois", "kim", "tanaka", "novak", "jensen", "okafor",
    "patel", "nguyen", "cohen", "kowalski", "murphy", "santos", "berg", "ali", "lopez", "chen", "walker",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

NULL_CUSTOMER_ORDERS = 3
DUPLICATED_ORDERS = 2
NEGATIVE_REVENUE_ORDERS = 2
UNKNOWN_CUSTOMER_SURVEYS = 3
FIRST_UNKNOWN_CUSTOMER_NUMBER = 99_999_990
OUT_OF_RANGE_CSAT_SCORES = (0, 7)
UNKNOWN_KIND_SCORES = (2, 6)

ID_WIDTHS = {"customers": 8, "orders": 10, "surveys": 10, "tickets": 9, "returns": 9}
ID_PREFIXES = {"customers": "C", "orders": "O", "surveys": "S", "tickets": "T", "returns": "R"}

SCHEMAS = {
    "orders": pa.schema([
        ("order_id", pa.string()), ("customer_id", pa.string()), ("ordered_at", TIMESTAMP_UTC),
        ("revenue", pa.float64()), ("status", pa.string()), ("channel", pa.string()), ("region", pa.string()),
        ("product_category", pa.string()), ("discount", pa.float64()), ("currency", pa.string()),
    ]),
    "surveys": pa.schema([
        ("response_id", pa.string()), ("customer_id", pa.string()), ("order_id", pa.string()),
        ("submitted_at", TIMESTAMP_UTC), ("kind", pa.string()), ("score", pa.int64()),
        ("touchpoint", pa.string()), ("comment", pa.string()),
    ]),
    "customers": pa.schema([
        ("customer_id", pa.string()), ("email", pa.string()), ("created_at", TIMESTAMP_UTC),
        ("acquisition_channel", pa.string()), ("region", pa.string()), ("loyalty_tier", pa.string()),
        ("marketing_opt_in", pa.bool_()),
    ]),
    "tickets": pa.schema([
        ("ticket_id", pa.string()), ("customer_id", pa.string()), ("order_id", pa.string()),
        ("opened_at", TIMESTAMP_UTC), ("resolved_at", TIMESTAMP_UTC), ("category", pa.string()),
        ("status", pa.string()), ("subject", pa.string()), ("body", pa.string()),
    ]),
    "campaigns": pa.schema([
        ("campaign_id", pa.string()), ("customer_id", pa.string()), ("group", pa.string()),
        ("sent_at", TIMESTAMP_UTC), ("channel", pa.string()), ("offer", pa.string()),
    ]),
    "returns": pa.schema([
        ("return_id", pa.string()), ("order_id", pa.string()), ("customer_id", pa.string()),
        ("requested_at", TIMESTAMP_UTC), ("reason", pa.string()), ("refund_amount", pa.float64()),
    ]),
}


class _Calendar(NamedTuple):
    """Day grid of the simulated window: start, length, seasonality and the acquisition curve."""

    start_epoch_seconds: int
    horizon_days: int
    cumulative_season: np.ndarray
    acquisition_cdf: np.ndarray


def generate(
    out_dir: str | Path,
    customers: int = 50_000,
    seed: int = 7,
    end_date: datetime.date = datetime.date(2026, 11, 15),
    years: float = 3.0,
    progress: bool = False,
    *,
    chunk_customers: int = DEFAULT_CHUNK_CUSTOMERS,
) -> dict[str, int]:
    """Write the five demo tables as Parquet under out_dir; return {table: row_count}."""
    if not 1 <= customers < FIRST_UNKNOWN_CUSTOMER_NUMBER:
        raise ValueError(f"customers must be between 1 and {FIRST_UNKNOWN_CUSTOMER_NUMBER - 1:,}")
    if years <= 0 or chunk_customers < 1:
        raise ValueError("years and chunk_customers must be positive")
    if isinstance(end_date, datetime.datetime):
        end_date = end_date.date()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous_demo(out_dir)

    calendar = _build_calendar(end_date, years)
    chunk_count = math.ceil(customers / chunk_customers)
    single_file = chunk_count == 1
    acquisition_seed, *chunk_seeds = np.random.SeedSequence(seed).spawn(chunk_count + 1)
    # The campaigns' own stream: spawned after the others, so the other tables' draws are unchanged.
    campaign_seeds = np.random.SeedSequence(seed).spawn(chunk_count + 2)[-1].spawn(chunk_count)
    first_order_days = _draw_first_order_days(np.random.default_rng(acquisition_seed), customers, calendar)

    row_counts = dict.fromkeys(TABLE_NAMES, 0)
    next_numbers = {name: 1 for name in ("orders", "surveys", "tickets", "returns")}
    stream = sys.stderr if progress else None
    _draw_progress(stream, 0, customers)
    for chunk, chunk_seed in enumerate(chunk_seeds):
        rng = np.random.default_rng(chunk_seed)
        reasons_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(REASONS_STREAM, chunk)))
        first_customer = chunk * chunk_customers
        chunk_first_days = first_order_days[first_customer:first_customer + chunk_customers]
        tables = _simulate_chunk(rng, reasons_rng, chunk_first_days, first_customer + 1, calendar, next_numbers,
                                 chunk == 0)
        tables["campaigns"] = _campaigns_table(np.random.default_rng(campaign_seeds[chunk]), tables["orders"],
                                               calendar)
        for name, table in tables.items():
            row_counts[name] += table.num_rows
        _write_chunk(tables, out_dir, chunk, single_file)
        _draw_progress(stream, first_customer + len(chunk_first_days), customers)
    return row_counts


def _remove_previous_demo(out_dir: Path) -> None:
    """Delete earlier demo tables (both layouts) in out_dir, leaving any other file alone."""
    for name in TABLE_NAMES:
        for path in (out_dir / name, out_dir / f"{name}.parquet"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()


def _draw_progress(stream: TextIO | None, done: int, total: int, width: int = 30) -> None:
    """Redraw a one-line progress bar such as `[#####.....] 40% 1,200,000/3,000,000 customers`."""
    if stream is None:
        return
    filled = width * done // total
    stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done // total}% {done:,}/{total:,} customers")
    if done == total:
        stream.write("\n")
    stream.flush()


def _build_calendar(end_date: datetime.date, years: float) -> _Calendar:
    """Lay out the days of the window ending with end_date, with Q4 seasonality and growing acquisition."""
    horizon_days = max(1, round(years * 365.25))
    end_exclusive = np.datetime64(end_date, "D") + 1
    days = np.arange(end_exclusive - horizon_days, end_exclusive, dtype="datetime64[D]")
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    day_of_month = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    season = np.asarray(MONTH_SEASONALITY)[month]
    season = season * np.where((month == 10) & (day_of_month >= 23), BLACK_FRIDAY_WEEK_BOOST, 1.0)
    season = season / season.mean()
    growth = ANNUAL_ACQUISITION_GROWTH ** (np.arange(horizon_days) / 365.25)
    acquisition_cdf = np.cumsum(season * growth)
    start_epoch_seconds = int(days[0].astype("datetime64[s]").astype(np.int64))
    return _Calendar(
        start_epoch_seconds=start_epoch_seconds,
        horizon_days=horizon_days,
        cumulative_season=np.concatenate([[0.0], np.cumsum(season)]),
        acquisition_cdf=acquisition_cdf / acquisition_cdf[-1],
    )


def _draw_first_order_days(rng: np.random.Generator, customers: int, calendar: _Calendar) -> np.ndarray:
    """Draw each customer's first-order day (days since the window start), sorted so ids follow sign-up order."""
    uniforms = np.sort(rng.random(customers))
    return np.searchsorted(calendar.acquisition_cdf, uniforms, side="right").clip(0, calendar.horizon_days - 1)


def _simulate_chunk(
    rng: np.random.Generator,
    reasons_rng: np.random.Generator,
    first_order_days: np.ndarray,
    first_customer_number: int,
    calendar: _Calendar,
    next_numbers: dict[str, int],
    plant_problems: bool,
) -> dict[str, pa.Table]:
    """Simulate one chunk of customers and return its five tables; advances next_numbers for the ids."""
    customers = _draw_customers(rng, len(first_order_days), first_customer_number)
    orders = _simulate_orders(rng, customers, first_order_days, calendar)
    customer_ids = _prefixed_ids("customers", customers["number"])
    emails = _customer_emails(customers)
    order_arrays = _describe_orders(rng, customers, orders, calendar, plant_problems)
    order_ids = _prefixed_ids("orders", next_numbers["orders"] + np.arange(len(orders["position"])))
    next_numbers["orders"] += len(orders["position"])

    tables = {
        "orders": _orders_table(order_arrays, orders, customers, customer_ids, order_ids, calendar),
        "surveys": _surveys_table(rng, orders, order_arrays, customer_ids, emails, order_ids, calendar, next_numbers),
        "customers": _customers_table(rng, customers, orders, customer_ids, emails, calendar),
        "tickets": _tickets_table(rng, orders, order_arrays, customer_ids, order_ids, calendar, next_numbers),
        "returns": _returns_table(rng, orders, order_arrays, customer_ids, order_ids, calendar, next_numbers),
    }
    tables = _plant_reasons(reasons_rng, tables, calendar, emails.take(orders["position"]))
    if plant_problems:
        tables = _plant_data_quality_problems(rng, tables, next_numbers)
    return tables


def _draw_customers(rng: np.random.Generator, count: int, first_customer_number: int) -> dict[str, np.ndarray]:
    """Draw the hidden and visible attributes of count customers."""
    channel = rng.choice(len(ACQUISITION_CHANNELS), size=count, p=ACQUISITION_CHANNEL_SHARES)
    tier = rng.choice(len(LOYALTY_TIERS), size=count, p=LOYALTY_TIER_SHARES)
    opt_in_rate = np.where(channel == EMAIL_CHANNEL, 0.9, 0.55)
    dropout_multiplier = np.asarray(ACQUISITION_CHANNEL_DROPOUT)[channel] * np.asarray(LOYALTY_TIER_DROPOUT)[tier]
    return {
        "number": first_customer_number + np.arange(count),
        "channel": channel,
        "region": rng.choice(len(REGIONS), size=count, p=REGION_SHARES),
        "tier": tier,
        "opt_in": rng.random(count) < opt_in_rate,
        "purchase_rate": rng.gamma(PURCHASE_RATE_GAMMA[0], PURCHASE_RATE_GAMMA[1], size=count),
        "dropout": rng.beta(*DROPOUT_BETA, size=count) * dropout_multiplier,
        "satisfaction_shift": rng.normal(0.0, SATISFACTION_CUSTOMER_SD, size=count),
        "preferred_category": rng.choice(len(PRODUCT_CATEGORIES), size=count, p=PRODUCT_CATEGORY_SHARES),
        "spend_scale": rng.lognormal(0.0, 0.35, size=count),
        "first_name": rng.integers(len(FIRST_NAMES), size=count),
        "last_name": rng.integers(len(LAST_NAMES), size=count),
        "email_domain": rng.choice(len(EMAIL_DOMAINS), size=count, p=(0.7, 0.2, 0.1)),
    }


def _simulate_orders(
    rng: np.random.Generator, customers: dict[str, np.ndarray], first_order_days: np.ndarray, calendar: _Calendar,
) -> dict[str, np.ndarray]:
    """Simulate purchases step by step for all active customers, with dropout after each order; sorted by time."""
    day_grid = np.arange(calendar.horizon_days + 1, dtype=np.float64)
    position = np.arange(len(first_order_days))
    day = np.asarray(first_order_days, dtype=np.int64)
    order_number = 0
    steps = []
    while position.size:
        size = position.size
        seconds = day * SECONDS_PER_DAY + _draw_seconds_into_day(rng, size)
        category = np.where(
            rng.random(size) < 0.6,
            customers["preferred_category"][position],
            rng.choice(len(PRODUCT_CATEGORIES), size=size, p=PRODUCT_CATEGORY_SHARES),
        )
        is_cancelled = rng.random(size) < CANCELLED_SHARE
        has_ticket = ~is_cancelled & (rng.random(size) < TICKET_SHARE)
        ticket_category = np.where(has_ticket, rng.choice(5, size=size, p=TICKET_CATEGORY_SHARES), -1)
        resolution = np.where(has_ticket, rng.choice(5, size=size, p=RESOLUTION_SHARES), NO_TICKET)
        ticket_wants_return = np.isin(ticket_category, (DAMAGED_ITEM, WRONG_ITEM, SIZING))
        return_rate = np.where(ticket_wants_return, RETURN_AFTER_TICKET_RATE, 0.0)
        return_rate = return_rate + np.asarray(PRODUCT_CATEGORY_RETURN_RATE)[category]
        has_return = ~is_cancelled & (rng.random(size) < return_rate)
        satisfaction_score = np.rint(
            SATISFACTION_MEAN
            + customers["satisfaction_shift"][position]
            + rng.normal(0.0, SATISFACTION_ORDER_SD, size=size)
            + np.asarray(SATISFACTION_TICKET_SHIFT)[resolution + 1]
            + np.where(ticket_category == DELIVERY_DELAY, SATISFACTION_DELIVERY_DELAY_SHIFT, 0.0)
            + np.where(has_return, SATISFACTION_RETURN_SHIFT, 0.0)
        )
        satisfaction = satisfaction_score.clip(0, 10).astype(np.int64)
        dropout = (
            customers["dropout"][position]
            * np.where(is_cancelled, DROPOUT_CANCELLED, DROPOUT_BY_SATISFACTION[satisfaction])
            * DROPOUT_BY_TICKET[resolution + 1]
            * np.where(has_return, DROPOUT_RETURNED, 1.0)
        )
        leaves = rng.random(size) < np.minimum(dropout, MAX_DROPOUT)
        steps.append({
            "position": position, "seconds": seconds, "order_number": np.full(size, order_number),
            "category": category, "is_cancelled": is_cancelled, "ticket_category": ticket_category,
            "resolution": resolution, "has_return": has_return, "satisfaction": satisfaction,
        })

        stays = ~leaves
        position, day, seconds = position[stays], day[stays], seconds[stays]
        season_clock = np.interp(seconds / SECONDS_PER_DAY, day_grid, calendar.cumulative_season)
        season_clock += rng.exponential(size=position.size) / customers["purchase_rate"][position]
        next_day = np.floor(np.interp(season_clock, calendar.cumulative_season, day_grid)).astype(np.int64)
        next_day = np.maximum(next_day, day + 1)
        in_window = next_day < calendar.horizon_days
        position, day = position[in_window], next_day[in_window]
        order_number += 1

    orders = {key: np.concatenate([step[key] for step in steps]) for key in steps[0]}
    by_time = np.lexsort((orders["position"], orders["seconds"]))
    return {key: values[by_time] for key, values in orders.items()}


def _draw_seconds_into_day(rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw a time of day in seconds, busier in the evening than at night."""
    weights = np.asarray(HOUR_OF_DAY_WEIGHTS)
    hour = rng.choice(24, size=size, p=weights / weights.sum())
    return hour * 3600 + rng.integers(3600, size=size)


def _describe_orders(
    rng: np.random.Generator,
    customers: dict[str, np.ndarray],
    orders: dict[str, np.ndarray],
    calendar: _Calendar,
    plant_problems: bool,
) -> dict[str, np.ndarray]:
    """Draw each order's channel, discount, revenue, status code and when its ticket or return would be opened."""
    count = len(orders["position"])
    position = orders["position"]
    from_marketplace = customers["channel"][position] == MARKETPLACE_CHANNEL
    channel_draw = rng.random(count)
    channel = np.where(
        from_marketplace,
        np.searchsorted(np.cumsum(SALES_CHANNEL_SHARES_MARKETPLACE)[:-1], channel_draw, side="right"),
        np.searchsorted(np.cumsum(SALES_CHANNEL_SHARES_DIRECT)[:-1], channel_draw, side="right"),
    )
    epoch_seconds = calendar.start_epoch_seconds + orders["seconds"]
    month = epoch_seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12
    discount_rate = np.where(np.isin(month, (10, 11)), 0.6, 0.3)  # November and December sales
    discount = np.where(rng.random(count) < discount_rate, np.round(rng.uniform(0.05, 0.30, size=count), 2), 0.0)
    list_price = (
        np.asarray(PRODUCT_CATEGORY_LIST_PRICE)[orders["category"]]
        * customers["spend_scale"][position]
        * rng.lognormal(0.0, 0.4, size=count)
    )
    revenue = np.round(np.maximum(list_price * (1.0 - discount), 2.0), 2)

    cancelled_spelling = 2 + rng.choice(4, size=count, p=CANCELLED_SPELLING_SHARES)
    done_spelling = np.where((channel == SALES_MARKETPLACE) | (rng.random(count) < 0.15), 1, 0)
    status = np.where(orders["is_cancelled"], cancelled_spelling, done_spelling)
    status_is_null = rng.random(count) < NULL_STATUS_SHARE
    open_delay_range = np.asarray(TICKET_OPEN_DELAY_DAYS)[np.maximum(orders["ticket_category"], 0)]
    ticket_opened = orders["seconds"] + _days_to_seconds(rng.uniform(open_delay_range[:, 0], open_delay_range[:, 1]))
    return_requested = orders["seconds"] + _days_to_seconds(rng.uniform(3.0, 30.0, size=count))

    if plant_problems:
        eligible = np.flatnonzero(~orders["is_cancelled"] & ~orders["has_return"] & ~status_is_null)
        negative = rng.choice(eligible, size=min(NEGATIVE_REVENUE_ORDERS, eligible.size), replace=False)
        revenue[negative] = -revenue[negative]
    return {
        "channel": channel, "discount": discount, "revenue": revenue,
        "status": status, "status_is_null": status_is_null,
        "ticket_opened": ticket_opened, "return_requested": return_requested,
    }


def _orders_table(
    order_arrays: dict[str, np.ndarray],
    orders: dict[str, np.ndarray],
    customers: dict[str, np.ndarray],
    customer_ids: pa.Array,
    order_ids: pa.Array,
    calendar: _Calendar,
) -> pa.Table:
    """Build the orders table: one row per order."""
    position = orders["position"]
    columns = [
        order_ids,
        customer_ids.take(position),
        _timestamps(calendar, orders["seconds"]),
        pa.array(order_arrays["revenue"], pa.float64()),
        _labels(ORDER_STATUSES, order_arrays["status"], null_mask=order_arrays["status_is_null"]),
        _labels(SALES_CHANNELS, order_arrays["channel"]),
        _labels(REGIONS, customers["region"][position]),
        _labels(PRODUCT_CATEGORIES, orders["category"]),
        pa.array(order_arrays["discount"], pa.float64()),
        _labels(("USD",), np.zeros(len(position), dtype=np.int64)),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["orders"])


def _surveys_table(
    rng: np.random.Generator,
    orders: dict[str, np.ndarray],
    order_arrays: dict[str, np.ndarray],
    customer_ids: pa.Array,
    emails: pa.Array,
    order_ids: pa.Array,
    calendar: _Calendar,
    next_numbers: dict[str, int],
) -> pa.Table:
    """Build the surveys table: one row per survey answer, 3-14 days after a delivered order."""
    has_ticket = orders["resolution"] != NO_TICKET
    response_rate = np.where(has_ticket, SURVEY_RESPONSE_RATE_AFTER_TICKET, SURVEY_RESPONSE_RATE)
    count = len(has_ticket)
    submitted = orders["seconds"] + _days_to_seconds(rng.uniform(3.0, 14.0, size=count))
    answered = ~orders["is_cancelled"] & (rng.random(count) < response_rate)
    answered &= submitted < calendar.horizon_days * SECONDS_PER_DAY
    order_index = np.flatnonzero(answered)
    size = order_index.size

    satisfaction = orders["satisfaction"][order_index]
    is_csat = rng.random(size) < CSAT_SHARE
    csat_noise = np.where(rng.random(size) < 0.1, rng.choice((-1, 1), size=size), 0)
    csat = (CSAT_FROM_SATISFACTION[satisfaction] + csat_noise).clip(1, 5)
    score = np.where(is_csat, csat, satisfaction)
    kind = is_csat.astype(np.int64) + np.where(rng.random(size) < UPPER_CASE_KIND_SHARE, 2, 0)

    resolution = orders["resolution"][order_index]
    submitted = submitted[order_index]
    after_ticket = (resolution != NO_TICKET) & (order_arrays["ticket_opened"][order_index] < submitted)
    after_return = orders["has_return"][order_index] & (order_arrays["return_requested"][order_index] < submitted)
    touchpoint = np.select([after_ticket, after_return], [1, 2], 0)
    sentiment = np.where(satisfaction >= 9, 0, np.where(satisfaction >= 7, 1, 2))
    comments = _draw_comments(
        rng, sentiment, orders["ticket_category"][order_index], resolution,
        emails.take(orders["position"][order_index]),
    )

    columns = [
        _next_ids("surveys", size, next_numbers),
        customer_ids.take(orders["position"][order_index]),
        order_ids.take(order_index),
        _timestamps(calendar, submitted),
        _labels(SURVEY_KINDS, kind),
        pa.array(score, pa.int64()),
        _labels(TOUCHPOINTS, touchpoint),
        pa.array(comments, pa.string()),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["surveys"])


def _draw_comments(
    rng: np.random.Generator,
    sentiment: np.ndarray,
    ticket_category: np.ndarray,
    resolution: np.ndarray,
    emails: pa.Array,
) -> np.ndarray:
    """Pick a free-text comment matching each answer's sentiment (or None); a few carry a phone number or email."""
    size = sentiment.size
    complaint_topic = rng.choice(
        (NEGATIVE_DELIVERY, NEGATIVE_QUALITY, NEGATIVE_SUPPORT), size=size, p=(0.4, 0.4, 0.2),
    )
    complaint_topic = np.select(
        [
            np.isin(resolution, (UNRESOLVED, OVER_SEVEN_DAYS)) | (ticket_category == BILLING),
            ticket_category == DELIVERY_DELAY,
            np.isin(ticket_category, (DAMAGED_ITEM, WRONG_ITEM, SIZING)),
        ],
        [NEGATIVE_SUPPORT, NEGATIVE_DELIVERY, NEGATIVE_QUALITY],
        complaint_topic,
    )
    template_group = np.where(sentiment == 2, complaint_topic, sentiment)
    group_sizes = np.array([len(group) for group in COMMENT_TEMPLATES])
    group_offsets = np.concatenate([[0], np.cumsum(group_sizes)[:-1]])
    template_index = group_offsets[template_group] + (rng.random(size) * group_sizes[template_group]).astype(np.int64)
    all_templates = np.array([text for group in COMMENT_TEMPLATES for text in group], dtype=object)
    comments = all_templates[template_index]
    has_comment = rng.random(size) < np.asarray(COMMENT_RATE_BY_SENTIMENT)[sentiment]
    comments[~has_comment] = None

    with_contact = np.flatnonzero(has_comment & (rng.random(size) < PII_COMMENT_SHARE))
    phones = rng.integers(len(PII_PHONES), size=with_contact.size)
    use_email = rng.random(with_contact.size) < 0.4
    contact_emails = emails.take(with_contact).to_pylist()
    for row, phone, email, by_email in zip(with_contact, phones, contact_emails, use_email):
        contact = f"Please email me at {email}" if by_email else f"Call me at {PII_PHONES[phone]}"
        comments[row] = f"{comments[row]} {contact}."
    return comments


def _customers_table(
    rng: np.random.Generator,
    customers: dict[str, np.ndarray],
    orders: dict[str, np.ndarray],
    customer_ids: pa.Array,
    emails: pa.Array,
    calendar: _Calendar,
) -> pa.Table:
    """Build the customers table: one row per customer, created at or shortly before the first order."""
    count = len(customers["number"])
    is_first = orders["order_number"] == 0
    first_seconds = np.empty(count, dtype=np.int64)
    first_seconds[orders["position"][is_first]] = orders["seconds"][is_first]
    lead_seconds = np.minimum(rng.exponential(4 * 3600, size=count), 3 * SECONDS_PER_DAY).astype(np.int64)
    created = first_seconds - np.where(rng.random(count) < 0.45, 0, lead_seconds)
    columns = [
        customer_ids,
        emails,
        _timestamps(calendar, created),
        _labels(ACQUISITION_CHANNELS, customers["channel"]),
        _labels(REGIONS, customers["region"]),
        _labels(LOYALTY_TIERS, customers["tier"]),
        pa.array(customers["opt_in"], pa.bool_()),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["customers"])


def _tickets_table(
    rng: np.random.Generator,
    orders: dict[str, np.ndarray],
    order_arrays: dict[str, np.ndarray],
    customer_ids: pa.Array,
    order_ids: pa.Array,
    calendar: _Calendar,
    next_numbers: dict[str, int],
) -> pa.Table:
    """Build the tickets table: one row per support ticket; resolved_at is null while a ticket is open."""
    horizon_seconds = calendar.horizon_days * SECONDS_PER_DAY
    order_index = np.flatnonzero(orders["resolution"] != NO_TICKET)
    category = orders["ticket_category"][order_index]
    resolution = orders["resolution"][order_index]
    size = order_index.size
    opened = order_arrays["ticket_opened"][order_index]
    days_range = np.asarray(RESOLUTION_DAYS_RANGE)[resolution]
    days_to_resolve = rng.uniform(days_range[:, 0], days_range[:, 1])
    slow_extra = np.minimum(rng.exponential(SLOW_RESOLUTION_EXTRA_DAYS, size=size), 60.0)
    days_to_resolve += np.where(resolution == OVER_SEVEN_DAYS, slow_extra, 0.0)
    resolved = opened + np.maximum(_days_to_seconds(days_to_resolve), 60)

    visible = opened < horizon_seconds
    is_open = (resolution == UNRESOLVED) | (resolved >= horizon_seconds)
    keep = np.flatnonzero(visible)
    columns = [
        _next_ids("tickets", keep.size, next_numbers),
        customer_ids.take(orders["position"][order_index[keep]]),
        order_ids.take(order_index[keep]),
        _timestamps(calendar, opened[keep]),
        _timestamps(calendar, resolved[keep], null_mask=is_open[keep]),
        _labels(TICKET_CATEGORIES, category[keep]),
        _labels(("resolved", "open"), is_open[keep].astype(np.int64)),
        pa.nulls(keep.size, pa.string()),  # subject and body: written by _plant_reasons
        pa.nulls(keep.size, pa.string()),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["tickets"])


def _returns_table(
    rng: np.random.Generator,
    orders: dict[str, np.ndarray],
    order_arrays: dict[str, np.ndarray],
    customer_ids: pa.Array,
    order_ids: pa.Array,
    calendar: _Calendar,
    next_numbers: dict[str, int],
) -> pa.Table:
    """Build the returns table: one row per return request, refunding at most the order's revenue."""
    order_index = np.flatnonzero(orders["has_return"])
    size = order_index.size
    requested = order_arrays["return_requested"][order_index]
    is_sized = np.isin(orders["category"][order_index], SIZED_CATEGORIES)
    reason_draw = rng.random(size)
    reason = np.where(
        is_sized,
        np.searchsorted(np.cumsum(RETURN_REASON_SHARES_SIZED)[:-1], reason_draw, side="right"),
        np.searchsorted(np.cumsum(RETURN_REASON_SHARES_OTHER)[:-1], reason_draw, side="right"),
    )
    ticket_category = orders["ticket_category"][order_index]
    reason = np.select(
        [ticket_category == DAMAGED_ITEM, ticket_category == WRONG_ITEM, ticket_category == SIZING],
        [2, 3, rng.integers(2, size=size)],
        reason,
    )
    revenue = order_arrays["revenue"][order_index]
    partial_share = rng.uniform(0.3, 0.95, size=size)
    refund = np.where(rng.random(size) < FULL_REFUND_SHARE, revenue, np.floor(revenue * partial_share * 100) / 100)

    keep = np.flatnonzero(requested < calendar.horizon_days * SECONDS_PER_DAY)
    columns = [
        _next_ids("returns", keep.size, next_numbers),
        order_ids.take(order_index[keep]),
        customer_ids.take(orders["position"][order_index[keep]]),
        _timestamps(calendar, requested[keep]),
        _labels(RETURN_REASONS, reason[keep]),
        pa.array(refund[keep], pa.float64()),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMAS["returns"])


# The demo's two past campaigns: (name prefix, days before the end, who is eligible, offer, planted effect).
# Eligible: repeat customers whose last order was 45-240 days before the send ("repeat"), or one-time buyers whose
# only order was 30-300 days before it ("one_time"). With an effect, a customer who ordered in the 60 days after
# the send is drawn for the holdout with this share of the usual probability.
DEMO_CAMPAIGNS = (
    ("winback", 230, "repeat", "15% off", 0.45),
    ("second-order", 140, "one_time", "free shipping", 1.0),
)
CAMPAIGN_HOLDOUT_SHARE = 0.15
CAMPAIGN_EFFECT_DAYS = 60


def _campaigns_table(rng: np.random.Generator, orders: pa.Table, calendar: _Calendar) -> pa.Table:
    """The campaigns table: one row per customer of each demo campaign, in its treatment or holdout group."""
    status = pc.utf8_lower(pc.fill_null(orders["status"], "")).to_numpy(zero_copy_only=False)
    customer = orders["customer_id"].to_numpy(zero_copy_only=False)
    seconds = (pc.cast(orders["ordered_at"], pa.int64()).to_numpy() // 1_000_000 - calendar.start_epoch_seconds)
    keep = ~np.isin(status, ("cancelled", "canceled")) & np.array([value is not None for value in customer])
    customer, seconds = customer[keep].astype(str), seconds[keep]
    codes, customer_ids = _unique_codes(customer)
    columns = {name: [] for name in SCHEMAS["campaigns"].names}
    for prefix, days_before, eligible_kind, offer, effect in DEMO_CAMPAIGNS:
        send = (calendar.horizon_days - days_before) * SECONDS_PER_DAY + 10 * 3600
        before = seconds < send
        count_before = np.bincount(codes[before], minlength=len(customer_ids))
        last_before = np.full(len(customer_ids), -1, dtype=np.int64)
        np.maximum.at(last_before, codes[before], seconds[before])
        days_since = (send - last_before) / SECONDS_PER_DAY
        if eligible_kind == "repeat":
            eligible = (count_before >= 2) & (days_since >= 45) & (days_since <= 240)
        else:
            eligible = (count_before == 1) & (days_since >= 30) & (days_since <= 300)
        after = (seconds > send) & (seconds <= send + CAMPAIGN_EFFECT_DAYS * SECONDS_PER_DAY)
        ordered_after = np.bincount(codes[after], minlength=len(customer_ids)) > 0
        members = np.flatnonzero(eligible)
        holdout_probability = CAMPAIGN_HOLDOUT_SHARE * np.where(ordered_after[members], effect, 1.0)
        is_holdout = rng.random(members.size) < holdout_probability
        sent_on = np.datetime64(calendar.start_epoch_seconds + send, "s").astype("datetime64[D]")
        columns["campaign_id"] += [f"{prefix}-{sent_on.astype(object):%Y-%m}"] * members.size
        columns["customer_id"] += customer_ids[members].tolist()
        columns["group"] += np.where(is_holdout, "holdout", "treatment").tolist()
        columns["sent_at"] += [send] * members.size
        columns["channel"] += ["email"] * members.size
        columns["offer"] += [offer] * members.size
    arrays = [pa.array(columns[name], pa.string()) for name in ("campaign_id", "customer_id", "group")]
    arrays.append(_timestamps(calendar, np.asarray(columns["sent_at"], dtype=np.int64)))
    arrays += [pa.array(columns[name], pa.string()) for name in ("channel", "offer")]
    return pa.Table.from_arrays(arrays, schema=SCHEMAS["campaigns"])


def _unique_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and sorted unique values of a string array (numpy only)."""
    uniques, codes = np.unique(values, return_inverse=True)
    return codes, uniques


def _plant_reasons(
    rng: np.random.Generator, tables: dict[str, pa.Table], calendar: _Calendar, order_emails: pa.Array,
) -> dict[str, pa.Table]:
    """Plant what the "why customers leave" page should find (see REASONS_STREAM); rng is that stream's.

    Customers leave after a slow delivery delay, a late-delivery comment or a defect return (their later orders, and
    the surveys, tickets and returns about those orders, are removed); the text columns are filled.
    """
    orders, surveys, tickets, returns = (tables[name] for name in ("orders", "surveys", "tickets", "returns"))
    order_ids = orders["order_id"]
    order_category = pc.index_in(orders["product_category"], pa.array(PRODUCT_CATEGORIES)).to_numpy()
    ticket_order = pc.index_in(tickets["order_id"], order_ids).to_numpy()
    survey_order = pc.index_in(surveys["order_id"], order_ids).to_numpy(zero_copy_only=False)

    resolution_days = pc.divide(
        pc.cast(pc.microseconds_between(tickets["opened_at"], tickets["resolved_at"]), pa.float64()), 86_400e6)
    slow_delay = pc.and_(pc.equal(tickets["category"], "delivery_delay"),
                         pc.fill_null(pc.greater_equal(resolution_days, 1.0), True)).to_numpy(zero_copy_only=False)
    late_comment = np.zeros(surveys.num_rows, dtype=bool)
    for template in COMMENT_TEMPLATES[NEGATIVE_DELIVERY]:
        late_comment |= pc.fill_null(pc.starts_with(surveys["comment"], template), False).to_numpy(zero_copy_only=False)
    defect_return = pc.is_in(returns["reason"], pa.array(DEFECT_RETURN_REASONS)).to_numpy(zero_copy_only=False)
    return_order = pc.index_in(returns["order_id"], order_ids).to_numpy()
    triggers = np.concatenate([
        ticket_order[slow_delay & (rng.random(tickets.num_rows) < LEAVE_AFTER_SLOW_DELIVERY_DELAY)],
        survey_order[late_comment & (rng.random(surveys.num_rows) < LEAVE_AFTER_LATE_DELIVERY_COMMENT)],
        return_order[defect_return & (rng.random(returns.num_rows) < LEAVE_AFTER_DEFECT_RETURN)],
    ])

    # A customer leaves at their earliest triggering order: their orders placed after it never happen.
    customer_codes = pc.index_in(orders["customer_id"], pc.unique(orders["customer_id"])).to_numpy()
    ordered_seconds = pc.cast(orders["ordered_at"], pa.int64()).to_numpy()
    leaves_at = np.full(customer_codes.max() + 1 if len(customer_codes) else 0, np.iinfo(np.int64).max)
    np.minimum.at(leaves_at, customer_codes[triggers], ordered_seconds[triggers])
    # The planted negative revenues (_describe_orders) stay: the data checks look for them.
    removed = (ordered_seconds > leaves_at[customer_codes]) & (orders["revenue"].to_numpy() >= 0)
    kept_ticket = ~removed[ticket_order]
    kept_survey = ~removed[survey_order]
    kept_return = ~removed[return_order]

    surveys = surveys.filter(pa.array(kept_survey))
    survey_order = survey_order[kept_survey]
    surveys = surveys.set_column(
        surveys.schema.get_field_index("comment"), "comment",
        _more_comments(rng, surveys, calendar, order_category[survey_order]))
    tickets = tickets.filter(pa.array(kept_ticket))
    ticket_order = ticket_order[kept_ticket]
    subjects, bodies = _ticket_texts(rng, tickets, order_category[ticket_order], order_emails.take(ticket_order))
    tickets = tickets.set_column(tickets.schema.get_field_index("subject"), "subject", subjects)
    tickets = tickets.set_column(tickets.schema.get_field_index("body"), "body", bodies)
    return {
        **tables, "orders": orders.filter(pa.array(~removed)), "surveys": surveys, "tickets": tickets,
        "returns": returns.filter(pa.array(kept_return)),
    }


def _fill_items(rng: np.random.Generator, texts: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Replace "{item}" in each text by a product of its order's category (drawn from rng for every row)."""
    draw = rng.random(texts.size)
    filled = texts.copy()
    for row in np.flatnonzero([text is not None and "{item}" in text for text in texts]):
        items = ITEMS[category[row]]
        filled[row] = texts[row].replace("{item}", items[int(draw[row] * len(items))])
    return filled


def _more_comments(
    rng: np.random.Generator, surveys: pa.Table, calendar: _Calendar, category: np.ndarray,
) -> pa.Array:
    """The comment column with products named, the rising app complaints, and a few other-language and empty ones."""
    comments = np.asarray(surveys["comment"].to_pylist(), dtype=object)
    comments = _fill_items(rng, comments, category)
    score = surveys["score"].to_numpy()
    is_csat = pc.equal(pc.utf8_lower(surveys["kind"]), "csat").to_numpy(zero_copy_only=False)
    unhappy = np.where(is_csat, score <= 2, score <= 6)
    happy = np.where(is_csat, score >= 4, score >= 9)
    end_seconds = calendar.start_epoch_seconds + calendar.horizon_days * SECONDS_PER_DAY
    days_before_end = (end_seconds - pc.cast(surveys["submitted_at"], pa.int64()).to_numpy() // 1_000_000) / SECONDS_PER_DAY
    ramp = np.clip(1.0 - days_before_end / RISING_THEME_DAYS, 0.0, 1.0) * RISING_THEME_MAX_SHARE
    draw = rng.random(len(comments))
    pick = rng.integers(len(RISING_THEME_TEMPLATES), size=len(comments))
    without = np.array([comment is None for comment in comments], dtype=bool)
    app = without & ~happy & (draw < ramp)
    comments[app] = np.asarray(RISING_THEME_TEMPLATES, dtype=object)[pick[app]]

    without &= ~app
    other_draw = rng.random(len(comments))
    language = rng.integers(len(OTHER_LANGUAGE_COMMENTS[0]), size=len(comments))
    for mood, rows in enumerate((happy, unhappy)):
        chosen = without & rows & (other_draw < OTHER_LANGUAGE_SHARE)
        comments[chosen] = np.asarray(OTHER_LANGUAGE_COMMENTS[mood], dtype=object)[language[chosen]]
        without &= ~chosen
    empty = without & (rng.random(len(comments)) < EMPTY_COMMENT_SHARE)
    comments[empty] = np.asarray(EMPTY_COMMENTS, dtype=object)[rng.integers(len(EMPTY_COMMENTS), size=len(comments))[empty]]
    return pa.array(comments, pa.string())


def _ticket_texts(
    rng: np.random.Generator, tickets: pa.Table, category: np.ndarray, emails: pa.Array,
) -> tuple[pa.Array, pa.Array]:
    """A subject and a body per ticket, from its category; some bodies are missing, a few carry contact details."""
    ticket_category = pc.index_in(tickets["category"], pa.array(TICKET_CATEGORIES)).to_numpy()
    size = tickets.num_rows
    subject_draw, body_draw = rng.random(size), rng.random(size)
    subjects = np.array([TICKET_SUBJECTS[code][int(draw * len(TICKET_SUBJECTS[code]))]
                         for code, draw in zip(ticket_category, subject_draw)], dtype=object)
    bodies = np.array([TICKET_BODIES[code][int(draw * len(TICKET_BODIES[code]))]
                       for code, draw in zip(ticket_category, body_draw)], dtype=object)
    bodies = _fill_items(rng, bodies, category)
    contact = np.flatnonzero(rng.random(size) < TICKET_CONTACT_SHARE)
    phones = rng.integers(len(PII_PHONES), size=contact.size)
    by_email = rng.random(contact.size) < 0.5
    for row, phone, email, use_email in zip(contact, phones, emails.take(contact).to_pylist(), by_email):
        bodies[row] += f" You can reach me at {email}." if use_email else f" Call me on {PII_PHONES[phone]}."
    bodies[rng.random(size) < TICKET_BODY_MISSING_SHARE] = None
    return pa.array(subjects, pa.string()), pa.array(bodies, pa.string())


def _plant_data_quality_problems(
    rng: np.random.Generator, tables: dict[str, pa.Table], next_numbers: dict[str, int],
) -> dict[str, pa.Table]:
    """Add the handful of broken rows a validator should flag (negative revenue is planted in describe_orders)."""
    orders = tables["orders"]
    if orders.num_rows:
        picked = rng.choice(orders.num_rows, size=NULL_CUSTOMER_ORDERS + DUPLICATED_ORDERS)
        without_customer = orders.take(picked[:NULL_CUSTOMER_ORDERS])
        new_order_ids = _next_ids("orders", NULL_CUSTOMER_ORDERS, next_numbers)
        without_customer = without_customer.set_column(0, "order_id", new_order_ids)
        without_customer = without_customer.set_column(1, "customer_id", pa.nulls(NULL_CUSTOMER_ORDERS, pa.string()))
        tables["orders"] = pa.concat_tables([orders, without_customer, orders.take(picked[NULL_CUSTOMER_ORDERS:])])

    surveys = tables["surveys"]
    if surveys.num_rows:
        kind = pc.utf8_lower(surveys["kind"]).to_numpy(zero_copy_only=False)
        score = surveys["score"].to_numpy().copy()
        kind_labels = np.asarray(surveys["kind"].to_pylist(), dtype=object)
        csat_rows = np.flatnonzero(kind == "csat")
        out_of_range = rng.choice(csat_rows, size=min(len(OUT_OF_RANGE_CSAT_SCORES), csat_rows.size), replace=False)
        score[out_of_range] = OUT_OF_RANGE_CSAT_SCORES[: out_of_range.size]
        nps_rows = np.flatnonzero(kind == "nps")
        unknown_kind = rng.choice(nps_rows, size=min(len(UNKNOWN_KIND_SCORES), nps_rows.size), replace=False)
        score[unknown_kind] = UNKNOWN_KIND_SCORES[: unknown_kind.size]
        kind_labels[unknown_kind] = "ces"
        surveys = surveys.set_column(4, "kind", pa.array(kind_labels, pa.string()))
        surveys = surveys.set_column(5, "score", pa.array(score, pa.int64()))

        strangers = surveys.take(rng.choice(surveys.num_rows, size=UNKNOWN_CUSTOMER_SURVEYS))
        stranger_numbers = FIRST_UNKNOWN_CUSTOMER_NUMBER + np.arange(UNKNOWN_CUSTOMER_SURVEYS)
        strangers = strangers.set_column(0, "response_id", _next_ids("surveys", UNKNOWN_CUSTOMER_SURVEYS, next_numbers))
        strangers = strangers.set_column(1, "customer_id", _prefixed_ids("customers", stranger_numbers))
        strangers = strangers.set_column(2, "order_id", pa.nulls(UNKNOWN_CUSTOMER_SURVEYS, pa.string()))
        tables["surveys"] = pa.concat_tables([surveys, strangers])
    return tables


def _write_chunk(tables: dict[str, pa.Table], out_dir: Path, chunk: int, single_file: bool) -> None:
    """Write one chunk: orders split into year partitions, the other tables as one file or one part each."""
    file_name = f"part-{chunk:05d}.parquet"
    orders = tables["orders"]
    order_year = pc.year(orders["ordered_at"]).to_numpy()
    for year in np.unique(order_year):
        partition = out_dir / "orders" / f"year={year}"
        partition.mkdir(parents=True, exist_ok=True)
        rows = orders.filter(pa.array(order_year == year))
        pq.write_table(rows, partition / file_name, compression=PARQUET_COMPRESSION)
    for name in TABLE_NAMES[1:]:
        if single_file:
            path = out_dir / f"{name}.parquet"
        else:
            path = out_dir / name / file_name
            path.parent.mkdir(exist_ok=True)
        pq.write_table(tables[name], path, compression=PARQUET_COMPRESSION)


def _customer_emails(customers: dict[str, np.ndarray]) -> pa.Array:
    """Build unique emails such as ana.silva123@example.com (the number is the customer number)."""
    return pc.binary_join_element_wise(
        _labels(FIRST_NAMES, customers["first_name"]),
        ".",
        _labels(LAST_NAMES, customers["last_name"]),
        pc.cast(pa.array(customers["number"], pa.int64()), pa.string()),
        "@",
        _labels(EMAIL_DOMAINS, customers["email_domain"]),
        "",
    )


def _days_to_seconds(days: np.ndarray) -> np.ndarray:
    """Convert (fractional) days to whole seconds."""
    return (np.asarray(days) * SECONDS_PER_DAY).astype(np.int64)


def _prefixed_ids(table: str, numbers: np.ndarray) -> pa.Array:
    """Format numbers as ids such as C00000042 or O0000000042."""
    digits = pc.cast(pa.array(numbers, pa.int64()), pa.string())
    return pc.binary_join_element_wise(ID_PREFIXES[table], pc.utf8_lpad(digits, ID_WIDTHS[table], "0"), "")


def _next_ids(table: str, count: int, next_numbers: dict[str, int]) -> pa.Array:
    """Take the next count ids of a table and advance its counter."""
    start = next_numbers[table]
    next_numbers[table] = start + count
    return _prefixed_ids(table, start + np.arange(count))


def _labels(values: tuple[str, ...], codes: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """Turn integer codes into a string column, null where null_mask is true."""
    return pa.array(values, pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64), mask=null_mask))


def _timestamps(calendar: _Calendar, seconds: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """Turn seconds since the window start into a UTC microsecond timestamp column."""
    micros = (calendar.start_epoch_seconds + np.asarray(seconds, dtype=np.int64)) * 1_000_000
    return pa.array(micros, pa.int64(), mask=null_mask).cast(TIMESTAMP_UTC)
