"""The metrics report (JSON) and the executives' weekly review (one self-contained HTML file, or PDF).

The HTML opens offline: Plotly's JavaScript is inlined once.  Every number comes from the same SQL
files and figures the app uses.
"""

from __future__ import annotations

import html
import os
import shutil
from datetime import date, datetime

import pandas as pd

from dashboard import care_review, figures, formatting, insights
from dashboard.filters import Filters
from dashboard.metrics import WEEKLY_KPIS, contract_metrics, exported_tables, weekly_care_history
from dashboard.queries import run_query


def metrics_report(database, as_of: date, filters: Filters | None = None) -> dict:
    """The JSON metrics report: the contract keys of docs/metrics.md for as_of, and ``campaigns`` (the 90-day
    lift of every campaign, dashboard/campaigns.py)."""
    from dashboard import campaigns

    cursor = database.cursor(as_of, model=False)  # only what the report reads is built
    try:
        metrics = contract_metrics(cursor, filters, exported_tables(database))
        metrics["campaigns"] = campaigns.campaign_report(cursor)
        return metrics
    finally:
        cursor.close()


def _change(current, previous, kind: str) -> tuple[str, str]:
    """Change text and a CSS class (up/down/flat)."""
    text = formatting.change(current, previous, kind)
    if text is None:
        return formatting.MISSING, "flat"
    if formatting.is_no_change(text):
        return text, "flat"
    difference = current - previous
    return text, "up" if difference > 0 else ("down" if difference < 0 else "flat")


def weekly_review_data(database, as_of: date, filters: Filters | None = None) -> dict:
    """Everything the weekly review shows, as DataFrames and lists (shared by HTML and PDF)."""
    filters = filters or Filters()
    params = filters.params()
    cursor = database.cursor(as_of, model=False)
    try:
        weeks = run_query(cursor, "weekly_kpis", **params, weeks=26).sort_values("week_number")
        exported = exported_tables(database)
        care = weekly_care_history(cursor, filters, 5, exported)
        movements = run_query(cursor, "segment_movements", **params)
        monthly = {**params, "grain": "month", "start_date": None, "end_date": None}
        cohorts = run_query(cursor, "cohort_retention", **monthly, small_cohort_size=database.settings.small_cohort_size)
        nps = run_query(cursor, "nps_trend", **monthly)
        csat = run_query(cursor, "csat_trend", **monthly)
        try:
            from dashboard import churn

            model = churn.model_info(cursor)
            risk_note = model.message
            risk = churn.lifecycle_summary(cursor, filters.segment)
            risk.attrs["has_predictions"] = model.has_predictions
        except Exception as error:  # the review still goes out without the churn section
            risk, risk_note = None, f"Churn scores unavailable: {error}"
    finally:
        cursor.close()
    return {
        "weeks": weeks,
        "care": care,
        "exported": exported,
        "sentences": (insights.movement_sentences(movements, is_segmented=filters.is_segmented)
                      + care_review.change_sentences(care, exported)),
        "cohorts": cohorts,
        "nps": nps,
        "csat": csat,
        "risk": risk,
        "risk_note": risk_note,
    }


def _kpi_rows(weeks: pd.DataFrame, has_surveys: bool = True) -> str:
    by_week = weeks.set_index("week_number")
    rows = []
    for key, label, kind, definition in WEEKLY_KPIS:
        if key in ("nps_90d", "csat_90d") and not has_surveys:
            rows.append(f"<tr><th title='{html.escape(definition)}'>{html.escape(label)}</th>"
                        "<td class='num flat' colspan='5'>Not exported: add <code>surveys</code> to the data folder</td>"
                        "</tr>")
            continue
        current = by_week[key].get(0)
        previous = by_week[key].get(1)
        month_ago = by_week[key].get(4)
        week_change, week_css = _change(current, previous, kind)
        month_change, month_css = _change(current, month_ago, kind)
        rows.append(
            f"<tr><th title='{html.escape(definition)}'>{html.escape(label)}</th>"
            f"<td class='num'>{formatting.number(current, kind)}</td>"
            f"<td class='num'>{formatting.number(previous, kind)}</td>"
            f"<td class='num {week_css}'>{week_change}</td><td class='num'>{formatting.number(month_ago, kind)}</td>"
            f"<td class='num {month_css}'>{month_change}</td></tr>"
        )
    return "\n".join(rows)


def _segment_text(filters: Filters) -> str:
    parts = []
    segment = filters.segment
    for field, label, values in (("acquisition_channel", "channel", segment.channels),
                                 ("region", "region", segment.regions),
                                 ("first_category", "first category", segment.categories),
                                 ("loyalty_tier", "tier", segment.tiers)):
        if values is not None:
            parts.append(f"{label}: {', '.join(formatting.label(value, field) for value in values) or 'none chosen'}")
    return "; ".join(parts) or "all customers"


