"""Small exports full of the cases where two engines can disagree (make test-spark compares DuckDB and Spark on them).

- orders at 23:xx and 00:xx around month ends, and across New York's DST changes (2026-03-08 02:00 -> 03:00,
  2026-11-01 02:00 -> 01:00), so local days, weeks, months and quarters differ between UTC and New York;
- ties: two orders of one customer at the same instant, equal revenues, customers with identical histories;
- zero denominators: a segment with no repeat buyer, customers with no survey, a ticket never resolved;
- customers whose only orders are cancelled, an order with no customer profile, a survey of an unknown customer;
- duplicated ids (the later copy is left out) and rows with unusable values (left out by the same rules);
- customer ids that are an e-mail address or a phone number (shown as pseudonyms) and one that is only digits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd


def write(folder: Path) -> Path:
    """Write orders, surveys, customers, tickets and returns under folder; return folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    orders = []

    def order(order_id, customer, at, revenue, status="completed", channel="email", region="north",
              category="shoes"):
        orders.append({"order_id": order_id, "customer_id": customer, "ordered_at": pd.Timestamp(at),
                       "revenue": float(revenue), "status": status, "channel": channel, "region": region,
                       "product_category": category, "discount": 0.0, "currency": "USD"})

    # Month ends at 23:xx UTC (the next day in no zone west of UTC, the same day in New York) and 00:xx UTC (the
    # previous local day in New York).
    order("o1", "c1", "2025-01-31 23:30:00", 40)
    order("o2", "c1", "2025-02-28 23:59:59", 40)
    order("o3", "c1", "2025-04-01 00:15:00", 55.5)
    order("o4", "c1", "2025-12-31 23:45:00", 60)
    # Across the DST changes in New York (UTC 06:30 on 2026-03-08 is 01:30 EST before / 02:30 would not exist).
    order("o5", "c2", "2026-03-08 06:30:00", 20, channel="social", region="south")
    order("o6", "c2", "2026-03-08 07:30:00", 25, channel="social", region="south")  # 03:30 EDT, same local day
    order("o7", "c2", "2026-11-01 05:30:00", 30, channel="social", region="south")  # 01:30 EDT
    order("o8", "c2", "2026-11-01 06:30:00", 30, channel="social", region="south")  # 01:30 EST: same wall time
    # Ties: one customer, two orders at the same instant; two customers with identical histories.
    for customer in ("c3", "c4"):
        order(f"{customer}-a", customer, "2025-06-15 12:00:00", 100, category="bags")
        order(f"{customer}-b", customer, "2025-06-15 12:00:00", 100, category="bags")
        order(f"{customer}-c", customer, "2025-09-15 12:00:00", 100, category="bags")
    # Customers with only cancelled orders (never valid), and one whose first order was cancelled.
    order("o9", "c5", "2025-05-05 10:00:00", 70, status="cancelled")
    order("o10", "c5", "2025-06-05 10:00:00", 70, status="Canceled ")
    order("o11", "c6", "2025-05-05 10:00:00", 15, status="cancelled")
    order("o12", "c6", "2025-07-05 10:00:00", 15)
    # A segment (region west) where nobody buys twice: its repeat rates divide by customers, never by zero repeats.
    for number in range(7, 19):
        day = datetime(2025, 1, 1) + timedelta(days=29 * number, hours=number)
        order(f"o{number + 100}", f"c{number}", day, 10 + number, channel="ads", region="west", category="hats")
    # Many ordinary repeat buyers so the churn model can be fitted (at least 10 customers, some repeats).
    for number in range(20, 60):
        first = datetime(2025, 1, 3) + timedelta(days=5 * number, hours=number % 24, minutes=number)
        order(f"r{number}-1", f"c{number}", first, 30 + number % 7, channel="email" if number % 2 else "ads",
              region="north" if number % 3 else "east", category="shoes" if number % 4 else "bags")
        for repeat in range(1, 1 + number % 4):
            order(f"r{number}-{repeat + 1}", f"c{number}", first + timedelta(days=37 * repeat, hours=11),
                  20 + repeat * 3.25, channel="email" if number % 2 else "ads",
                  region="north" if number % 3 else "east", category="shoes")
    # An order of a customer with no profile row, a duplicated order id (the later copy is left out), unusable rows.
    order("o200", "c99", "2026-10-30 23:50:00", 12.5)
    order("o201", "c20", "2026-11-14 23:59:00", 9.99)
    order("o201", "c20", "2026-11-15 00:30:00", 19.99)
    order("o202", "c21", "1985-01-01 00:00:00", 10)  # before 1990: left out
    order("o203", "c21", "2026-11-15 18:00:00", 11)  # the latest order: the default as-of date
    # Ids that are personal data: customer_label() shows a pseudonym for an e-mail address and a phone number,
    # and a plain run of digits as it is (queries/privacy_macros.sql).
    order("p1", "ann@example.com", "2026-02-10 09:00:00", 45, region="east")
    order("p2", "ann@example.com", "2026-05-10 09:00:00", 45, region="east")
    order("p3", "+44 20 7946 0958", "2026-04-01 23:30:00", 33)
    order("p4", "5551234567", "2026-06-01 12:00:00", 21)
    orders_frame = pd.DataFrame(orders)
    orders_frame["ordered_at"] = orders_frame["ordered_at"].astype("datetime64[us]")
    orders_frame.to_parquet(folder / "orders.parquet", index=False)

    customers = [{"customer_id": f"c{number}", "email": f"person{number}@example.com",
                  "created_at": pd.Timestamp("2024-12-01"), "acquisition_channel": None if number % 5 else "referral",
                  "region": None, "loyalty_tier": ["gold", "silver", "", None][number % 4],
                  "marketing_opt_in": bool(number % 2)} for number in range(1, 60)]
    frame = pd.DataFrame(customers)
    frame["created_at"] = frame["created_at"].astype("datetime64[us]")
    frame.to_parquet(folder / "customers.parquet", index=False)

    surveys = []
    for number in range(1, 60, 2):
        at = pd.Timestamp("2025-03-01 23:30:00") + pd.Timedelta(days=11 * number)
        surveys.append({"response_id": f"s{number}", "customer_id": f"c{number}", "submitted_at": at,
                        "kind": "nps" if number % 3 else "CSAT", "score": float(number % 11 if number % 3 else 1 + number % 5),
                        "order_id": None, "touchpoint": "delivery",
                        "comment": f"call me on +1 555 010 {number:04d} or mail x{number}@example.org" if number % 7 == 0
                        else ("" if number % 4 else "slow delivery, box damaged")})
    surveys.append({"response_id": "s-pii", "customer_id": "ann@example.com", "submitted_at": pd.Timestamp("2026-05-20 10:00:00"),
                    "kind": "nps", "score": 3.0, "order_id": None, "touchpoint": "delivery",
                    "comment": "slow delivery again, reach me at ann@example.com"})
    surveys.append({"response_id": "s-unknown", "customer_id": "nobody", "submitted_at": pd.Timestamp("2026-11-01 06:30:00"),
                    "kind": "nps", "score": 10.0, "order_id": None, "touchpoint": "web", "comment": "great"})
    surveys.append({"response_id": "s1", "customer_id": "c1", "submitted_at": pd.Timestamp("2026-01-01 00:00:00"),
                    "kind": "nps", "score": 0.0, "order_id": None, "touchpoint": "web", "comment": "duplicate id"})
    frame = pd.DataFrame(surveys)
    frame["submitted_at"] = frame["submitted_at"].astype("datetime64[us]")
    frame.to_parquet(folder / "surveys.parquet", index=False)

    tickets = []
    for number in range(20, 40, 3):
        opened = pd.Timestamp("2025-08-31 23:10:00") + pd.Timedelta(days=number)
        tickets.append({"ticket_id": f"t{number}", "customer_id": f"c{number}", "opened_at": opened,
                        "resolved_at": None if number % 2 else opened + pd.Timedelta(hours=number * 5),
                        "category": ["delivery", "refund", ""][number % 3], "order_id": f"r{number}-1",
                        "status": "open" if number % 2 else "closed"})
    frame = pd.DataFrame(tickets)
    for column in ("opened_at", "resolved_at"):
        frame[column] = frame[column].astype("datetime64[us]")
    frame.to_parquet(folder / "tickets.parquet", index=False)

    returns = [{"return_id": f"x{number}", "order_id": f"r{number}-1", "customer_id": f"c{number}",
                "requested_at": pd.Timestamp("2025-12-31 23:30:00") + pd.Timedelta(days=number),
                "reason": "too small", "refund_amount": 10.0 + number} for number in range(22, 40, 4)]
    frame = pd.DataFrame(returns)
    frame["requested_at"] = frame["requested_at"].astype("datetime64[us]")
    frame.to_parquet(folder / "returns.parquet", index=False)
    return folder
