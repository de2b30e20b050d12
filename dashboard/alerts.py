"""Alert rules (``[[alerts]]`` in dashboard.toml) checked against the metrics report.

A rule names a key of the JSON metrics report (``python -m dashboard report --format json``), a comparison
and a threshold; with ``change`` it compares the change of that key since last week or 4 weeks ago instead
of its value; ``segment`` narrows it to some customers. Example::

    [[alerts]]
    name = "NPS fell"
    metric = "nps_90d"
    change = "last week"        # or "4 weeks ago"; leave out to compare the value itself
    comparison = "<"
    threshold = -10             # in the key's own unit: NPS points here, a share (0.02 = 2 points) for rates
    segment = { tier = "gold" } # optional: channel, region, category, tier -> a value or a list of values

``python -m dashboard alerts`` prints one line per rule crossed (``Outcome.line``) and exits 1 when any fired;
the Overview and the weekly report show the same outcomes (``Outcome.sentence``). Values come from
``metrics.contract_metrics`` (the report itself) and, for changes, ``metrics.weekly_history``: its week k is the
report as of the as-of date minus 7k days.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from datetime import date

from dashboard import formatting
from dashboard.filters import Filters
from dashboard.metrics import (CARE_TABLES, WEEKLY_CARE_KPIS, WEEKLY_HISTORY, contract_metrics, exported_tables,
                               weekly_history)
from dashboard.queries import run_query
from dashboard.segments import SEGMENT_KEYS
from dashboard.segments import filters as segment_filters
from dashboard.segments import people_text
from dashboard.segments import text as segment_text

COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
CHANGES = {"last week": 1, "week": 1, "4 weeks ago": 4, "4 weeks": 4}
CHANGE_WORDS = {1: "last week", 4: "4 weeks ago"}
RULE_KEYS = {"name", "metric", "comparison", "threshold", "change", "relative", "segment"}

# Report key -> (what people call it, kind of number). Kinds: count, money, rate (a share), score, days.
METRICS = {
    "customers": ("Customers to date", "count"),
    "orders": ("Orders to date", "count"),
    "revenue": ("Revenue to date", "money"),
    "aov": ("Average order value to date", "money2"),
    "repeat_rate": ("Repeat rate", "rate"),
    "second_order_rate_90d": ("2nd order within 90 days", "rate"),
    "median_days_between_orders": ("Median days between orders", "days"),
    "nps_90d": ("NPS (90 days)", "score"),
    "csat_90d": ("CSAT (90 days)", "rate"),
    "nps_responses_90d": ("NPS responses (90 days)", "count"),
    "csat_responses_90d": ("CSAT responses (90 days)", "count"),
    "active_customers_7d": ("Active customers (7 days)", "count"),
    "new_customers_7d": ("New customers (7 days)", "count"),
    "orders_7d": ("Orders (7 days)", "count"),
    "revenue_7d": ("Revenue (7 days)", "money"),
    "aov_7d": ("Average order value (7 days)", "money2"),
    **{key: (f"{label} (7 days)" if key.endswith("_7d") else f"{label} (90 days)" if key.endswith("_90d")
             else f"{label} customers", kind)
       for key, label, kind, _, _ in WEEKLY_CARE_KPIS},
}
# Why a key can be empty, for the line that says a rule could not be checked.
EMPTY_REASONS = {
    "nps_90d": "no NPS responses in the 90 days",
    "csat_90d": "no CSAT responses in the 90 days",
    "aov_7d": "no orders in the 7 days",
    "aov": "no orders",
    "repeat_rate": "no customers",
    "second_order_rate_90d": "no customer's first order is 90 days old",
    "median_days_between_orders": "no customer has two orders",
    "tickets_resolved_share_90d": "no ticket opened in the 90 days",
    "median_resolution_days_90d": "no ticket resolved in the 90 days",
    "repurchase_after_resolved_90d": "no resolved complaint 90-180 days old",
    "repurchase_after_unresolved_90d": "no unresolved complaint 90-180 days old",
    "return_rate_90d": "no order in the 90 days",
    "median_days_between_orders_90d": "no repeat order in the 90 days",
    "survey_responses_per_order_7d": "no order in the 7 days",
}


class AlertRuleError(ValueError):
    """A rule the dashboard cannot check; the message starts with the rule's name."""


@dataclass(frozen=True)
class AlertRule:
    """One ``[[alerts]]`` table, checked: see the module docstring for each field."""

    name: str
    metric: str
    comparison: str
    threshold: float
    weeks_back: int | None = None  # None: the value itself; 1 or 4: its change since then
    relative: bool = False  # the change as a share of the earlier value
    segment: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (segment key, accepted values), sorted

    @property
    def filters(self) -> Filters:
        """The rule's segment as the filters every metric accepts."""
        return segment_filters(dict(self.segment))

    @property
    def segment_text(self) -> str:
        """``tier: gold; channel: referral, email`` or ``all customers``."""
        return segment_text(dict(self.segment))

    @property
    def measured(self) -> str:
        """What is compared: the key, or its change since a week: ``nps_90d change vs last week``."""
        if self.weeks_back is None:
            return self.metric
        return f"{self.metric} {'relative ' if self.relative else ''}change vs {CHANGE_WORDS[self.weeks_back]}"