def freshness_note(database, as_of: date, generated: date) -> str | None:
    """A warning when the exports are older than the freshness limit (or the review is not as of their end)."""
    latest = database.default_as_of()
    age = (generated - latest).days
    notes = []
    if age > database.settings.stale_after_days:
        notes.append(f"Stale data: the latest order in these exports is from {formatting.date_text(latest)}, "
                     f"{formatting.plural(age, 'day')} before this review was generated (the limit is "
                     f"{formatting.plural(database.settings.stale_after_days, 'day')}). Nothing after that day is in "
                     "these numbers.")
    if as_of < latest:
        notes.append(f"This review is as of {formatting.date_text(as_of)}; the exports run to "
                     f"{formatting.date_text(latest)}.")
    return " ".join(notes) or None


# Screen and print: no Plotly toolbar; in print each block (cards, table, chart) stays on one page, the trends
# start on a new page and two charts fill a page, so no page is left half empty.
STYLE = """
body{font-family:Inter,Helvetica,Arial,sans-serif;color:#0f172a;max-width:1100px;margin:24px auto;padding:0 16px}
h1{margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #e2e8f0;padding-bottom:4px;break-after:avoid}
.meta{color:#475569}table{border-collapse:collapse;width:100%;margin-top:12px;break-inside:avoid}
th,td{padding:6px 10px;border-bottom:1px solid #e2e8f0;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
thead th{background:#f1f5f9}th.section{background:#f8fafc;color:#475569;font-weight:600}.up{color:#15803d}.down{color:#b91c1c}.flat{color:#64748b}
.cards{display:flex;gap:16px;flex-wrap:nowrap;break-inside:avoid}.card{flex:1 1 0;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px}
.card b{font-size:24px;display:block}li{margin:4px 0}ul{break-inside:avoid}
.warning{background:#fef3c7;border:1px solid #f59e0b;border-radius:8px;padding:10px 14px;margin:12px 0}
.chart{break-inside:avoid;margin-top:8px}.trends{break-before:page}.modebar-container{display:none!important}
@page{size:A4;margin:12mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:13px}h1{font-size:22px}h2{margin-top:14px;font-size:18px}th,td{padding:2px 8px}.card{padding:6px 12px}.card b{font-size:20px}li{margin:2px 0}}
.incomplete{border:1px solid #b91c1c;background:#fef2f2;color:#7f1d1d;padding:8px 12px;border-radius:6px}
"""
CHART_HEIGHT = 430  # two charts and their headings fill an A4 page at 96 dpi (273 mm printable = 1,032 px)


def _incomplete_html(database) -> str:
    """A warning for each table whose files could not all be read: the review's numbers exclude them."""
    return "".join(f"<p class='incomplete'><b>Warning:</b> {html.escape(message)}.</p>"
                   for message in database.incomplete_tables().values())


def alerts_html(database, as_of: date, outcomes: list | None = None) -> str:
    """The fired ``[[alerts]]`` rules as the review's first section ('' when no rule is configured)."""
    from dashboard import alerts

    if outcomes is None:
        try:
            outcomes = alerts.evaluate(database, as_of, alerts.rules(database.settings))
        except alerts.AlertRuleError as error:
            return f"<h2>Alerts</h2><p class='down'>The alert rules could not be checked: {html.escape(str(error))}</p>"
    if not outcomes:
        return ""
    fired = alerts.fired(outcomes)
    if not fired:
        return f"<h2>Alerts</h2><p class='meta'>No alert fired ({len(outcomes)} rules in dashboard.toml).</p>"
    items = "".join(f"<li>{html.escape(outcome.sentence())}</li>" for outcome in fired)
    return (f"<h2>Alerts</h2><p class='down'><b>{len(fired)} of {len(outcomes)} alert rules fired.</b></p>"
            f"<ul>{items}</ul>")


def report_figures(data: dict, as_of: date) -> list:
    """The review's charts: the weekly trend (complete 7-day weeks), the last 12 monthly cohorts, NPS and CSAT per
    month over the last year (the month in progress marked, as in the app)."""
    weeks = data["weeks"]
    charts = []
    if weeks["orders"].sum() > 0:
        charts.append(figures.weekly_trend(weeks))
    recent_cohorts = data["cohorts"]
    if len(recent_cohorts):
        keep = sorted(recent_cohorts["cohort_start"].unique())[-12:]
        recent_cohorts = recent_cohorts[recent_cohorts["cohort_start"].isin(keep)]
        charts.append(figures.cohort_heatmap(recent_cohorts, "month"))
    year_ago = pd.Timestamp(as_of) - pd.DateOffset(months=12)
    nps = data["nps"][data["nps"]["period_start"] >= year_ago]
    if len(nps):
        charts.append(figures.nps_trend(nps, "month"))
    csat = data["csat"][data["csat"]["period_start"] >= year_ago]
    if len(csat):
        charts.append(figures.csat_trend(csat, "month"))
    return charts


