"""The pandas baseline: what a typical Streamlit dashboard does on every rerun, computing our page numbers.

Each rerun reads the Parquet exports into pandas (orders and customers, plus surveys where the page shows
them), applies the contract's row rules (usable rows, first copy of each id, cancelled orders out, before
the as-of cutoff), builds a per-customer frame, filters the segment and groups by. It is written the way a
careful pandas user would (vectorised group-bys, no Python loops over rows), so the ratio against it is fair.
The benchmark checks these numbers equal ours (``compare``) once per size and filter change. Time zone: UTC
(the benchmark's settings), so local time is UTC time.

Pages covered: overview (weekly KPIs, segment movements), repeat (every query but second_order_milestones),
cohorts (retention matrix and the default drill-down), satisfaction (headline, NPS and CSAT trends) and the
JSON report. Pages or queries not covered have no pandas time; where a page is covered in part, pandas does
less work than we do, so the ratio understates our advantage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

CANCELLED = ("cancelled", "canceled")
ORDER_COLUMNS = ["order_id", "customer_id", "ordered_at", "revenue", "status", "channel", "region",
                 "product_category"]
CUSTOMER_COLUMNS = ["customer_id", "created_at", "acquisition_channel", "region", "loyalty_tier"]
SURVEY_COLUMNS = ["response_id", "customer_id", "submitted_at", "kind", "score"]
EARLIEST = pd.Timestamp("1990-01-01")
DAY_MICROSECONDS = 86_400_000_000
SEGMENT_COLUMNS = {"channels": "acquisition_channel", "regions": "region", "categories": "first_category",
                   "tiers": "loyalty_tier"}
# What each page's pandas rerun computes (see PAGE_FUNCTIONS below).
PANDAS_PAGES = ("overview", "repeat", "cohorts", "satisfaction")
PAGES_NEEDING_SURVEYS = {"overview", "satisfaction"}


def _table_path(data_dir: Path, table: str) -> Path | None:
    """``<table>/`` (a folder of Parquet files) or ``<table>.parquet``."""
    for path in (data_dir / table, data_dir / f"{table}.parquet"):
        if path.exists():
            return path
    return None


def read_table(data_dir: Path, table: str, columns: list[str]) -> pd.DataFrame:
    """One export as pandas, timestamps as naive UTC."""
    path = _table_path(Path(data_dir), table)
    if path is None:
        return pd.DataFrame(columns=columns)
    frame = pd.read_parquet(path, columns=columns)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def _clean_text(series: pd.Series, default: str | None, lower: bool = False) -> pd.Series:
    """coalesce(nullif(trim(x), ''), default), computed on the few distinct values (cheap on millions of rows)."""
    values = series.astype("category")
    labels = pd.Series(values.cat.categories, dtype=object).str.strip()
    if lower:
        labels = labels.str.lower()
    labels = labels.where(labels != "", None).to_numpy(dtype=object)
    codes = values.cat.codes.to_numpy()
    cleaned = labels[codes] if len(labels) else np.full(len(codes), None, dtype=object)
    cleaned[codes < 0] = None
    out = pd.Series(cleaned, index=series.index, dtype=object)
    return out if default is None else out.fillna(default)


def _is_cancelled(status: pd.Series) -> pd.Series:
    """lower(trim(status)) in ('cancelled', 'canceled'), via the distinct spellings."""
    spellings = [value for value in status.dropna().unique() if value.strip().lower() in CANCELLED]
    return status.isin(spellings)


@dataclass
class Model:
    """The baseline's per-rerun frames: valid orders (time order, order_seq), customers, valid surveys."""

    as_of: date
    cutoff: pd.Timestamp
    orders: pd.DataFrame
    customers: pd.DataFrame
    surveys: pd.DataFrame | None


def cutoff_for(as_of: date) -> pd.Timestamp:
    """The first instant after the as-of day (UTC)."""
    return pd.Timestamp(as_of + timedelta(days=1))


