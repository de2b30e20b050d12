"""The campaign-ready win-back export and its holdout: one code path for the churn page's download and
``python -m dashboard winback --rules "<the page's URL query>" --out F.csv``. No Streamlit import.

A list request is everything the page's URL holds about a list: the as-of date, the sidebar's segment filters,
the builder's rules (``churn.WinbackRules``) and the export options (``ExportOptions``: honour marketing opt-in,
the holdout share and its seed). ``build_export`` runs ``queries/winback_segment.sql`` for it, leaves out the
customers who did not opt in (counted), keeps a random holdout stratified by lifecycle state (recorded in the
app's state folder with ``record_campaign``, never written to the export) and renders the rest for people:
human headers, money to cents, probabilities as whole percentages, ISO dates, a reason on every row.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import numpy as np
import pandas as pd

from dashboard import churn, formatting
from dashboard.filters import Segment
from dashboard.queries import run_query

DEFAULT_HOLDOUT_SHARE = 0.10
MAX_HOLDOUT_SHARE = 0.5
SEGMENT_QUERY_KEYS = {"channels": "channel", "regions": "region", "categories": "category", "tiers": "tier"}  # the sidebar's URL keys
CAMPAIGNS_FOLDER = "campaigns"

# The export's columns (from queries/winback_segment.sql), their kind in the file and their header.
EXPORT_COLUMNS = (
    ("customer_id", "text", "Customer ID"),
    ("email", "text", "E-mail"),
    ("lifecycle_state", "label", "Lifecycle state"),
    ("winback_reason", "text", "Why this customer"),
    ("p_alive", "percent", "Chance still a customer"),
    ("churn_risk", "percent", "Chance of no order in the next 90 days"),
    ("expected_next_order_on", "date_iso", "Next order expected by"),
    ("is_overdue", "bool", "Overdue"),
    ("expected_orders_90d", "decimal", "Expected orders, next 90 days"),
    ("expected_orders_365d", "decimal", "Expected orders, next 365 days"),
    ("predicted_value_90d", "money_cents", "Predicted value, next 90 days ($)"),
    ("predicted_clv_365d", "money_cents", "Predicted value, next 365 days ($)"),
    ("value_at_stake_365d", "money_cents", "Value at stake, next 365 days ($)"),
    ("revenue", "money_cents", "Lifetime revenue ($)"),
    ("count_orders", "count", "Orders"),
    ("first_purchased_on", "date_iso", "First order"),
    ("last_purchased_on", "date_iso", "Last order"),
    ("days_since_last_order", "count", "Days since last order"),
    ("rfm_segment", "text", "RFM segment"),
    ("latest_nps_category", "label", "Latest NPS answer"),
    ("has_open_complaint", "bool", "Open complaint"),
    ("is_marketing_opt_in", "bool", "Marketing opt-in"),
)
MASKED_EMAIL_HEADER = "E-mail (masked)"


@dataclass(frozen=True)
class ExportOptions:
    """How a list becomes a campaign: leave out customers without marketing opt-in (default), and keep a random
    holdout of ``holdout_share`` (default 10%, drawn with ``seed``; None: the as-of date as YYYYMMDD)."""

    opted_in_only: bool = True
    holdout_share: float = DEFAULT_HOLDOUT_SHARE
    seed: int | None = None

    QUERY_KEYS = {"opted_in_only": "consent", "holdout_share": "holdout", "seed": "seed"}

    def __post_init__(self) -> None:
        if not 0 <= self.holdout_share <= MAX_HOLDOUT_SHARE:
            raise ValueError(f"the holdout share must be between 0 and {MAX_HOLDOUT_SHARE:.0%}")

    def seed_for(self, as_of: date) -> int:
        return self.seed if self.seed is not None else int(as_of.strftime("%Y%m%d"))

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> "ExportOptions":
        """``consent=all`` keeps everyone, ``holdout`` is a whole percent (``holdout=10``), ``seed`` a whole
        number."""
        values = {}
        try:
            if query.get("consent"):  # the page's checkbox writes true/false
                consent = query["consent"][-1].lower()
                if consent not in ("opted_in", "all", "true", "false"):
                    raise ValueError("consent is opted_in (true) or all (false)")
                values["opted_in_only"] = consent in ("opted_in", "true")
            if query.get("holdout"):
                values["holdout_share"] = float(query["holdout"][-1]) / 100
            if query.get("seed"):
                values["seed"] = int(query["seed"][-1])
        except ValueError as error:
            raise ValueError(f"export option: {error}") from None
        return cls(**values)

    def query_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        if not self.opted_in_only:
            pairs.append(("consent", "all"))
        if self.holdout_share != DEFAULT_HOLDOUT_SHARE:
            pairs.append(("holdout", f"{100 * self.holdout_share:g}"))
        if self.seed is not None:
            pairs.append(("seed", str(self.seed)))
        return pairs


@dataclass(frozen=True)
class ListRequest:
    """Everything that defines a win-back list and its export (what the churn page's URL holds)."""

    as_of: date
    rules: churn.WinbackRules = field(default_factory=churn.WinbackRules)
    segment: Segment = field(default_factory=Segment)
    options: ExportOptions = field(default_factory=ExportOptions)

    def query_string(self) -> str:
        """The canonical query string: as-of, segment, rules, export options (a link to the page's list)."""
        pairs = [("as_of", self.as_of.isoformat())]
        for name, key in SEGMENT_QUERY_KEYS.items():
            pairs += [(key, value) for value in getattr(self.segment, name) or ()]
        return urlencode(pairs + self.rules.query_pairs() + self.options.query_pairs())

    @property
    def seed(self) -> int:
        return self.options.seed_for(self.as_of)

    @property
    def campaign_id(self) -> str:
        """``wb-<as-of>-<8 hex>``: the same list, options and as-of always give the same id."""
        digest = hashlib.sha256(self.query_string().encode()).hexdigest()[:8]
        return f"wb-{self.as_of:%Y%m%d}-{digest}"

    def file_name(self) -> str:
        return self.rules.file_name(self.as_of)


def parse_list_query(text: str, default_as_of: date) -> ListRequest:
    """A list request from the churn page's URL query (with or without a leading ``?``, or the whole URL).

    Example: ``parse_list_query("state=slipping&channel=email", date(2026, 11, 15))``. Keys the page does not
    use for lists (the trend range, the grain) are ignored; a bad value raises ValueError naming its key.
    """
    query_text = text.split("?", 1)[1] if "?" in text else text
    query = parse_qs(query_text.lstrip("?"), keep_blank_values=False)
    as_of = default_as_of
    if query.get("as_of"):
        try:
            as_of = date.fromisoformat(query["as_of"][-1])
        except ValueError:
            raise ValueError(f"as_of={query['as_of'][-1]!r} is not a date (YYYY-MM-DD)") from None
    segment = {name: tuple(query[key]) for name, key in SEGMENT_QUERY_KEYS.items() if query.get(key)}
    return ListRequest(as_of, churn.WinbackRules.from_query(query), Segment(**segment),
                       ExportOptions.from_query(query))


def resolve_complaint_categories(cursor, request: ListRequest) -> ListRequest:
    """The request with complaint categories spelt as stored (the page's URL holds their labels, e.g.
    ``Delivery delay`` for ``delivery_delay``)."""
    wanted = request.rules.complaint_categories
    if not wanted:
        return request
    known = run_query(cursor, "winback_complaint_categories")["complaint_category"].tolist()
    by_text = {formatting.label(value, "category").lower(): value for value in known}
    by_text.update({value.lower(): value for value in known})
    resolved = tuple(by_text.get(text.lower(), text) for text in wanted)
    return replace(request, rules=replace(request.rules, complaint_categories=resolved))


def holdout_split(customers: pd.DataFrame, share: float, seed: int) -> pd.Series:
    """``group`` per row ("treatment" or "holdout"): within each lifecycle state, round(share x its customers)
    are drawn at random for the holdout. The draw depends only on the seed and on which customers there are
    (rows are taken in customer_id order), so the same list and seed always give the same split.
    """
    groups = pd.Series("treatment", index=customers.index, dtype=object)
    if share <= 0 or customers.empty:
        return groups
    rng = np.random.default_rng(seed)
    for state in sorted(customers["lifecycle_state"].dropna().unique()):
        members = customers.index[customers["lifecycle_state"] == state]
        ordered = customers.loc[members].sort_values("customer_id").index
        size = int(math.floor(share * len(ordered) + 0.5))
        if size:
            groups.loc[ordered[rng.permutation(len(ordered))[:size]]] = "holdout"
    return groups


@dataclass(frozen=True)
class CampaignExport:
    """A built export: the CSV text, the rows kept for the holdout, the counts and the description."""

    request: ListRequest
    csv_text: str
    treatment: pd.DataFrame  # customer_id, lifecycle_state of the exported customers
    holdout: pd.DataFrame  # customer_id, lifecycle_state of the held-out customers
    matched: int
    excluded_not_opted_in: int
    opt_in_known: bool
    emails_masked: bool

    @property
    def exported(self) -> int:
        return len(self.treatment)

    def description(self) -> dict:
        """The sidecar (``<file>.json``): what the list is, how it was made, what each column means."""
        request = self.request
        return {
            "file": request.file_name(),
            "as_of": request.as_of.isoformat(),
            "rules": request.query_string(),
            "rules_in_words": describe_rules(request.rules),
            "customers_matching": self.matched,
            "excluded_without_marketing_opt_in": self.excluded_not_opted_in,
            "marketing_opt_in": ("honoured: customers without opt-in are left out" if request.options.opted_in_only
                                 and self.opt_in_known else
                                 "not checked: the export includes customers without opt-in"
                                 if self.opt_in_known else
                                 "unknown: no marketing opt-in was exported, nobody was left out"),
            "holdout": {"campaign_id": request.campaign_id, "share": request.options.holdout_share,
                        "seed": request.seed, "customers": len(self.holdout),
                        "recorded_in": f"the app's state folder, {CAMPAIGNS_FOLDER}/{request.campaign_id}.json"},
            "customers_in_file": self.exported,
            "emails": ("masked: the marketing role (or show_pii) sees real addresses" if self.emails_masked
                       else "real addresses"),
            "columns": {header: COLUMN_MEANINGS[column] for column, _, header in EXPORT_COLUMNS},
        }


COLUMN_MEANINGS = {
    "customer_id": "the customer's id in the exports",
    "email": "e-mail address from the customers export",
    "lifecycle_state": "Active, Slipping, New, One-time buyer or Lapsed (docs/churn.md)",
    "winback_reason": "the lifecycle state in words, then complaints, low scores, returns, falling order value",
    "p_alive": "the model's chance that the customer is still a customer",
    "churn_risk": "the model's chance of no order in the next 90 days",
    "expected_next_order_on": "last order + the customer's expected gap between orders (seasonally adjusted)",
    "is_overdue": "the as-of date is past the expected next order date",
    "expected_orders_90d": "expected orders (purchase days) in the next 90 days",
    "expected_orders_365d": "expected orders (purchase days) in the next 365 days",
    "predicted_value_90d": "predicted spend in the next 90 days, discounted at 10% a year",
    "predicted_clv_365d": "predicted spend in the next 365 days, discounted at 10% a year",
    "value_at_stake_365d": "the part of the next 365 days' value if they stay that is expected to be lost",
    "revenue": "lifetime revenue of valid orders up to the as-of date",
    "count_orders": "valid orders up to the as-of date",
    "first_purchased_on": "day of the first valid order",
    "last_purchased_on": "day of the latest valid order",
    "days_since_last_order": "days from the latest order to the as-of date",
    "rfm_segment": "RFM segment (docs/churn.md)",
    "latest_nps_category": "category of the latest NPS answer",
    "has_open_complaint": "a support ticket still open at the as-of date",
    "is_marketing_opt_in": "the customer agreed to marketing e-mails",
}


def describe_rules(rules: churn.WinbackRules) -> str:
    """The rules in words: ``lifecycle state Slipping; RFM segment Loyal``; "everyone" without rules."""
    parts = []
    for name, key in rules.QUERY_KEYS.items():
        value = getattr(rules, name)
        if value is None or value == ():
            continue
        if name == "moved_days":
            parts.append(f"compared with {value} days earlier")
            continue
        label = {"states": "lifecycle state", "risk_bands": "risk", "segments": "RFM segment",
                 "recency_scores": "R score", "fm_scores": "FM score",
                 "min_days_since_last_order": "days since last order from",
                 "max_days_since_last_order": "days since last order to", "min_revenue": "lifetime revenue from $",
                 "max_revenue": "lifetime revenue to $", "nps_categories": "latest NPS answer",
                 "has_open_complaint": "open complaint", "has_complained": "ever complained",
                 "complaint_categories": "complaint about", "has_returned": "ever returned",
                 "is_marketing_opt_in": "marketing opt-in",
                 "previous_states": "lifecycle state then", "previous_segments": "RFM segment then"}[name]
        if isinstance(value, tuple):
            field_name = {"states": "lifecycle_state", "nps_categories": "latest_nps_category",
                          "previous_states": "previous_lifecycle_state",
                          "previous_segments": "previous_rfm_segment"}.get(name, "category")
            text = ", ".join(formatting.label(item, field_name) if isinstance(item, str) else str(item)
                             for item in value)
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = f"{value:g}"
        parts.append(f"{label} {text}" if not label.endswith("$") else f"{label}{text}")
    return "; ".join(parts) or "everyone"


def opt_in_is_exported(database) -> bool:
    """Whether the customers export carries marketing opt-in (else nobody can be left out for it)."""
    customers = database.catalog.tables.get("customers")
    if customers is None or not customers.is_usable:
        return False
    source = customers.columns.get("marketing_opt_in")
    return bool(source and source[0])


def build_export(cursor, request: ListRequest, show_pii: bool, opt_in_known: bool) -> CampaignExport:
    """Run the list for the request on a cursor of its as-of date and render the campaign file."""
    rows = run_query(cursor, "winback_segment", **request.segment.params(), **request.rules.params(),
                     opted_in_only=False, show_pii=show_pii, limit=None, offset=0)
    rows = rows.drop(columns=["total_matches"])
    matched = len(rows)
    eligible = rows
    excluded = 0
    if request.options.opted_in_only and opt_in_known:
        eligible = rows[rows["is_marketing_opt_in"].fillna(False).astype(bool)]
        excluded = matched - len(eligible)
    groups = holdout_split(eligible, request.options.holdout_share, request.seed)
    kept = eligible[groups == "treatment"]
    held = eligible[groups == "holdout"]
    return CampaignExport(
        request=request,
        csv_text=render_csv(kept, masked=not show_pii),
        treatment=kept[["customer_id", "lifecycle_state"]].reset_index(drop=True),
        holdout=held[["customer_id", "lifecycle_state"]].reset_index(drop=True),
        matched=matched,
        excluded_not_opted_in=excluded,
        opt_in_known=opt_in_known,
        emails_masked=not show_pii,
    )


def people_frame(rows: pd.DataFrame, masked: bool) -> pd.DataFrame:
    """The export's rows as the text a person (and a mail tool) reads; missing values are empty cells."""
    frame = rows.loc[:, [column for column, _, _ in EXPORT_COLUMNS]].copy()
    frame["winback_reason"] = [formatting.humanise_words(text) for text in frame["winback_reason"]]
    kinds = {}
    for column, kind, _ in EXPORT_COLUMNS:
        if kind == "decimal":  # expected orders: two decimals, no separators
            frame[column] = [None if formatting.is_missing(value) else f"{value:.2f}" for value in frame[column]]
            kind = "text"
        kinds[column] = kind
    headers = {column: header for column, _, header in EXPORT_COLUMNS}
    if masked:
        headers["email"] = MASKED_EMAIL_HEADER
    shown = formatting.frame_for_people(frame, kinds=kinds, headers=headers)
    return shown.replace(formatting.MISSING, "")


def render_csv(rows: pd.DataFrame, masked: bool) -> str:
    """The campaign file's text: UTF-8 CSV, one header row, one row per customer."""
    return people_frame(rows, masked).to_csv(index=False, lineterminator="\n")


def campaigns_dir(state_dir: Path) -> Path:
    return Path(state_dir) / CAMPAIGNS_FOLDER


def record_campaign(state_dir: Path, export: CampaignExport, user: str, timezone_name: str) -> Path:
    """Write the campaign (id, rules, as-of, who is in treatment and holdout) to the state folder.

    ``campaigns/<campaign_id>.json``: one file per campaign, written again (identically but for
    ``recorded_at``) when the same list is exported again. ``sent_at`` is the start of the day after the as-of
    date in the company's time zone: the Campaigns page measures orders from then.
    """
    from dashboard.model import cutoff_for

    request = export.request
    folder = campaigns_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    members = pd.concat([export.treatment.assign(group="treatment"), export.holdout.assign(group="holdout")])
    record = {
        "campaign_id": request.campaign_id,
        "sent_at": cutoff_for(request.as_of, timezone_name).isoformat(),
        "as_of": request.as_of.isoformat(),
        "rules": request.query_string(),
        "rules_in_words": describe_rules(request.rules),
        "file": request.file_name(),
        "holdout_share": request.options.holdout_share,
        "seed": request.seed,
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "recorded_by": user,
        "members": [{"customer_id": row.customer_id, "group": row.group, "lifecycle_state": row.lifecycle_state}
                    for row in members.itertuples(index=False)],
    }
    path = folder / f"{request.campaign_id}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def recorded_campaigns(state_dir: Path) -> pd.DataFrame:
    """Every campaign recorded by exports, one row per member: campaign_id, customer_id, group, sent_at (naive
    UTC), channel and offer (null), source ("this app"). Unreadable files are skipped."""
    rows = []
    folder = campaigns_dir(state_dir)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            sent_at = pd.Timestamp(record["sent_at"])
            rows += [(record["campaign_id"], member["customer_id"], member["group"], sent_at)
                     for member in record["members"]]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    frame = pd.DataFrame(rows, columns=["campaign_id", "customer_id", "group", "sent_at"])
    frame["sent_at"] = pd.to_datetime(frame["sent_at"]).astype("datetime64[us]")
    return frame.assign(channel=pd.Series([None] * len(frame), dtype=object),
                        offer=pd.Series([None] * len(frame), dtype=object))