def weekly_report_html(database, as_of: date, filters: Filters | None = None, outcomes: list | None = None) -> str:
    """The weekly review as one self-contained HTML page (opens offline; prints to A4 without a half-empty page),
    the fired alerts first."""
    filters = filters or Filters()
    data = weekly_review_data(database, as_of, filters)
    has_surveys = bool(database.catalog.tables.get("surveys") and database.catalog.tables["surveys"].is_usable)
    weeks = data["weeks"]
    week = weeks[weeks["week_number"] == 0].iloc[0]
    charts = report_figures(data, as_of)
    chart_html = []
    for index, fig in enumerate(charts):
        fig.update_layout(height=CHART_HEIGHT, margin={"t": 110 if fig.data and fig.data[0].type == "heatmap" else 60})
        chart_html.append("<div class='chart'>" + fig.to_html(
            full_html=False, include_plotlyjs="inline" if index == 0 else False,
            config={"displaylogo": False, "displayModeBar": False, "responsive": True}) + "</div>")
    risk = data["risk"]
    if risk is not None:
        cards = "".join(
            f"<div class='card'>{html.escape(row.label)}<b>{formatting.count(row.customers)}</b>"
            f"{formatting.rate(row.share)} of customers"
            + (f"<br>value at stake {formatting.money(row.value_at_stake_365d)}"
               if risk.attrs.get("has_predictions") and not formatting.is_missing(row.value_at_stake_365d) else "")
            + "</div>"
            for row in risk.itertuples(index=False))
        risk_html = (
            f"<div class='cards'>{cards}</div><p class='meta'>Lifecycle states (docs/churn.md): slipping customers "
            "are past the date they were expected to order but probably still customers, the ones to win back; "
            "value at stake is the part of their next 365 days' value the model expects to be lost.</p>"
        )
    else:
        risk_html = f"<p class='meta'>{html.escape(data['risk_note'] or 'No churn scores.')}</p>"
    if data["risk_note"] and risk is not None:
        risk_html += f"<p class='meta'>{html.escape(data['risk_note'])}</p>"
    generated_at = datetime.utcnow()
    stale = freshness_note(database, as_of, generated_at.date())
    stale_html = f"<p class='warning'><b>{html.escape(stale)}</b></p>" if stale else ""
    surveys_html = "" if has_surveys else (
        "<p class='meta'>No surveys exported: add <code>surveys</code> to the data folder to see NPS and CSAT.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Weekly review – week ending {as_of}</title>
<style>{STYLE}</style></head><body>
<h1>Weekly review: week ending {formatting.date_text(as_of, with_weekday=True)}</h1>
<p class="meta">The 7 days {formatting.date_text(week['week_start'])} – {formatting.date_text(week['week_end'])}
({html.escape(database.settings.timezone)}), segment: {html.escape(_segment_text(filters))}. Data version
{database.fingerprint[:8]}, generated {formatting.date_text(generated_at)} {generated_at:%H:%M} UTC. Definitions: docs/metrics.md.</p>
{stale_html}
{_incomplete_html(database)}
{alerts_html(database, as_of, outcomes)}
<h2>KPIs</h2>
<table><thead><tr><th>KPI</th><th>This week</th><th>Previous week</th><th>Change</th><th>4 weeks ago</th><th>Change</th></tr></thead>
<tbody>{_kpi_rows(weeks, has_surveys)}
<tr><th colspan="6" class="section">Post-purchase care</th></tr>
{care_review.report_rows_html(data["care"], data["exported"])}</tbody></table>
<h2>What changed this week</h2>
<ul>{''.join(f'<li>{html.escape(sentence)}</li>' for sentence in data["sentences"])}</ul>
<p class="meta">{html.escape(insights.RULE)}</p>
<h2>Where customers are</h2>
{risk_html}
<section class="trends">
<h2>Trends</h2>
<p class="meta">Weeks are the 7 days ending on each date, counted back from {formatting.date_text(as_of)}, so every
week is complete. In the monthly charts a month still in progress at {formatting.date_text(as_of)} is marked: * in the
cohort heatmap, hatched bars and a dashed, open-circled line end in the others. It is not final.</p>
{surveys_html}
{''.join(chart_html)}
</section>
</body></html>
"""


def weekly_report_pdf(database, as_of: date, filters: Filters | None = None, outcomes: list | None = None) -> bytes:
    """The weekly review as PDF, printed by a system Chromium (needs Debian's chromium)."""
    import subprocess
    import tempfile

    browser = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        raise RuntimeError("PDF needs a Chromium browser (apt-get install chromium, or set BROWSER_PATH)")
    page = weekly_report_html(database, as_of, filters, outcomes)
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "review.html")
        target = os.path.join(folder, "review.pdf")
        with open(source, "w", encoding="utf-8") as handle:
            handle.write(page)
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run",
                   f"--user-data-dir={os.path.join(folder, 'profile')}", "--virtual-time-budget=10000",
                   "--no-pdf-header-footer", f"--print-to-pdf={target}", f"file://{source}"]
        completed = subprocess.run(command, capture_output=True, timeout=120)
        if completed.returncode != 0 or not os.path.exists(target):
            raise RuntimeError(f"Chromium could not print the PDF: {completed.stderr.decode()[-300:]}")
        with open(target, "rb") as handle:
            return handle.read()