def load(data_dir: Path, with_surveys: bool, as_of: date | None = None, now: datetime | None = None) -> Model:
    """Read the exports and apply the contract's rules: what every pandas rerun starts with."""
    now = pd.Timestamp(now or datetime.utcnow())
    orders = read_table(data_dir, "orders", ORDER_COLUMNS)
    usable = (
        orders["order_id"].notna() & (orders["order_id"] != "")
        & orders["customer_id"].notna() & (orders["customer_id"] != "")
        & (orders["ordered_at"] >= EARLIEST) & (orders["ordered_at"] < now + pd.Timedelta(days=1))
        & np.isfinite(orders["revenue"])
    )
    orders = orders[usable].sort_values(["ordered_at", "order_id"], kind="stable")
    orders = orders[~orders["order_id"].duplicated()]
    orders = orders[~_is_cancelled(orders["status"])]
    if as_of is None:
        as_of = orders["ordered_at"].max().date()
    cutoff = cutoff_for(as_of)
    orders = orders[orders["ordered_at"] < cutoff].drop(columns=["status"])
    orders["order_seq"] = orders.groupby("customer_id", sort=False).cumcount() + 1

    by_customer = orders.groupby("customer_id", sort=False)
    customers = by_customer.agg(
        first_ordered_at=("ordered_at", "min"), last_ordered_at=("ordered_at", "max"),
        count_orders=("order_id", "size"), revenue=("revenue", "sum"),
    )
    firsts = orders[orders["order_seq"] == 1].set_index("customer_id")
    customers["first_channel"] = _clean_text(firsts["channel"], "unknown")
    customers["first_region"] = _clean_text(firsts["region"], "unknown")
    customers["first_category"] = _clean_text(firsts["product_category"], "unknown")
    customers["second_ordered_at"] = orders.loc[orders["order_seq"] == 2].set_index("customer_id")["ordered_at"]

    profiles = read_table(data_dir, "customers", CUSTOMER_COLUMNS)
    profiles = profiles[profiles["customer_id"].notna() & (profiles["customer_id"] != "")]
    profiles = profiles.sort_values("created_at", kind="stable", na_position="last")
    profiles = profiles[~profiles["customer_id"].duplicated()].set_index("customer_id")
    profile = profiles.reindex(customers.index)
    customers["acquisition_channel"] = _clean_text(profile["acquisition_channel"], None).fillna(
        customers["first_channel"])
    customers["region"] = _clean_text(profile["region"], None).fillna(customers["first_region"])
    customers["loyalty_tier"] = _clean_text(profile["loyalty_tier"], "none", lower=True)
    customers["cohort_month"] = customers["first_ordered_at"].to_numpy().astype("datetime64[M]")

    surveys = _valid_surveys(data_dir, now, cutoff) if with_surveys else None
    return Model(as_of, cutoff, orders, customers, surveys)


