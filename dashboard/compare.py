"""Segment comparison: 2-4 segments side by side, each number with its 95% interval and the customers (or orders,
responses) behind it, and each segment's difference from the first (A) with its 95% interval.

Every number comes from the SQL files the single-segment pages run, with the segment as their filter, so a
comparison column equals what the Repeat purchase, Cohorts, Satisfaction and Care pages show for that segment;
those files read the aggregate tables, so a comparison never rescans orders. ``run(name, **params)`` runs a
query (the app passes its cached ``query``, the tests ``run_query`` on a cursor). No Streamlit import.

Intervals: proportions use Wilson's score interval and their differences Newcombe's hybrid score interval;
NPS, revenue per customer and the median days to a second order use a normal approximation (the median's
standard error from its distribution-free rank interval), and differences of those add the two variances.
Segments that share customers are not independent samples; the page says so when they overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard import segments as segment_specs
from dashboard.figures import wilson_interval

LETTERS = "ABCD"
Z = 1.959963984540054  # the 97.5% normal quantile, as care_repeat_rates.sql uses
RETENTION_MONTHS = (3, 12)  # the summary's retention and revenue-per-customer rows
MIN_SEGMENTS, MAX_SEGMENTS = 2, 4

# metric key -> (label, kind, what its n counts). Kinds: count, rate, score, money, days.
SUMMARY_METRICS = {
    "customers": ("Customers", "count", "customers"),
    "repeat_rate": ("Repeat rate (2+ orders)", "rate", "customers"),
    "second_order_rate_90d": ("2nd order within 90 days", "rate", "customers 90+ days since first order"),
    "median_days_to_second_order": ("Median days to 2nd order", "days", "customers with a 2nd order"),
    "retention_month_3": ("Ordered in month 3 after the first order", "rate", "customers of complete cohorts"),
    "retention_month_12": ("Ordered in month 12 after the first order", "rate", "customers of complete cohorts"),
    "revenue_per_customer_month_3": ("Revenue per customer by month 3", "money", "customers of complete cohorts"),
    "revenue_per_customer_month_12": ("Revenue per customer by month 12", "money", "customers of complete cohorts"),
    "nps_90d": ("NPS (90 days)", "score", "NPS responses"),
    "csat_90d": ("CSAT (90 days)", "rate", "CSAT responses"),
    "repurchase_after_resolved": ("Bought again ≤ 90 days after a resolved complaint", "rate", "orders"),
    "repurchase_after_unresolved": ("Bought again ≤ 90 days after an unresolved complaint", "rate", "orders"),
}
NEEDS_TABLE = {"nps_90d": "surveys", "csat_90d": "surveys", "repurchase_after_resolved": "tickets",
               "repurchase_after_unresolved": "tickets"}
TICKET_GROUPS = ("no ticket", "resolved", "unresolved")


@dataclass
class Comparison:
    """Everything the comparison view shows, as DataFrames keyed by ``segment`` (a letter)."""

    labels: dict[str, str]  # letter -> "A · tier: gold"
    summary: pd.DataFrame  # metric, segment, value, ci_low, ci_high, n, note
    differences: pd.DataFrame  # metric, segment (B..D), difference, ci_low, ci_high (vs A)
    retention: pd.DataFrame  # segment, months_since_first_order, retention_rate, ci_low, ci_high, customers
    revenue: pd.DataFrame  # segment + revenue_per_customer_by_month.sql's columns
    milestones: pd.DataFrame  # segment + second_order_milestones.sql's columns, ci_low, ci_high
    care: pd.DataFrame  # segment + care_repeat_rates.sql's rows of the ticket dimension
    overlapping: list[tuple[str, str]] = field(default_factory=list)  # pairs of segments that share customers
    empty: list[str] = field(default_factory=list)  # segments without customers


def label(letter: str, segment: dict) -> str:
    """``A · Tier: Gold``."""
    return f"{letter} · {segment_specs.people_text(segment)}"


def pooled_retention(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Monthly retention pooled over the cohorts that have completed each month: customers active in month k of
    those cohorts / their customers, with a Wilson interval. ``cohorts``: cohort_retention.sql at grain month.
    (Sums by month with numpy: this runs on every rerun of the comparison.)"""
    complete = ~cohorts["is_partial_period"].to_numpy(dtype=bool)
    months = cohorts["period_number"].to_numpy()[complete].astype(np.int64)
    if not len(months):
        return pd.DataFrame(columns=["months_since_first_order", "active_customers", "customers", "cohorts",
                                     "retention_rate", "ci_low", "ci_high"])
    active = np.bincount(months, weights=cohorts["active_customers"].to_numpy(dtype=float)[complete])
    customers = np.bincount(months, weights=cohorts["cohort_size"].to_numpy(dtype=float)[complete])
    counted = np.bincount(months)  # one row per cohort and month
    present = np.flatnonzero(counted)
    pooled = pd.DataFrame({"months_since_first_order": present, "active_customers": active[present].astype(np.int64),
                           "customers": customers[present].astype(np.int64), "cohorts": counted[present]})
    pooled["retention_rate"] = pooled["active_customers"] / pooled["customers"]
    pooled["ci_low"], pooled["ci_high"] = wilson_interval(pooled["active_customers"], pooled["customers"], Z)
    return pooled