@dataclass(frozen=True)
class Outcome:
    """A rule checked as of a date: the value compared (``observed``), and whether the rule fired."""

    rule: AlertRule
    as_of: date
    value: float | None  # the key as of the as-of date
    earlier: float | None  # the key a week or 4 weeks before (change rules)
    observed: float | None  # what was compared with the threshold: value, or its (relative) change
    fired: bool
    note: str = ""  # why the rule could not be checked (observed is None)

    def line(self) -> str:
        """``ALERT <name>: <metric> <value> <comparison> <threshold> (<segment>)``, the command line's output."""
        rule = self.rule
        return (f"ALERT {rule.name}: {rule.measured} {plain(self.observed)} {rule.comparison} "
                f"{plain(rule.threshold)} ({rule.segment_text})")

    def sentence(self) -> str:
        """The fired rule for people, e.g. ``NPS (90 days) changed −20.4 pts vs last week (31.2 → 10.8): rule
        “NPS fell” (change < −10.0 pts, all customers).``"""
        rule = self.rule
        label, kind = METRICS[rule.metric]
        if rule.weeks_back is None:
            what = f"{label} is {display(self.value, kind)}"
            condition = f"{rule.comparison} {display(rule.threshold, kind)}"
        else:
            what = (f"{label} changed {change_text(self.observed, kind, rule.relative)} vs "
                    f"{CHANGE_WORDS[rule.weeks_back]} ({display(self.earlier, kind)} → {display(self.value, kind)})")
            condition = f"change {rule.comparison} {change_text(rule.threshold, kind, rule.relative)}"
        who = people_text(dict(rule.segment)) if rule.segment else "all customers"
        return f"{what}: rule “{rule.name}” ({condition}, {who})."


def plain(value) -> str:
    """A number for the command line: whole numbers without decimals, others to at most 4 decimals."""
    if value is None:
        return "none"
    if float(value).is_integer():
        return str(int(value))
    return f"{float(value):.4f}".rstrip("0").rstrip(".")


def display(value, kind: str) -> str:
    """A value for people, by kind (the formatting layer's)."""
    return formatting.number(value, kind)


def change_text(change: float, kind: str, relative: bool = False) -> str:
    """A signed change for people: ``+4.2%`` (relative), ``−1.3 pts`` (rates and NPS), ``+$1,200``, ``−3.5 days``."""
    if relative:
        return formatting.NO_CHANGE[0] if abs(change) < 0.0005 else f"{change:+.1%}".replace("-", "−")
    if kind in ("rate", "score"):
        points = 100 * change if kind == "rate" else change
        return "0.0 pts" if abs(points) < 0.05 else f"{points:+.1f} pts".replace("-", "−")
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    return sign + display(abs(change), kind)


def _number(name: str, field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AlertRuleError(f"alert rule {name!r}: {field} must be a number, not {value!r}")
    return float(value)


def parse_rule(table: dict, position: int) -> AlertRule:
    """One ``[[alerts]]`` table as an AlertRule; AlertRuleError names the rule (or its position) and the problem."""
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise AlertRuleError(f"alert rule #{position} has no name (name = \"...\")")
    name = name.strip()
    unknown = sorted(set(table) - RULE_KEYS)
    if unknown:
        raise AlertRuleError(f"alert rule {name!r}: unknown setting(s) {', '.join(unknown)} "
                             f"(a rule has {', '.join(sorted(RULE_KEYS))})")
    metric = table.get("metric")
    if metric not in METRICS:
        raise AlertRuleError(f"alert rule {name!r}: metric {metric!r} is not a number of the metrics report; "
                             f"use one of {', '.join(METRICS)}")
    comparison = table.get("comparison")
    if comparison not in COMPARISONS:
        raise AlertRuleError(f"alert rule {name!r}: comparison must be one of {', '.join(COMPARISONS)}, "
                             f"not {comparison!r}")
    if "threshold" not in table:
        raise AlertRuleError(f"alert rule {name!r}: threshold is missing")
    threshold = _number(name, "threshold", table["threshold"])
    weeks_back = None
    if "change" in table:
        change = table["change"]
        if not isinstance(change, str) or change.strip().lower() not in CHANGES:
            raise AlertRuleError(f"alert rule {name!r}: change must be \"last week\" or \"4 weeks ago\", not {change!r}")
        weeks_back = CHANGES[change.strip().lower()]
        if metric not in WEEKLY_HISTORY:
            raise AlertRuleError(
                f"alert rule {name!r}: {metric} has no weekly history, so its change cannot be compared; use a "
                f"threshold on its value, or a change of one of {', '.join(WEEKLY_HISTORY)}")
    relative = table.get("relative", False)
    if not isinstance(relative, bool):
        raise AlertRuleError(f"alert rule {name!r}: relative must be true or false, not {relative!r}")
    if relative and weeks_back is None:
        raise AlertRuleError(f"alert rule {name!r}: relative = true needs change = \"last week\" or \"4 weeks ago\"")
    segment = table.get("segment", {})
    if not isinstance(segment, dict):
        raise AlertRuleError(f"alert rule {name!r}: segment must be a table like {{ tier = \"gold\" }}")
    accepted = []
    for key, values in segment.items():
        if key not in SEGMENT_KEYS:
            raise AlertRuleError(f"alert rule {name!r}: segment key {key!r} is not one of {', '.join(SEGMENT_KEYS)}")
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, (list, tuple)) or not values or not all(isinstance(v, str) for v in values):
            raise AlertRuleError(f"alert rule {name!r}: segment {key} must be a value or a list of values")
        accepted.append((key, tuple(values)))
    order = list(SEGMENT_KEYS)
    return AlertRule(name, metric, comparison, threshold, weeks_back, relative,
                     tuple(sorted(accepted, key=lambda item: order.index(item[0]))))