def _valid_surveys(data_dir: Path, now: pd.Timestamp, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Usable responses (kind nps/csat, score in range), first copy of each response_id, before the cutoff."""
    surveys = read_table(data_dir, "surveys", SURVEY_COLUMNS)
    kind = _clean_text(surveys["kind"], "", lower=True)
    score = pd.to_numeric(surveys["score"], errors="coerce")
    usable = (
        surveys["customer_id"].notna() & (surveys["customer_id"] != "")
        & (surveys["submitted_at"] >= EARLIEST) & (surveys["submitted_at"] < now + pd.Timedelta(days=1))
        & (((kind == "nps") & score.between(0, 10)) | ((kind == "csat") & score.between(1, 5)))
    )
    surveys = surveys.assign(kind=kind, score=score)[usable].sort_values("submitted_at", kind="stable")
    surveys = surveys[surveys["response_id"].isna() | ~surveys["response_id"].duplicated()]
    return surveys[surveys["submitted_at"] < cutoff]


def segment(model: Model, params: dict) -> pd.DataFrame:
    """The segment's customers (None = all values of a dimension)."""
    customers = model.customers
    keep = np.ones(len(customers), dtype=bool)
    for param, column in SEGMENT_COLUMNS.items():
        if params.get(param) is not None:
            keep &= customers[column].isin(params[param]).to_numpy()
    return customers[keep]


def _segment_orders(model: Model, customers: pd.DataFrame, params: dict) -> pd.DataFrame:
    if all(params.get(param) is None for param in SEGMENT_COLUMNS):
        return model.orders
    return model.orders[model.orders["customer_id"].isin(customers.index)]


def _segment_surveys(model: Model, customers: pd.DataFrame, params: dict) -> pd.DataFrame:
    if all(params.get(param) is None for param in SEGMENT_COLUMNS):
        return model.surveys
    return model.surveys[model.surveys["customer_id"].isin(customers.index)]


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else np.nan


def kpis(customers: pd.DataFrame) -> pd.DataFrame:
    orders = int(customers["count_orders"].sum())
    revenue = float(customers["revenue"].sum())
    repeat = int((customers["count_orders"] >= 2).sum())
    return pd.DataFrame([{"customers": len(customers), "orders": orders, "revenue": round(revenue, 2),
                          "aov": _ratio(revenue, orders), "repeat_customers": repeat,
                          "repeat_rate": _ratio(repeat, len(customers))}])


def _second_within_90d(customers: pd.DataFrame) -> pd.Series:
    return (customers["second_ordered_at"] <= customers["first_ordered_at"] + pd.Timedelta(days=90)).fillna(False)


def second_order_rate_90d(customers: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    eligible = customers["first_ordered_at"] + pd.Timedelta(days=90) <= cutoff
    second = int((eligible & _second_within_90d(customers)).sum())
    return pd.DataFrame([{"eligible_customers": int(eligible.sum()), "second_order_customers": second,
                          "second_order_rate_90d": _ratio(second, int(eligible.sum()))}])


def median_days_between_orders(orders: pd.DataFrame) -> pd.DataFrame:
    gaps = orders.groupby("customer_id", sort=False)["ordered_at"].diff().dropna()
    days = gaps.to_numpy().astype("timedelta64[us]").astype(np.int64) / DAY_MICROSECONDS
    return pd.DataFrame([{"median_days_between_orders": float(np.median(days)) if len(days) else np.nan,
                          "count_gaps": len(days)}])


def _months_between(start, end) -> np.ndarray:
    start, end = np.asarray(start, dtype="datetime64[M]"), np.asarray(end, dtype="datetime64[M]")
    return (end - start).astype(np.int64)


def activity_trend(customers: pd.DataFrame, orders: pd.DataFrame, as_of: date, params: dict) -> pd.DataFrame:
    """Monthly: active, new, returning customers, orders, revenue; every month from the first cohort."""
    if customers.empty:
        return pd.DataFrame(columns=["period_start", "active_customers", "new_customers", "returning_customers",
                                     "orders", "revenue"])
    month = orders["ordered_at"].to_numpy().astype("datetime64[M]")
    by_month = orders.assign(period_start=month).groupby("period_start")
    activity = pd.DataFrame({"active_customers": by_month["customer_id"].nunique(),
                             "orders": by_month.size(), "revenue": by_month["revenue"].sum()})
    new = customers.groupby("cohort_month").size()
    periods = pd.date_range(customers["cohort_month"].min(), pd.Timestamp(as_of).to_period("M").start_time,
                            freq="MS")
    frame = pd.DataFrame(index=periods)
    frame["active_customers"] = activity["active_customers"].reindex(periods).fillna(0).astype(int)
    frame["new_customers"] = new.reindex(periods).fillna(0).astype(int)
    frame["returning_customers"] = frame["active_customers"] - frame["new_customers"]
    frame["orders"] = activity["orders"].reindex(periods).fillna(0).astype(int)
    frame["revenue"] = activity["revenue"].reindex(periods).fillna(0.0)
    frame = frame.rename_axis("period_start").reset_index()
    if params.get("start_date"):
        frame = frame[frame["period_start"] >= pd.Timestamp(params["start_date"])]
    if params.get("end_date"):
        frame = frame[frame["period_start"] <= pd.Timestamp(params["end_date"])]
    return frame.reset_index(drop=True)


def _customer_months(customers: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """One row per customer x month with an order: cohort, period_number, revenue."""
    month = orders["ordered_at"].to_numpy().astype("datetime64[M]")
    activity = (orders.assign(period_start=month).groupby(["customer_id", "period_start"], sort=False)["revenue"]
                .sum().reset_index())
    activity["cohort_start"] = customers["cohort_month"].reindex(activity["customer_id"]).to_numpy()
    activity["period_number"] = _months_between(activity["cohort_start"], activity["period_start"])
    return activity


def cohort_retention(customers: pd.DataFrame, orders: pd.DataFrame, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The monthly retention matrix (and the customer-month activity, reused by the drill-down)."""
    activity = _customer_months(customers, orders)
    sizes = customers.groupby("cohort_month").size().rename("cohort_size")
    as_of_month = np.datetime64(as_of, "M")
    rows = []
    for cohort, size in sizes.items():
        for k in range(int(_months_between(cohort, as_of_month)) + 1):
            rows.append((cohort, k, size))
    frame = pd.DataFrame(rows, columns=["cohort_start", "period_number", "cohort_size"])
    active = activity.groupby(["cohort_start", "period_number"]).agg(
        active_customers=("customer_id", "size"), revenue=("revenue", "sum"))
    last = activity.groupby("customer_id", sort=False).agg(cohort_start=("cohort_start", "first"),
                                                           last_period=("period_number", "max"))
    last_counts = last.groupby(["cohort_start", "last_period"]).size()
    frame = frame.join(active, on=["cohort_start", "period_number"])
    frame["active_customers"] = frame["active_customers"].fillna(0).astype(int)
    frame["revenue"] = frame["revenue"].fillna(0.0)
    frame = frame.join(last_counts.rename("ending_here"), on=["cohort_start", "period_number"])
    frame["ending_here"] = frame["ending_here"].fillna(0).astype(int)
    frame["active_on_or_after"] = (frame[::-1].groupby("cohort_start")["ending_here"].cumsum()[::-1]).astype(int)
    frame["retention_rate"] = frame["active_customers"] / frame["cohort_size"]
    frame["retention_on_or_after_rate"] = frame["active_on_or_after"] / frame["cohort_size"]
    frame["cohort_start"] = pd.to_datetime(frame["cohort_start"])
    return frame.drop(columns=["ending_here"]), activity


def cohort_members(customers: pd.DataFrame, activity: pd.DataFrame, cohort_start: date, period_number: int,
                   limit: int) -> pd.DataFrame:
    """The drill-down: customers of a cohort with no order in period k, highest revenue first."""
    members = customers[customers["cohort_month"] == np.datetime64(cohort_start, "M")]
    active = activity.loc[activity["period_number"] == period_number, "customer_id"]
    inactive = members[~members.index.isin(active)]
    ordered = inactive.reset_index().sort_values(["revenue", "customer_id"], ascending=[False, True])
    page = ordered.head(limit)[["customer_id", "count_orders", "revenue"]].reset_index(drop=True)
    return page.assign(total_matches=len(inactive))


def time_to_second_order(customers: pd.DataFrame) -> pd.DataFrame:
    repeat = customers[customers["second_ordered_at"].notna()]
    micros = (repeat["second_ordered_at"] - repeat["first_ordered_at"]).to_numpy().astype("timedelta64[us]")
    days = np.floor(micros.astype(np.int64) / DAY_MICROSECONDS).astype(int)
    counts = pd.Series(days).value_counts().sort_index()
    return pd.DataFrame({"days_to_second_order": counts.index, "customers": counts.to_numpy()})


def orders_per_customer(customers: pd.DataFrame) -> pd.DataFrame:
    labels = ["1", "2", "3", "4", "5", "6-10", "11+"]
    bucket = pd.cut(customers["count_orders"], [0, 1, 2, 3, 4, 5, 10, np.inf], labels=labels)
    grouped = customers.groupby(bucket, observed=False).agg(customers=("count_orders", "size"),
                                                           revenue=("revenue", "sum"))
    grouped["customer_share"] = grouped["customers"] / grouped["customers"].sum() if len(customers) else np.nan
    return grouped.rename_axis("order_count_bucket").reset_index().astype({"order_count_bucket": str})


def _flag_90d(customers: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    eligible = customers["first_ordered_at"] + pd.Timedelta(days=90) <= cutoff
    return customers.assign(is_eligible=eligible, is_second=eligible & _second_within_90d(customers))


def second_order_rate_by_cohort(customers: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    grouped = _flag_90d(customers, cutoff).groupby("cohort_month").agg(
        cohort_size=("count_orders", "size"), eligible_customers=("is_eligible", "sum"),
        second_order_customers=("is_second", "sum"))
    eligible = grouped["eligible_customers"].replace(0, np.nan)
    grouped["second_order_rate_90d"] = grouped["second_order_customers"] / eligible
    return grouped.rename_axis("cohort_start").reset_index()


def repeat_rate_by_segment(customers: pd.DataFrame, cutoff: pd.Timestamp, dimension: str) -> pd.DataFrame:
    flagged = _flag_90d(customers, cutoff).assign(is_repeat=customers["count_orders"] >= 2)
    grouped = flagged.groupby(dimension).agg(
        customers=("count_orders", "size"), repeat_customers=("is_repeat", "sum"),
        eligible_customers_90d=("is_eligible", "sum"), second=("is_second", "sum"), revenue=("revenue", "sum"))
    grouped["repeat_rate"] = grouped["repeat_customers"] / grouped["customers"]
    grouped["second_order_rate_90d"] = grouped["second"] / grouped["eligible_customers_90d"].replace(0, np.nan)
    grouped = grouped.rename_axis("segment_value").reset_index().drop(columns=["second"])
    return grouped.sort_values(["customers", "segment_value"], ascending=[False, True]).reset_index(drop=True)


def _nps_csat(surveys: pd.DataFrame) -> dict:
    nps = surveys[surveys["kind"] == "nps"]["score"]
    csat = surveys[surveys["kind"] == "csat"]["score"]
    return {"nps_responses_90d": len(nps),
            "nps_90d": 100.0 * ((nps >= 9).sum() - (nps <= 6).sum()) / len(nps) if len(nps) else np.nan,
            "csat_responses_90d": len(csat),
            "csat_90d": (csat >= 4).sum() / len(csat) if len(csat) else np.nan}


def satisfaction_90d(surveys: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    window = surveys[surveys["submitted_at"] >= cutoff - pd.Timedelta(days=90)]
    return pd.DataFrame([_nps_csat(window)])


def _survey_trend(surveys: pd.DataFrame, kind: str, params: dict) -> pd.DataFrame:
    rows = surveys[surveys["kind"] == kind]
    rows = rows.assign(period_start=rows["submitted_at"].to_numpy().astype("datetime64[M]"))
    if params.get("start_date"):
        rows = rows[rows["period_start"] >= pd.Timestamp(params["start_date"])]
    if params.get("end_date"):
        rows = rows[rows["period_start"] <= pd.Timestamp(params["end_date"])]
    grouped = rows.groupby("period_start")["score"]
    if kind == "nps":
        frame = pd.DataFrame({"responses": grouped.size(), "promoters": grouped.apply(lambda s: (s >= 9).sum()),
                              "detractors": grouped.apply(lambda s: (s <= 6).sum())})
        frame["nps"] = 100.0 * (frame["promoters"] - frame["detractors"]) / frame["responses"]
    else:
        frame = pd.DataFrame({"responses": grouped.size(),
                              "satisfied_responses": grouped.apply(lambda s: (s >= 4).sum()),
                              "mean_score": grouped.mean()})
        frame["csat"] = frame["satisfied_responses"] / frame["responses"]
    return frame.reset_index()


def weekly_kpis(model: Model, customers: pd.DataFrame, orders: pd.DataFrame, surveys: pd.DataFrame,
                weeks: int) -> pd.DataFrame:
    """Week 0 = the 7 days to the as-of date: orders in the week, rates as of each week's end."""
    as_of = pd.Timestamp(model.as_of)
    recent = orders[orders["ordered_at"] >= as_of - pd.Timedelta(days=7 * weeks)]
    first = customers["first_ordered_at"]
    second = customers["second_ordered_at"]
    second_90d = _second_within_90d(customers)
    rows = []
    for week in range(weeks):
        end = as_of + pd.Timedelta(days=1) - pd.Timedelta(days=7 * week)
        start = end - pd.Timedelta(days=7)
        in_week = recent[(recent["ordered_at"] >= start) & (recent["ordered_at"] < end)]
        eligible = first + pd.Timedelta(days=90) <= end
        count_customers = int((first < end).sum())
        window = surveys[(surveys["submitted_at"] >= end - pd.Timedelta(days=90)) & (surveys["submitted_at"] < end)]
        rows.append({
            "week_number": week,
            "active_customers": in_week["customer_id"].nunique(),
            "new_customers": in_week.loc[in_week["order_seq"] == 1, "customer_id"].nunique(),
            "orders": len(in_week),
            "revenue": float(in_week["revenue"].sum()),
            "repeat_rate": _ratio(int((second < end).sum()), count_customers),
            "second_order_rate_90d": _ratio(int((eligible & second_90d).sum()), int(eligible.sum())),
            **_nps_csat(window),
        })
    return pd.DataFrame(rows)


def segment_movements(model: Model, customers: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """This week vs the week before, per segment dimension x value: orders, revenue, new and active customers."""
    as_of = pd.Timestamp(model.as_of)
    recent = orders[orders["ordered_at"] >= as_of - pd.Timedelta(days=13)]
    recent = recent.assign(is_this_week=recent["ordered_at"] >= as_of - pd.Timedelta(days=6))
    recent = recent[["customer_id", "revenue", "order_seq", "is_this_week"]]
    dimensions = ["acquisition_channel", "region", "first_category", "loyalty_tier"]
    recent = recent.join(customers[dimensions], on="customer_id", how="inner")
    frames = []
    for dimension in dimensions:
        for is_this_week, column in ((True, "this_week"), (False, "previous_week")):
            rows = recent[recent["is_this_week"] == is_this_week]
            grouped = rows.groupby(dimension)
            new = rows[rows["order_seq"] == 1].groupby(dimension)["customer_id"].nunique()
            metrics = pd.DataFrame({"orders": grouped.size().astype(float), "revenue": grouped["revenue"].sum(),
                                    "new_customers": new.astype(float),
                                    "active_customers": grouped["customer_id"].nunique().astype(float)})
            long = metrics.rename_axis("segment_value").reset_index().melt(
                id_vars="segment_value", var_name="metric", value_name=column)
            frames.append(long.assign(dimension=dimension, week=column))
    this_week = pd.concat([f for f in frames if f["week"].iloc[0] == "this_week"] if frames else [])
    previous = pd.concat([f for f in frames if f["week"].iloc[0] == "previous_week"] if frames else [])
    keys = ["dimension", "segment_value", "metric"]
    merged = this_week[keys + ["this_week"]].merge(previous[keys + ["previous_week"]], on=keys, how="outer")
    return merged.fillna({"this_week": 0.0, "previous_week": 0.0})


def _overview_weeks() -> int:
    """The weeks the Weekly review asks weekly_kpis for (the page's literal ``weeks=``, read by bench/pages.py)."""
    from bench.pages import PAGE_QUERIES

    return next(query.params["weeks"] for query in PAGE_QUERIES["overview"] if query.name == "weekly_kpis")


def page_numbers(page: str, model: Model, params: dict) -> dict[str, pd.DataFrame]:
    """The numbers of one page for the Filters params: {query name: frame}, as our queries name them."""
    customers = segment(model, params)
    orders = _segment_orders(model, customers, params)
    if page == "overview":
        surveys = _segment_surveys(model, customers, params)
        return {"weekly_kpis": weekly_kpis(model, customers, orders, surveys, _overview_weeks()),
                "segment_movements": segment_movements(model, customers, orders)}
    if page == "repeat":
        return {
            "kpis": kpis(customers),
            "second_order_rate_90d": second_order_rate_90d(customers, model.cutoff),
            "median_days_between_orders": median_days_between_orders(orders),
            "activity_trend": activity_trend(customers, orders, model.as_of, params),
            "time_to_second_order": time_to_second_order(customers),
            "orders_per_customer": orders_per_customer(customers),
            "second_order_rate_by_cohort": second_order_rate_by_cohort(customers, model.cutoff),
            "repeat_rate_by_segment": repeat_rate_by_segment(customers, model.cutoff, "acquisition_channel"),
        }
    if page == "cohorts":
        from bench.pages import PAGE_SIZE, cohort_drilldown

        retention, activity = cohort_retention(customers, orders, model.as_of)
        numbers = {"cohort_retention": retention}
        cell = cohort_drilldown(retention, params)
        if cell is not None:
            numbers["cohort_members"] = cohort_members(customers, activity, cell["cohort_start"],
                                                       cell["period_number"], PAGE_SIZE)
        return numbers
    if page == "satisfaction":
        surveys = _segment_surveys(model, customers, params)
        return {"satisfaction_90d": satisfaction_90d(surveys, model.cutoff),
                "nps_trend": _survey_trend(surveys, "nps", params),
                "csat_trend": _survey_trend(surveys, "csat", params)}
    raise ValueError(f"no pandas baseline for page {page!r}")


def report_numbers(model: Model) -> dict:
    """The JSON report's contract keys (docs/metrics.md), for all customers."""
    customers, orders = model.customers, model.orders
    totals = kpis(customers).iloc[0]
    retention, _ = cohort_retention(customers, orders, model.as_of)
    cohorts = [
        {"cohort": pd.Timestamp(start).strftime("%Y-%m"), "size": int(rows["cohort_size"].iloc[0]),
         "retention": rows.sort_values("period_number")["retention_rate"].tolist()}
        for start, rows in retention.groupby("cohort_start", sort=True)
    ]
    satisfaction = satisfaction_90d(model.surveys, model.cutoff).iloc[0]
    return {
        "as_of": model.as_of.isoformat(),
        "customers": int(totals["customers"]),
        "orders": int(totals["orders"]),
        "revenue": float(totals["revenue"]),
        "aov": float(totals["aov"]),
        "repeat_rate": float(totals["repeat_rate"]),
        "second_order_rate_90d": float(second_order_rate_90d(customers, model.cutoff)["second_order_rate_90d"].iloc[0]),
        "median_days_between_orders": float(median_days_between_orders(orders)["median_days_between_orders"].iloc[0]),
        "cohort_retention": cohorts,
        "nps_90d": float(satisfaction["nps_90d"]),
        "csat_90d": float(satisfaction["csat_90d"]),
        "nps_responses_90d": int(satisfaction["nps_responses_90d"]),
        "csat_responses_90d": int(satisfaction["csat_responses_90d"]),
    }


# Columns compared per query (ours may have more: labels, flags, intervals the baseline does not compute),
# and the key columns rows are matched on.
COMPARED = {
    "weekly_kpis": (["week_number"], ["active_customers", "new_customers", "orders", "revenue", "repeat_rate",
                                      "second_order_rate_90d", "nps_90d", "csat_90d", "nps_responses_90d",
                                      "csat_responses_90d"]),
    "segment_movements": (["dimension", "segment_value", "metric"], ["this_week", "previous_week"]),
    "kpis": ([], ["customers", "orders", "revenue", "aov", "repeat_customers", "repeat_rate"]),
    "second_order_rate_90d": ([], ["eligible_customers", "second_order_customers", "second_order_rate_90d"]),
    "median_days_between_orders": ([], ["median_days_between_orders", "count_gaps"]),
    "activity_trend": (["period_start"], ["active_customers", "new_customers", "returning_customers", "orders",
                                          "revenue"]),
    "time_to_second_order": (["days_to_second_order"], ["customers"]),
    "orders_per_customer": (["order_count_bucket"], ["customers", "revenue", "customer_share"]),
    "second_order_rate_by_cohort": (["cohort_start"], ["cohort_size", "eligible_customers",
                                                       "second_order_customers", "second_order_rate_90d"]),
    "repeat_rate_by_segment": (["segment_value"], ["customers", "repeat_customers", "repeat_rate",
                                                   "eligible_customers_90d", "second_order_rate_90d", "revenue"]),
    "cohort_retention": (["cohort_start", "period_number"], ["cohort_size", "active_customers",
                                                             "active_on_or_after", "retention_rate",
                                                             "retention_on_or_after_rate", "revenue"]),
    "cohort_members": ([], ["customer_id", "count_orders", "revenue", "total_matches"]),
    "satisfaction_90d": ([], ["nps_responses_90d", "nps_90d", "csat_responses_90d", "csat_90d"]),
    "nps_trend": (["period_start"], ["responses", "promoters", "detractors", "nps"]),
    "csat_trend": (["period_start"], ["responses", "satisfied_responses", "mean_score", "csat"]),
}


def _normalised(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    frame = frame.loc[:, keys + columns].copy()
    for column in keys:
        if "start" in column:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
        elif column in ("segment_value", "dimension", "metric", "order_count_bucket"):
            frame[column] = frame[column].astype(str)
        else:
            frame[column] = frame[column].astype(np.int64)
    return frame.sort_values(keys).reset_index(drop=True) if keys else frame.reset_index(drop=True)


def compare(name: str, ours: pd.DataFrame, theirs: pd.DataFrame, rtol: float = 1e-9) -> list[str]:
    """Differences between our query result and the baseline's (empty when equal within float tolerance)."""
    keys, columns = COMPARED[name]
    try:
        ours, theirs = _normalised(ours, keys, columns), _normalised(theirs, keys, columns)
    except KeyError as error:
        return [f"{name}: column missing: {error}"]
    if len(ours) != len(theirs):
        return [f"{name}: {len(ours)} rows in ours, {len(theirs)} in pandas"]
    problems = []
    for column in keys:
        if not (ours[column].to_numpy() == theirs[column].to_numpy()).all():
            problems.append(f"{name}: key {column} differs")
    for column in columns:
        a, b = ours[column], theirs[column]
        if a.dtype == object or b.dtype == object or pd.api.types.is_string_dtype(a):
            same = (a.astype(str).to_numpy() == b.astype(str).to_numpy())
        else:
            a, b = a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float, na_value=np.nan)
            same = np.isclose(a, b, rtol=rtol, atol=1e-9, equal_nan=True)
        if not same.all():
            first = int(np.flatnonzero(~same)[0])
            problems.append(f"{name}.{column}: {int((~same).sum())} rows differ, e.g. row {first}: "
                            f"ours {ours[column].iloc[first]!r}, pandas {theirs[column].iloc[first]!r}")
    return problems


def compare_report(ours: dict, theirs: dict, rtol: float = 1e-9) -> list[str]:
    """Differences between our JSON report and the baseline's contract numbers."""
    problems = []
    for key, value in theirs.items():
        mine = ours.get(key)
        if key == "cohort_retention":
            if [(c["cohort"], c["size"]) for c in mine] != [(c["cohort"], c["size"]) for c in value]:
                problems.append("report.cohort_retention: cohorts or sizes differ")
                continue
            for a, b in zip(mine, value):
                if len(a["retention"]) != len(b["retention"]) or not np.allclose(
                        np.array(a["retention"], dtype=float), np.array(b["retention"], dtype=float),
                        rtol=rtol, atol=1e-12, equal_nan=True):
                    problems.append(f"report.cohort_retention {a['cohort']}: retention differs")
        elif isinstance(value, str) or mine is None or value is None:
            if mine != value and not (mine is None and isinstance(value, float) and np.isnan(value)):
                problems.append(f"report.{key}: ours {mine!r}, pandas {value!r}")
        elif not np.isclose(float(mine), float(value), rtol=rtol, atol=1e-6 if key == "revenue" else 1e-12):
            problems.append(f"report.{key}: ours {mine!r}, pandas {value!r}")
    return problems
