"""Tests for the synthetic demo exports: determinism, layout, contract, planted effects and planted problems."""

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard.demo import EMPTY_COMMENTS, OTHER_LANGUAGE_COMMENTS, generate

END_DATE = date(2026, 11, 15)
END_EXCLUSIVE = pd.Timestamp("2026-11-16", tz="UTC")
EFFECT_CUSTOMERS = 20_000
SMALL_CUSTOMERS = 2_000
SINGLE_FILE_TABLES = ("surveys", "customers", "tickets", "returns", "campaigns")
CANCELLED_SPELLINGS = {"cancelled", "Cancelled", "CANCELED", "canceled"}

UTC_MICROS = pa.timestamp("us", tz="UTC")
CONTRACT_TYPES = {
    "orders": {
        "order_id": pa.string(), "customer_id": pa.string(), "ordered_at": UTC_MICROS, "revenue": pa.float64(),
        "status": pa.string(), "channel": pa.string(), "region": pa.string(), "product_category": pa.string(),
        "discount": pa.float64(), "currency": pa.string(),
    },
    "surveys": {
        "response_id": pa.string(), "customer_id": pa.string(), "order_id": pa.string(),
        "submitted_at": UTC_MICROS, "kind": pa.string(), "score": pa.int64(), "touchpoint": pa.string(),
        "comment": pa.string(),
    },
    "customers": {
        "customer_id": pa.string(), "email": pa.string(), "created_at": UTC_MICROS,
        "acquisition_channel": pa.string(), "region": pa.string(), "loyalty_tier": pa.string(),
        "marketing_opt_in": pa.bool_(),
    },
    "tickets": {
        "ticket_id": pa.string(), "customer_id": pa.string(), "order_id": pa.string(), "opened_at": UTC_MICROS,
        "resolved_at": UTC_MICROS, "category": pa.string(), "status": pa.string(), "subject": pa.string(),
        "body": pa.string(),
    },
    "campaigns": {
        "campaign_id": pa.string(), "customer_id": pa.string(), "group": pa.string(), "sent_at": UTC_MICROS,
        "channel": pa.string(), "offer": pa.string(),
    },
    "returns": {
        "return_id": pa.string(), "order_id": pa.string(), "customer_id": pa.string(),
        "requested_at": UTC_MICROS, "reason": pa.string(), "refund_amount": pa.float64(),
    },
}


def read_table(out_dir: Path, name: str) -> pd.DataFrame:
    """Read one demo table from either layout (file or folder), without the Hive `year` column of orders."""
    single_file = out_dir / f"{name}.parquet"
    table = pq.read_table(single_file if single_file.exists() else out_dir / name)
    if "year" in table.column_names:
        table = table.drop_columns(["year"])
    return table.to_pandas()


def relative_files(out_dir: Path) -> list[str]:
    """List every file under out_dir as a sorted relative path, e.g. orders/year=2025/part-00000.parquet."""
    return sorted(str(path.relative_to(out_dir)) for path in out_dir.rglob("*") if path.is_file())


