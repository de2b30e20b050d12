"""An independent pandas implementation of the contract metrics (docs/metrics.md), for tests only.

It reads the Parquet files directly and applies the written definitions step by step, without
DuckDB and without any of the dashboard's SQL, so agreement with the app means something.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd


def read_table(data_dir: Path, table: str) -> pd.DataFrame:
    """All rows of a table from ``<table>.parquet`` or ``<table>/**/*.parquet``."""
    files = []
    if (data_dir / f"{table}.parquet").is_file():
        files.append(data_dir / f"{table}.parquet")
    if (data_dir / table).is_dir():
        files.extend(sorted((data_dir / table).rglob("*.parquet")))
    if not files:
        return pd.DataFrame()
    import pyarrow.parquet as pq

    frames = []
    for path in files:
        frame = pq.read_table(path).to_pandas()
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
                frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def to_utc_naive(series: pd.Series) -> pd.Series:
    """Aware timestamps converted to UTC; naive ones taken as UTC."""
    series = pd.to_datetime(series)
    if series.dt.tz is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.astype("datetime64[us]")


def as_id(series: pd.Series) -> pd.Series:
    """Ids as strings (integers without a decimal point), None kept."""
    return series.map(lambda value: None if pd.isna(value) else str(value))


def cutoff(as_of: date, tz: str) -> pd.Timestamp:
    """The first UTC instant after the as-of day in the company's time zone."""
    local = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), ZoneInfo(tz))
    return pd.Timestamp(local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None))


def valid_orders(data_dir: Path, as_of: date | None = None, tz: str = "UTC", now: datetime | None = None):
    """Valid orders (usable, first copy per order_id, not cancelled) before the cutoff, and the as-of date."""
    orders = read_table(data_dir, "orders")
    orders["order_id"] = as_id(orders["order_id"])
    orders["customer_id"] = as_id(orders["customer_id"])
    orders["ordered_at"] = to_utc_naive(orders["ordered_at"])
    orders["revenue"] = pd.to_numeric(orders["revenue"], errors="coerce")
    status = orders["status"] if "status" in orders else pd.Series([None] * len(orders))
    orders["is_cancelled"] = status.fillna("").str.strip().str.lower().isin(["cancelled", "canceled"])
    now = pd.Timestamp(now or datetime.utcnow())
    usable = orders.dropna(subset=["order_id", "customer_id", "ordered_at", "revenue"])
    usable = usable[(usable["ordered_at"] >= pd.Timestamp("1990-01-01")) & (usable["ordered_at"] < now + pd.Timedelta(days=1))]
    usable = usable.sort_values(["ordered_at", "customer_id", "revenue"], kind="stable").drop_duplicates("order_id")
    kept = usable[~usable["is_cancelled"]]
    if as_of is None:
        local = kept["ordered_at"].dt.tz_localize("UTC").dt.tz_convert(tz)
        as_of = local.max().date()
    end = cutoff(as_of, tz)
    return kept[kept["ordered_at"] < end].copy(), as_of, end