def _thaw(value):
    """Settings keep TOML tables as sorted (key, value) pairs; back to dicts."""
    if isinstance(value, tuple) and all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                                        for item in value) and value:
        return {key: _thaw(item) for key, item in value}
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


def rules(settings) -> list[AlertRule]:
    """The checked rules of the settings (``[[alerts]]``); AlertRuleError for the first wrong one."""
    parsed = []
    for position, table in enumerate(settings.alerts, start=1):
        table = _thaw(table) if table else {}
        if not isinstance(table, dict):
            raise AlertRuleError(f"alert rule #{position} is not a table")
        parsed.append(parse_rule(table, position))
    names = [rule.name for rule in parsed]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AlertRuleError(f"alert rule {duplicates[0]!r} is defined twice: rule names must be unique")
    return parsed


def check_segment_values(cursor, rules_to_check: list[AlertRule]) -> None:
    """AlertRuleError when a rule's segment names a value no customer has (a typo would never fire)."""
    known = run_query(cursor, "segment_values")
    values = {dimension: set(rows["segment_value"]) for dimension, rows in known.groupby("dimension")}
    for rule in rules_to_check:
        for key, accepted in rule.segment:
            dimension = SEGMENT_KEYS[key][1]
            missing = [value for value in accepted if value not in values.get(dimension, set())]
            if missing:
                available = ", ".join(sorted(values.get(dimension, set()))) or "none"
                raise AlertRuleError(f"alert rule {rule.name!r}: no customer has {key} {', '.join(missing)!s} "
                                     f"(values in the data: {available})")


def _observed(rule: AlertRule, value, earlier, missing_tables: list[str] = ()) -> tuple[float | None, str]:
    """The number compared with the threshold, or None and why."""
    unexported = [table for table in CARE_TABLES.get(rule.metric, ()) if table in missing_tables]
    if unexported:
        return None, f"{rule.metric} is not exported ({', '.join(unexported)} missing from the exports)"
    if value is None:
        return None, f"{rule.metric} has no value ({EMPTY_REASONS.get(rule.metric, 'no data')})"
    if rule.weeks_back is None:
        return float(value), ""
    if earlier is None:
        return None, (f"{rule.metric} has no value {CHANGE_WORDS[rule.weeks_back]} "
                      f"({EMPTY_REASONS.get(rule.metric, 'no data')})")
    change = float(value) - float(earlier)
    if not rule.relative:
        return change, ""
    if float(earlier) == 0:
        return None, f"{rule.metric} was 0 {CHANGE_WORDS[rule.weeks_back]}, so a relative change is undefined"
    return change / abs(float(earlier)), ""


def evaluate(database, as_of: date, rules_to_check: list[AlertRule]) -> list[Outcome]:
    """Check every rule as of a date (one report per segment the rules name). AlertRuleError for a rule whose
    segment names a value that is not in the data."""
    if not rules_to_check:
        return []
    cursor = database.cursor(as_of, model=False)
    try:
        check_segment_values(cursor, rules_to_check)
        exported = exported_tables(database)
        reports, histories = {}, {}
        outcomes = []
        for rule in rules_to_check:
            if rule.segment not in reports:
                reports[rule.segment] = contract_metrics(cursor, rule.filters, exported)
            value = reports[rule.segment][rule.metric]
            earlier = None
            if rule.weeks_back is not None:
                if rule.segment not in histories:
                    histories[rule.segment] = weekly_history(cursor, rule.filters, weeks=5, exported=exported)
                earlier = _clean(histories[rule.segment].loc[rule.weeks_back, rule.metric])
            observed, note = _observed(rule, value, earlier, reports[rule.segment]["not_exported"])
            fired = observed is not None and COMPARISONS[rule.comparison](observed, rule.threshold)
            outcomes.append(Outcome(rule, as_of, value, earlier, observed, fired, note))
        return outcomes
    finally:
        cursor.close()


def _clean(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def fired(outcomes: list[Outcome]) -> list[Outcome]:
    """The outcomes whose rule fired, in the rules' order."""
    return [outcome for outcome in outcomes if outcome.fired]