def completed_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Keep orders that count as purchases: known customer, not cancelled, one row per order_id; add next_ordered_at."""
    is_cancelled = orders["status"].str.lower().isin({"cancelled", "canceled"})
    kept = orders[orders["customer_id"].notna() & ~is_cancelled].drop_duplicates("order_id")
    kept = kept.sort_values(["customer_id", "ordered_at", "order_id"]).reset_index(drop=True)
    kept["order_number"] = kept.groupby("customer_id").cumcount()
    kept["next_ordered_at"] = kept.groupby("customer_id")["ordered_at"].shift(-1)
    return kept


def customer_repeat(orders: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """One row per customer observed for window_days after the first order: first_ordered_at, is_repeat_buyer."""
    first = completed_orders(orders).query("order_number == 0").set_index("customer_id")
    gap = first["next_ordered_at"] - first["ordered_at"]
    result = pd.DataFrame({
        "first_ordered_at": first["ordered_at"],
        "is_repeat_buyer": gap <= pd.Timedelta(days=window_days),
    })
    return result[result["first_ordered_at"] < END_EXCLUSIVE - pd.Timedelta(days=window_days)]


def assert_lower_rate(lower: pd.Series, higher: pd.Series, min_gap: float, what: str) -> None:
    """Assert that the mean of boolean `lower` is below the mean of `higher` by at least min_gap."""
    assert len(lower) >= 200 and len(higher) >= 200, f"{what}: groups too small ({len(lower)}, {len(higher)})"
    gap = higher.mean() - lower.mean()
    assert gap >= min_gap, (
        f"{what}: {lower.mean():.3f} (n={len(lower)}) vs {higher.mean():.3f} (n={len(higher)}), gap {gap:.3f}"
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """Generate one demo large enough for the planted effects to be statistically clear."""
    out_dir = tmp_path_factory.mktemp("demo")
    generate(out_dir, customers=EFFECT_CUSTOMERS, seed=7, end_date=END_DATE)
    return out_dir


@pytest.fixture(scope="module")
def demo(demo_dir) -> dict[str, pd.DataFrame]:
    """Read the five tables of the shared demo as DataFrames."""
    return {name: read_table(demo_dir, name) for name in CONTRACT_TYPES}


def test_same_seed_writes_byte_identical_files(tmp_path):
    first_counts = generate(tmp_path / "first", customers=SMALL_CUSTOMERS, seed=11)
    second_counts = generate(tmp_path / "second", customers=SMALL_CUSTOMERS, seed=11)
    assert first_counts == second_counts
    files = relative_files(tmp_path / "first")
    assert files == relative_files(tmp_path / "second")
    for file in files:
        assert (tmp_path / "first" / file).read_bytes() == (tmp_path / "second" / file).read_bytes(), file


def test_different_seed_gives_different_rows(tmp_path):
    generate(tmp_path / "first", customers=SMALL_CUSTOMERS, seed=11)
    generate(tmp_path / "second", customers=SMALL_CUSTOMERS, seed=12)
    for name in ("orders", "customers", "surveys"):
        assert not read_table(tmp_path / "first", name).equals(read_table(tmp_path / "second", name)), name


def test_returned_counts_match_written_rows(tmp_path):
    counts = generate(tmp_path, customers=SMALL_CUSTOMERS, seed=3)
    assert counts == {name: len(read_table(tmp_path, name)) for name in CONTRACT_TYPES}
    assert counts["customers"] == SMALL_CUSTOMERS
    # about 2.7 orders per customer, with a median gap of about a month between orders
    assert 2.3 * SMALL_CUSTOMERS <= counts["orders"] <= 3.2 * SMALL_CUSTOMERS


def test_single_chunk_writes_single_files_and_year_partitions(demo_dir):
    files = relative_files(demo_dir)
    assert [f"{name}.parquet" for name in sorted(SINGLE_FILE_TABLES)] == [f for f in files if "/" not in f]
    order_files = [f for f in files if f.startswith("orders/")]
    assert order_files == [f"orders/year={year}/part-00000.parquet" for year in (2023, 2024, 2025, 2026)]
    for file in order_files:
        year = int(re.search(r"year=(\d{4})", file).group(1))
        ordered_at = pq.read_table(demo_dir / file)["ordered_at"].to_pandas()
        assert (ordered_at.dt.year == year).all(), file


def test_chunked_run_writes_one_part_per_chunk_and_draws_progress(tmp_path, capsys):
    counts = generate(tmp_path, customers=2_500, seed=5, progress=True, chunk_customers=1_000)
    files = relative_files(tmp_path)
    part_names = [f"part-{chunk:05d}.parquet" for chunk in range(3)]
    for name in SINGLE_FILE_TABLES:
        assert [f for f in files if f.startswith(f"{name}/")] == [f"{name}/{part}" for part in part_names]
    assert {Path(f).name for f in files if f.startswith("orders/")} == set(part_names)

    customers = read_table(tmp_path, "customers")
    assert customers["customer_id"].tolist() == [f"C{number:08d}" for number in range(1, 2_501)]
    orders = read_table(tmp_path, "orders")
    assert len(orders) == counts["orders"]
    assert orders["order_id"].duplicated().sum() == 2
    assert set(orders["customer_id"].dropna()) == set(customers["customer_id"])
    for name, id_column in (("surveys", "response_id"), ("tickets", "ticket_id"), ("returns", "return_id")):
        assert read_table(tmp_path, name)[id_column].is_unique, name

    progress = capsys.readouterr().err
    assert "\r[" in progress
    assert progress.endswith("] 100% 2,500/2,500 customers\n")
    assert "40% 1,000/2,500 customers" in progress


def test_rerun_replaces_previous_demo_and_keeps_other_files(tmp_path):
    generate(tmp_path, customers=1_500, seed=5, chunk_customers=1_000)
    stale_partition = tmp_path / "orders" / "year=2001"
    stale_partition.mkdir()
    (stale_partition / "part-00099.parquet").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "data.parquet").write_bytes(b"keep me too")

    generate(tmp_path, customers=1_500, seed=5)

    assert not stale_partition.exists()
    for name in SINGLE_FILE_TABLES:
        assert not (tmp_path / name).exists(), name
        assert (tmp_path / f"{name}.parquet").is_file(), name
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "other" / "data.parquet").read_bytes() == b"keep me too"


def test_rejects_impossible_sizes(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, customers=0)
    with pytest.raises(ValueError):
        generate(tmp_path, customers=10, years=0)


@pytest.mark.parametrize("name", CONTRACT_TYPES)
def test_columns_and_types_follow_contract(demo_dir, name):
    path = demo_dir / f"{name}.parquet" if name != "orders" else next((demo_dir / "orders").rglob("*.parquet"))
    schema = pq.read_schema(path)
    assert {field.name: field.type for field in schema} == CONTRACT_TYPES[name]


def test_orders_follow_contract(demo):
    orders = demo["orders"]
    assert orders["order_id"].str.fullmatch(r"O\d{10}").all()
    assert orders["customer_id"].dropna().str.fullmatch(r"C\d{8}").all()
    assert set(orders["channel"]) == {"web", "app", "marketplace"}
    assert set(orders["region"]) == {"North America", "Europe", "UK", "Asia Pacific"}
    assert set(orders["product_category"]) == {"apparel", "footwear", "accessories", "home", "beauty"}
    assert set(orders["currency"]) == {"USD"}
    assert orders["discount"].between(0, 0.3).all() and (orders["discount"] > 0).mean() > 0.2
    assert set(orders["status"].dropna()) == {"completed", "fulfilled"} | CANCELLED_SPELLINGS
    assert 0.025 <= orders["status"].isin(CANCELLED_SPELLINGS).mean() <= 0.035
    assert 0 < orders["status"].isna().sum() <= 0.002 * len(orders)
    assert orders["ordered_at"].min() >= END_EXCLUSIVE - pd.Timedelta(days=1096)


def test_surveys_follow_contract(demo):
    surveys, orders = demo["surveys"], demo["orders"].drop_duplicates("order_id")
    kind = surveys["kind"].str.lower()
    assert set(surveys["kind"]) == {"nps", "csat", "NPS", "CSAT", "ces"}
    assert 0.27 <= (kind == "csat").mean() <= 0.33
    assert surveys.loc[kind == "nps", "score"].between(0, 10).all()
    assert set(surveys["touchpoint"]) == {"post_delivery", "post_support", "post_return"}
    assert surveys["response_id"].is_unique
    assert 0.2 <= surveys["comment"].notna().mean() <= 0.6

    with_order = surveys.merge(orders[["order_id", "ordered_at"]], on="order_id")
    assert len(with_order) == surveys["order_id"].notna().sum()
    days_after_order = (with_order["submitted_at"] - with_order["ordered_at"]) / pd.Timedelta(days=1)
    assert days_after_order.between(3, 14).all()


def test_customers_follow_contract(demo):
    customers, orders = demo["customers"], demo["orders"]
    assert customers["customer_id"].is_unique and customers["email"].is_unique
    assert customers["email"].str.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|org|net)").all()
    channels = {"organic_search", "paid_social", "email", "referral", "marketplace"}
    assert set(customers["acquisition_channel"]) == channels
    assert set(customers["loyalty_tier"]) == {"none", "silver", "gold"}
    assert 0.55 <= customers["marketing_opt_in"].mean() <= 0.65
    first_ordered_at = orders.groupby("customer_id")["ordered_at"].min()
    lead = first_ordered_at.reindex(customers["customer_id"]).to_numpy() - customers["created_at"].to_numpy()
    assert (lead >= pd.Timedelta(0)).all() and (lead <= pd.Timedelta(days=3)).all()
    assert (lead == pd.Timedelta(0)).mean() > 0.3


def test_tickets_follow_contract(demo):
    tickets, orders = demo["tickets"], demo["orders"]
    assert 0.10 <= len(tickets) / orders["order_id"].nunique() <= 0.12
    assert set(tickets["category"]) == {"delivery_delay", "damaged_item", "wrong_item", "billing", "sizing"}
    is_open = tickets["resolved_at"].isna()
    assert (tickets["status"] == is_open.map({True: "open", False: "resolved"})).all()
    assert 0.06 <= is_open.mean() <= 0.10
    days_to_resolve = (tickets["resolved_at"] - tickets["opened_at"]).dropna() / pd.Timedelta(days=1)
    assert (days_to_resolve > 0).all()
    buckets = pd.cut(days_to_resolve, [0, 1, 3, 7, float("inf")]).value_counts(normalize=True)
    assert (buckets > 0.1).all(), buckets
    assert tickets["order_id"].isin(orders["order_id"]).all()


def test_returns_follow_contract(demo):
    returns, orders = demo["returns"], demo["orders"].drop_duplicates("order_id")
    assert 0.07 <= len(returns) / len(orders) <= 0.09
    assert set(returns["reason"]) == {"too_small", "too_large", "damaged", "not_as_described", "changed_mind"}
    joined = returns.merge(orders[["order_id", "revenue", "ordered_at", "status"]], on="order_id", validate="1:1")
    assert len(joined) == len(returns)
    assert (joined["refund_amount"] > 0).all() and (joined["refund_amount"] <= joined["revenue"]).all()
    assert (joined["requested_at"] > joined["ordered_at"]).all()
    assert not joined["status"].isin(CANCELLED_SPELLINGS).any()


def test_nothing_is_after_end_date(demo):
    timestamps = {
        "orders": demo["orders"]["ordered_at"], "surveys": demo["surveys"]["submitted_at"],
        "customers": demo["customers"]["created_at"], "tickets opened": demo["tickets"]["opened_at"],
        "tickets resolved": demo["tickets"]["resolved_at"], "returns": demo["returns"]["requested_at"],
    }
    for what, values in timestamps.items():
        assert values.max() < END_EXCLUSIVE, what
        assert values.max() > END_EXCLUSIVE - pd.Timedelta(days=2), what


def test_acquisition_grows_and_peaks_in_november_and_december(demo):
    first_ordered_at = completed_orders(demo["orders"]).query("order_number == 0")["ordered_at"]
    last_year = first_ordered_at >= END_EXCLUSIVE - pd.Timedelta(days=365)
    year_before = first_ordered_at.between(
        END_EXCLUSIVE - pd.Timedelta(days=730), END_EXCLUSIVE - pd.Timedelta(days=365), inclusive="left",
    )
    assert last_year.sum() > 1.5 * year_before.sum()

    day_counts = first_ordered_at.dt.floor("D").value_counts()
    all_days = pd.date_range(END_EXCLUSIVE - pd.Timedelta(days=1096), END_EXCLUSIVE, freq="D", inclusive="left")
    per_day = day_counts.reindex(all_days, fill_value=0)
    in_q4_peak = per_day.index.month.isin([11, 12])
    assert per_day[in_q4_peak].mean() > 1.4 * per_day[~in_q4_peak].mean()

    def mean_per_day(start: str, end: str) -> float:
        return per_day[pd.Timestamp(start, tz="UTC"):pd.Timestamp(end, tz="UTC")].mean()

    assert mean_per_day("2025-11-01", "2025-12-31") > 1.4 * mean_per_day("2025-09-01", "2025-10-31")
    assert mean_per_day("2025-11-01", "2025-12-31") > 1.4 * mean_per_day("2026-01-01", "2026-02-28")


def test_repeat_orders_peak_in_november_and_december(demo):
    repeat_orders = completed_orders(demo["orders"]).query("order_number > 0")
    in_2025 = repeat_orders[repeat_orders["ordered_at"].dt.year == 2025]
    per_month = in_2025["ordered_at"].dt.month.value_counts() / pd.Series(
        pd.date_range("2025-01-01", "2025-12-31").month).value_counts()
    assert per_month[[11, 12]].min() > 1.4 * per_month[[9, 10]].max()


def test_detractors_and_low_csat_repeat_less(demo):
    repeat = customer_repeat(demo["orders"], window_days=90)
    surveys = demo["surveys"].assign(kind=demo["surveys"]["kind"].str.lower())
    first_survey = surveys.sort_values(["submitted_at", "response_id"]).drop_duplicates("customer_id")
    first_survey = first_survey.merge(repeat, left_on="customer_id", right_index=True)
    nps = first_survey[first_survey["kind"] == "nps"]
    csat = first_survey[first_survey["kind"] == "csat"]
    assert_lower_rate(
        nps.loc[nps["score"] <= 6, "is_repeat_buyer"], nps.loc[nps["score"] >= 9, "is_repeat_buyer"],
        min_gap=0.12, what="90-day repeat: NPS detractors vs promoters",
    )
    assert_lower_rate(
        csat.loc[csat["score"].between(1, 2), "is_repeat_buyer"], csat.loc[csat["score"] >= 4, "is_repeat_buyer"],
        min_gap=0.10, what="90-day repeat: CSAT 1-2 vs 4-5",
    )


def test_unresolved_and_slow_tickets_repeat_less_than_fast_ones(demo):
    orders = completed_orders(demo["orders"])
    orders = orders[orders["ordered_at"] < END_EXCLUSIVE - pd.Timedelta(days=120)]
    orders["is_repeat_buyer"] = orders["next_ordered_at"] - orders["ordered_at"] <= pd.Timedelta(days=90)
    tickets = demo["tickets"]
    days_to_resolve = (tickets["resolved_at"] - tickets["opened_at"]) / pd.Timedelta(days=1)
    resolution = pd.Series("1-7 days", index=tickets.index)
    resolution[days_to_resolve < 1] = "under a day"
    resolution[days_to_resolve > 7] = "over 7 days"
    resolution[tickets["resolved_at"].isna()] = "unresolved"
    orders["resolution"] = orders["order_id"].map(pd.Series(resolution.to_numpy(), index=tickets["order_id"]))
    repeat_by = {label: group["is_repeat_buyer"] for label, group in orders.groupby("resolution")}
    without_ticket = orders.loc[orders["resolution"].isna(), "is_repeat_buyer"]

    assert_lower_rate(repeat_by["unresolved"], repeat_by["under a day"], 0.15, "unresolved vs resolved within a day")
    assert_lower_rate(repeat_by["over 7 days"], repeat_by["under a day"], 0.10, "over 7 days vs within a day")
    fast_minus_no_ticket = repeat_by["under a day"].mean() - without_ticket.mean()
    assert -0.03 <= fast_minus_no_ticket <= 0.08, f"within a day vs no ticket: {fast_minus_no_ticket:+.3f}"


def test_referral_and_email_retain_better_than_paid_social_and_marketplace(demo):
    repeat = customer_repeat(demo["orders"], window_days=180)
    customers = demo["customers"].merge(repeat, left_on="customer_id", right_index=True)
    by_channel = {label: group["is_repeat_buyer"] for label, group in customers.groupby("acquisition_channel")}
    for better in ("referral", "email"):
        for worse in ("paid_social", "marketplace"):
            assert_lower_rate(by_channel[worse], by_channel[better], 0.08, f"180-day repeat: {worse} vs {better}")


def test_gold_tier_retains_better(demo):
    repeat = customer_repeat(demo["orders"], window_days=180)
    customers = demo["customers"].merge(repeat, left_on="customer_id", right_index=True)
    by_tier = {label: group["is_repeat_buyer"] for label, group in customers.groupby("loyalty_tier")}
    assert_lower_rate(by_tier["none"], by_tier["gold"], 0.06, "180-day repeat: no tier vs gold")


def test_comments_match_scores_and_some_carry_contact_details(demo):
    surveys = demo["surveys"]
    comments = surveys["comment"].str.split(r" (?:Call me at|Please email me at) ", regex=True).str[0]
    planted_elsewhere = comments.isin([*OTHER_LANGUAGE_COMMENTS[0], *OTHER_LANGUAGE_COMMENTS[1], *EMPTY_COMMENTS])
    nps = surveys.assign(text=comments)[(surveys["kind"].str.lower() == "nps") & comments.notna() & ~planted_elsewhere]
    praise = r"(?i)great|love|excellent|early|smooth|thank"
    complaint = r"(?i)late|delay|waiting|courier|quality|damaged|described|wrong|support|refund|resolved|charged|app"
    promoters, detractors = nps[nps["score"] >= 9], nps[nps["score"] <= 6]
    assert len(promoters) > 500 and len(detractors) > 500
    assert promoters["text"].str.contains(praise).all()
    assert detractors["text"].str.contains(complaint).all()
    assert not detractors["text"].str.contains(praise).any()
    assert "{item}" not in " ".join(comments.dropna())

    assert surveys["comment"].str.contains(r"\+\d{1,2} [\d ()-]{9,}\d", regex=True).sum() >= 3
    assert surveys["comment"].str.contains(r"[a-z.]+\d+@example\.(?:com|org|net)", regex=True).sum() >= 3


def anchor_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders at least 90 days before the end with is_repurchased: the same customer ordered again within 90 days."""
    anchors = completed_orders(orders)
    anchors = anchors[anchors["ordered_at"] + pd.Timedelta(days=90) <= END_EXCLUSIVE].copy()
    anchors["is_repurchased"] = anchors["next_ordered_at"] - anchors["ordered_at"] <= pd.Timedelta(days=90)
    return anchors