def contract_metrics(data_dir: Path, as_of: date | None = None, tz: str = "UTC", now: datetime | None = None) -> dict:
    """The contract keys computed with pandas."""
    orders, as_of, end = valid_orders(data_dir, as_of, tz, now)
    orders = orders.sort_values(["customer_id", "ordered_at", "order_id"])
    by_customer = orders.groupby("customer_id")
    counts = by_customer.size()
    customers = len(counts)
    revenue = round(float(orders["revenue"].sum()), 2)
    firsts = by_customer["ordered_at"].nth(0).set_axis(by_customer.size().index)
    seconds = orders.groupby("customer_id").nth(1).set_index("customer_id")["ordered_at"]
    eligible = firsts[firsts + pd.Timedelta(days=90) <= end]
    second_in_time = seconds.reindex(eligible.index) <= eligible + pd.Timedelta(days=90)
    gaps = by_customer["ordered_at"].diff().dropna().dt.total_seconds() / 86400

    local_time = orders["ordered_at"].dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    orders["month"] = local_time.dt.to_period("M")
    # the week of the review: the 7 local days as_of - 6 .. as_of
    week = orders[local_time.dt.date >= as_of - timedelta(days=6)]
    first_order_ids = orders.groupby("customer_id")["order_id"].first()
    week_revenue = round(float(week["revenue"].sum()), 2)
    cohort_of = orders.groupby("customer_id")["month"].min()
    as_of_month = pd.Period(as_of, "M")
    cohort_retention = []
    for cohort in sorted(cohort_of.unique()):
        members = cohort_of[cohort_of == cohort].index
        member_orders = orders[orders["customer_id"].isin(members)]
        retention = []
        for k in range((as_of_month - cohort).n + 1):
            active = member_orders.loc[member_orders["month"] == cohort + k, "customer_id"].nunique()
            retention.append(active / len(members))
        cohort_retention.append({"cohort": str(cohort), "size": len(members), "retention": retention})

    surveys = read_table(data_dir, "surveys")
    nps = csat = None
    nps_count = csat_count = 0
    if len(surveys):
        surveys["submitted_at"] = to_utc_naive(surveys["submitted_at"])
        surveys["kind"] = surveys["kind"].astype("string").str.strip().str.lower()
        surveys["score"] = pd.to_numeric(surveys["score"], errors="coerce")
        surveys = surveys.dropna(subset=["customer_id", "submitted_at", "score"])
        window = surveys[(surveys["submitted_at"] >= end - pd.Timedelta(days=90)) & (surveys["submitted_at"] < end)]
        window = window.sort_values("submitted_at").drop_duplicates("response_id")
        nps_rows = window[(window["kind"] == "nps") & window["score"].between(0, 10)]
        csat_rows = window[(window["kind"] == "csat") & window["score"].between(1, 5)]
        nps_count, csat_count = len(nps_rows), len(csat_rows)
        if nps_count:
            nps = 100 * ((nps_rows["score"] >= 9).mean() - (nps_rows["score"] <= 6).mean())
        if csat_count:
            csat = float((csat_rows["score"] >= 4).mean())
    refunds = refunds_of(data_dir, orders, end, now)
    net_revenue = None if refunds is None else round(revenue - refunds, 2)
    return {
        "as_of": as_of.isoformat(),
        "customers": customers,
        "orders": int(len(orders)),
        "revenue": revenue,
        "aov": revenue / len(orders) if len(orders) else None,
        "repeat_rate": float((counts >= 2).mean()) if customers else None,
        "second_order_rate_90d": float(second_in_time.mean()) if len(eligible) else None,
        "median_days_between_orders": float(np.median(gaps)) if len(gaps) else None,
        "cohort_retention": cohort_retention,
        "nps_90d": nps,
        "csat_90d": csat,
        "nps_responses_90d": nps_count,
        "csat_responses_90d": csat_count,
        "refunds": refunds,
        "net_revenue": net_revenue,
        "net_aov": None if net_revenue is None or not len(orders) else (revenue - refunds) / len(orders),
        "active_customers_7d": int(week["customer_id"].nunique()),
        "new_customers_7d": int(week["order_id"].isin(first_order_ids).sum()),
        "orders_7d": int(len(week)),
        "revenue_7d": week_revenue,
        "aov_7d": float(week["revenue"].sum()) / len(week) if len(week) else None,
    }


def refunds_of(data_dir: Path, orders: pd.DataFrame, end: pd.Timestamp, now: datetime | None) -> float | None:
    """Refund amounts of usable returns (first copy per return_id) requested before the cutoff on valid orders;
    None when no return of the export carries an amount (or there are no returns)."""
    returns = read_table(data_dir, "returns")
    if returns.empty or "refund_amount" not in returns:
        return None
    returns["order_id"] = as_id(returns["order_id"])
    returns["customer_id"] = as_id(returns["customer_id"])
    returns["requested_at"] = to_utc_naive(returns["requested_at"])
    returns["refund_amount"] = pd.to_numeric(returns["refund_amount"], errors="coerce")
    now = pd.Timestamp(now or datetime.utcnow())
    usable = returns.dropna(subset=["customer_id", "requested_at"])
    usable = usable[(usable["requested_at"] >= pd.Timestamp("1990-01-01"))
                    & (usable["requested_at"] < now + pd.Timedelta(days=1))]
    usable = usable.sort_values("requested_at", kind="stable")
    usable = usable[usable["return_id"].isna() | ~usable["return_id"].duplicated()]
    if usable["refund_amount"].notna().sum() == 0:
        return None
    counted = usable[(usable["requested_at"] < end) & usable["order_id"].isin(set(orders["order_id"]))]
    return round(float(counted["refund_amount"].sum()), 2)