def median_days(days: pd.DataFrame) -> tuple[float | None, float | None, float | None, int]:
    """Median whole days to a second order from time_to_second_order.sql's histogram, with a distribution-free
    95% interval (the order statistics at ranks n/2 -/+ 1.96 sqrt(n)/2), and n."""
    if days.empty or days["customers"].sum() == 0:
        return None, None, None, 0
    ordered = days.sort_values("days_to_second_order")
    values = ordered["days_to_second_order"].to_numpy()
    cumulative = ordered["customers"].cumsum().to_numpy()
    n = int(cumulative[-1])

    def at_rank(rank: int) -> float:  # 1-based rank in the sorted days
        return float(values[np.searchsorted(cumulative, min(max(rank, 1), n))])

    median = (at_rank((n + 1) // 2) + at_rank(n // 2 + 1)) / 2
    half = Z * math.sqrt(n) / 2
    return median, at_rank(math.floor(n / 2 - half)), at_rank(math.ceil(n / 2 + half + 1)), n


def nps_interval(promoters: int, detractors: int, responses: int) -> tuple[float | None, float | None, float | None]:
    """NPS and its 95% interval: each response scores +100, 0 or -100; the interval is the mean's."""
    if not responses:
        return None, None, None
    promoter_share, detractor_share = promoters / responses, detractors / responses
    nps = 100 * (promoter_share - detractor_share)
    variance = promoter_share + detractor_share - (promoter_share - detractor_share) ** 2
    half = Z * 100 * math.sqrt(max(variance, 0) / responses)
    return nps, nps - half, nps + half


def _row(metric: str, letter: str, value=None, low=None, high=None, n=None, note: str = "") -> dict:
    clean = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in (value, low, high)]
    return {"metric": metric, "segment": letter, "value": clean[0], "ci_low": clean[1], "ci_high": clean[2],
            "n": None if n is None else int(n), "note": note}


def _proportion(metric: str, letter: str, successes, trials) -> dict:
    successes, trials = int(successes or 0), int(trials or 0)
    if trials == 0:
        return _row(metric, letter, n=0, note="none to measure")
    low, high = wilson_interval(successes, trials, Z)
    return _row(metric, letter, successes / trials, float(low), float(high), trials)


def segment_rows(run, letter: str, segment: dict, exported: dict[str, bool]) -> dict:
    """The summary rows and curves of one segment."""
    params = segment_specs.params(segment)
    kpis = run("kpis", **params).to_dict("records")[0]
    second = run("second_order_rate_90d", **params).to_dict("records")[0]
    days = run("time_to_second_order", **params)
    milestones = run("second_order_milestones", **params)
    cohorts = run("cohort_retention", **params, grain="month", small_cohort_size=0)
    revenue = run("revenue_per_customer_by_month", **params)
    satisfaction = run("satisfaction_90d", **params).to_dict("records")[0]
    care = run("care_repeat_rates", **params)

    rows = [_row("customers", letter, kpis["customers"], n=kpis["customers"]),
            _proportion("repeat_rate", letter, kpis["repeat_customers"], kpis["customers"]),
            _proportion("second_order_rate_90d", letter, second["second_order_customers"],
                        second["eligible_customers"])]
    median, low, high, n = median_days(days)
    rows.append(_row("median_days_to_second_order", letter, median, low, high, n,
                     "" if n else "nobody has a 2nd order"))
    retention = pooled_retention(cohorts)
    for month in RETENTION_MONTHS:
        at = retention[retention["months_since_first_order"] == month]
        rows.append(_proportion(f"retention_month_{month}", letter, at["active_customers"].sum(),
                                at["customers"].sum()) if len(at) else
                    _row(f"retention_month_{month}", letter, n=0, note=f"no cohort has completed month {month}"))
        at = revenue[revenue["months_since_first_order"] == month]
        rows.append(_row(f"revenue_per_customer_month_{month}", letter, *at.iloc[0][
            ["revenue_per_customer", "ci_low", "ci_high", "customers"]]) if len(at) else
                    _row(f"revenue_per_customer_month_{month}", letter, n=0,
                         note=f"no cohort has completed month {month}"))
    if exported.get("surveys", True):
        nps, low, high = nps_interval(satisfaction["nps_promoters_90d"], satisfaction["nps_detractors_90d"],
                                      satisfaction["nps_responses_90d"])
        rows.append(_row("nps_90d", letter, nps, low, high, satisfaction["nps_responses_90d"],
                         "" if nps is not None else "no NPS responses in the 90 days"))
        rows.append(_proportion("csat_90d", letter, satisfaction["csat_satisfied_90d"],
                                satisfaction["csat_responses_90d"]))
    else:
        rows += [_row(metric, letter, note="not exported") for metric in ("nps_90d", "csat_90d")]
    tickets = care[care["care_dimension"] == "ticket"]
    for group in ("resolved", "unresolved"):
        metric = f"repurchase_after_{group}"
        if not exported.get("tickets", True):
            rows.append(_row(metric, letter, note="not exported"))
            continue
        at = tickets[tickets["care_group"] == group].iloc[0]  # every group is listed, with its Wilson interval
        rows.append(_row(metric, letter, at["repurchase_rate_90d"], at["ci_low"], at["ci_high"], at["anchor_orders"],
                         "" if at["anchor_orders"] else "none to measure"))
    milestones = milestones.assign(segment=letter)
    milestones["ci_low"], milestones["ci_high"] = wilson_interval(milestones["reached_customers"],
                                                                  milestones["eligible_customers"], Z)
    return {
        "summary": rows,
        "retention": retention.assign(segment=letter),
        "revenue": revenue.assign(segment=letter),
        "milestones": milestones,
        "care": tickets.assign(segment=letter) if exported.get("tickets", True) else tickets.iloc[0:0],
        "customers": int(kpis["customers"]),
    }


def difference(kind: str, first: dict, other: dict) -> tuple[float | None, float | None, float | None]:
    """other - first with its 95% interval (Newcombe for proportions, else the normal approximation)."""
    if first["value"] is None or other["value"] is None or first["ci_low"] is None or other["ci_low"] is None:
        return None, None, None
    value = other["value"] - first["value"]
    if kind == "rate":
        lower = value - math.sqrt((other["value"] - other["ci_low"]) ** 2 + (first["ci_high"] - first["value"]) ** 2)
        upper = value + math.sqrt((other["ci_high"] - other["value"]) ** 2 + (first["value"] - first["ci_low"]) ** 2)
        return value, lower, upper
    standard_errors = [(row["ci_high"] - row["ci_low"]) / (2 * Z) for row in (first, other)]
    half = Z * math.sqrt(sum(error * error for error in standard_errors))
    return value, value - half, value + half


def compare_segments(run, chosen: list[dict], exported: dict[str, bool], rows_of=None) -> Comparison:
    """Compare 2-4 segments (``{"tier": ("gold",)}``; ``{}`` is everyone). ``exported``: which optional tables
    were exported (``surveys``, ``tickets``); a metric whose table is missing is "not exported", never 0.
    ``rows_of(letter, segment)`` gives one segment's rows (default ``segment_rows`` with ``run``): the app passes a
    cached one, so a rerun recomputes only the segment that changed."""
    if not MIN_SEGMENTS <= len(chosen) <= MAX_SEGMENTS:
        raise ValueError(f"compare {MIN_SEGMENTS} to {MAX_SEGMENTS} segments, not {len(chosen)}")
    letters = LETTERS[:len(chosen)]
    rows_of = rows_of or (lambda letter, segment: segment_rows(run, letter, segment, exported))
    parts = {letter: rows_of(letter, segment) for letter, segment in zip(letters, chosen)}
    # object columns keep None (no value, with its note) apart from numbers: never a NaN read as a number
    summary = pd.DataFrame([row for part in parts.values() for row in part["summary"]], dtype=object)
    differences = []
    by_key = {(row["metric"], row["segment"]): row for row in summary.to_dict("records")}
    for metric, (_, kind, _) in SUMMARY_METRICS.items():
        if metric == "customers":
            continue
        for letter in letters[1:]:
            value, low, high = difference(kind, by_key[(metric, "A")], by_key[(metric, letter)])
            differences.append({"metric": metric, "segment": letter, "difference": value, "ci_low": low,
                                "ci_high": high})
    overlapping = [(LETTERS[i], LETTERS[j]) for i in range(len(chosen)) for j in range(i + 1, len(chosen))
                   if segment_specs.overlap(chosen[i], chosen[j])]
    differences = pd.DataFrame(differences, columns=["metric", "segment", "difference", "ci_low", "ci_high"],
                               dtype=object)
    return Comparison(
        labels={letter: label(letter, segment) for letter, segment in zip(letters, chosen)},
        summary=summary,
        differences=differences,
        retention=pd.concat([part["retention"] for part in parts.values()], ignore_index=True),
        revenue=pd.concat([part["revenue"] for part in parts.values()], ignore_index=True),
        milestones=pd.concat([part["milestones"] for part in parts.values()], ignore_index=True),
        care=pd.concat([part["care"] for part in parts.values()], ignore_index=True),
        overlapping=overlapping,
        empty=[letter for letter in letters if parts[letter]["customers"] == 0],
    )