def test_delivery_delays_and_defect_returns_cost_repeat_orders_but_sizing_returns_do_not(demo):
    anchors = anchor_orders(demo["orders"])
    tickets, returns = demo["tickets"], demo["returns"]
    no_problem = anchors[~anchors["order_id"].isin(tickets["order_id"]) & ~anchors["order_id"].isin(returns["order_id"])]

    def with_orders(order_ids) -> pd.Series:
        return anchors.loc[anchors["order_id"].isin(order_ids), "is_repurchased"]

    baseline = no_problem["is_repurchased"]
    delay = with_orders(tickets.loc[tickets["category"] == "delivery_delay", "order_id"])
    assert_lower_rate(delay, baseline, 0.15, "delivery-delay tickets vs no problem")
    for category in ("billing", "sizing", "damaged_item", "wrong_item"):
        other = with_orders(tickets.loc[tickets["category"] == category, "order_id"])
        assert_lower_rate(delay, other, 0.05, f"delivery delay vs {category}")
    defect = with_orders(returns.loc[returns["reason"].isin(["damaged", "not_as_described"]), "order_id"])
    sizing = with_orders(returns.loc[returns["reason"].isin(["too_small", "too_large"]), "order_id"])
    assert_lower_rate(defect, baseline, 0.12, "defect returns vs no problem")
    assert len(sizing) >= 200 and abs(baseline.mean() - sizing.mean()) < 0.08, (sizing.mean(), baseline.mean())


def test_late_delivery_comments_repurchase_less_and_app_complaints_rise_in_the_last_quarter(demo):
    anchors = anchor_orders(demo["orders"])
    surveys = demo["surveys"]
    late = surveys.loc[surveys["comment"].str.contains(r"(?i)\blate\b", na=False), "order_id"]
    other = surveys.loc[surveys["comment"].notna() & ~surveys["order_id"].isin(late), "order_id"]
    assert_lower_rate(anchors.loc[anchors["order_id"].isin(late), "is_repurchased"],
                      anchors.loc[anchors["order_id"].isin(other), "is_repurchased"], 0.2, "late-delivery comments")

    app = surveys["comment"].str.contains(r"\bapp\b", na=False)
    days_before_end = (END_EXCLUSIVE - surveys["submitted_at"]) / pd.Timedelta(days=1)
    commented = surveys["comment"].notna()
    assert app[days_before_end > 100].sum() == 0
    last_quarter = days_before_end <= 91
    assert app[last_quarter].sum() / commented[last_quarter].sum() > 0.05
    assert app[last_quarter & (days_before_end <= 30)].mean() > app[last_quarter & (days_before_end > 60)].mean()


def test_other_language_and_empty_comments_and_ticket_texts_are_planted(demo):
    surveys, tickets = demo["surveys"], demo["tickets"]
    assert surveys["comment"].isin([*OTHER_LANGUAGE_COMMENTS[0], *OTHER_LANGUAGE_COMMENTS[1]]).sum() >= 20
    assert surveys["comment"].isin(EMPTY_COMMENTS).sum() >= 20
    assert tickets["subject"].notna().all()
    assert 0.8 <= tickets["body"].notna().mean() <= 0.95
    delay = tickets[tickets["category"] == "delivery_delay"]
    assert delay["subject"].str.contains(r"(?i)order|late").all()
    assert tickets["body"].str.contains(r"@example\.|\+\d", regex=True, na=False).sum() >= 3
    assert "{item}" not in " ".join(tickets["body"].dropna())


def test_planted_data_quality_problems(demo):
    orders, surveys = demo["orders"], demo["surveys"]
    assert orders["customer_id"].isna().sum() == 3
    duplicated_ids = orders.loc[orders["order_id"].duplicated(), "order_id"]
    assert len(duplicated_ids) == 2
    assert (orders["revenue"] < 0).sum() == 2

    known_customers = set(orders["customer_id"].dropna())
    assert (~surveys["customer_id"].isin(known_customers)).sum() == 3
    kind = surveys["kind"].str.lower()
    assert sorted(surveys.loc[(kind == "csat") & ~surveys["score"].between(1, 5), "score"]) == [0, 7]
    assert (kind == "ces").sum() == 2
    is_cancelled = orders["status"].str.lower().str.startswith("cancel", na=False)
    assert set(orders.loc[is_cancelled, "status"]) == CANCELLED_SPELLINGS
