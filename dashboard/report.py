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

from dashboard import figures, insights
from dashboard.filters import Filters
from dashboard.metrics import WEEKLY_KPIS, contract_metrics
from dashboard.queries import run_query


def metrics_report(database, as_of: date, filters: Filters | None = None) -> dict:
    """The JSON metrics report: the contract keys of docs/metrics.md for as_of."""
    cursor = database.cursor(as_of)
    try:
        return contract_metrics(cursor, filters)
    finally:
        cursor.close()


def _format(value, kind: str) -> str:
    if kind in ("money", "money2"):
        return figures.format_currency(value, 2 if kind == "money2" else 0)
    if kind == "rate":
        return figures.format_percent(value)
    if kind == "score":
        return figures.format_number(value, 1)
    return figures.format_number(value)


def _change(current, previous, kind: str) -> tuple[str, str]:
    """Change text and a CSS class (up/down/flat)."""
    if current is None or previous is None or pd.isna(current) or pd.isna(previous):
        return "–", "flat"
    difference = current - previous
    css = "up" if difference > 0 else ("down" if difference < 0 else "flat")
    if kind in ("rate", "score"):
        points = 100 * difference if kind == "rate" else difference
        return ("0.0 pts" if abs(points) < 0.05 else f"{points:+.1f} pts"), css
    if previous == 0:
        return "–", css
    return f"{difference / abs(previous):+.1%}", css


def weekly_review_data(database, as_of: date, filters: Filters | None = None) -> dict:
    """Everything the weekly review shows, as DataFrames and lists (shared by HTML and PDF)."""
    filters = filters or Filters()
    params = filters.params()
    cursor = database.cursor(as_of)
    try:
        weeks = run_query(cursor, "weekly_kpis", **params, weeks=26).sort_values("week_number")
        movements = run_query(cursor, "segment_movements", **params)
        monthly = {**params, "grain": "month", "start_date": None, "end_date": None}
        cohorts = run_query(cursor, "cohort_retention", **monthly, small_cohort_size=database.settings.small_cohort_size)
        nps = run_query(cursor, "nps_trend", **monthly)
        csat = run_query(cursor, "csat_trend", **monthly)
        try:
            from dashboard import churn

            risk_note = churn.model_info(cursor).message
            risk = churn.high_risk_summary(cursor, filters.segment)
        except Exception as error:  # the review still goes out without the churn section
            risk, risk_note = None, f"Churn scores unavailable: {error}"
    finally:
        cursor.close()
    return {
        "weeks": weeks,
        "sentences": insights.movement_sentences(movements),
        "cohorts": cohorts,
        "nps": nps,
        "csat": csat,
        "risk": risk,
        "risk_note": risk_note,
    }


def _kpi_rows(weeks: pd.DataFrame) -> str:
    by_week = weeks.set_index("week_number")
    rows = []
    for key, label, kind, definition in WEEKLY_KPIS:
        current = by_week[key].get(0)
        previous = by_week[key].get(1)
        month_ago = by_week[key].get(4)
        week_change, week_css = _change(current, previous, kind)
        month_change, month_css = _change(current, month_ago, kind)
        rows.append(
            f"<tr><th title='{html.escape(definition)}'>{html.escape(label)}</th>"
            f"<td class='num'>{_format(current, kind)}</td><td class='num'>{_format(previous, kind)}</td>"
            f"<td class='num {week_css}'>{week_change}</td><td class='num'>{_format(month_ago, kind)}</td>"
            f"<td class='num {month_css}'>{month_change}</td></tr>"
        )
    return "\n".join(rows)


def _segment_text(filters: Filters) -> str:
    parts = []
    segment = filters.segment
    for label, values in (("channel", segment.channels), ("region", segment.regions),
                          ("first category", segment.categories), ("tier", segment.tiers)):
        if values is not None:
            parts.append(f"{label}: {', '.join(values) or 'none'}")
    return "; ".join(parts) or "all customers"


STYLE = """
body{font-family:Inter,Helvetica,Arial,sans-serif;color:#0f172a;max-width:1100px;margin:24px auto;padding:0 16px}
h1{margin-bottom:4px}h2{margin-top:36px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.meta{color:#475569}table{border-collapse:collapse;width:100%;margin-top:12px}
th,td{padding:6px 10px;border-bottom:1px solid #e2e8f0;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
thead th{background:#f1f5f9}.up{color:#15803d}.down{color:#b91c1c}.flat{color:#64748b}
.cards{display:flex;gap:16px;flex-wrap:wrap}.card{border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;min-width:200px}
.card b{font-size:24px;display:block}li{margin:4px 0}
"""


def weekly_report_html(database, as_of: date, filters: Filters | None = None) -> str:
    """The weekly review as one self-contained HTML page (opens offline)."""
    filters = filters or Filters()
    data = weekly_review_data(database, as_of, filters)
    weeks = data["weeks"]
    week = weeks[weeks["week_number"] == 0].iloc[0]
    charts = []
    if weeks["orders"].sum() > 0:
        charts.append(("Weekly revenue and active customers", figures.weekly_trend(weeks)))
    recent_cohorts = data["cohorts"]
    if len(recent_cohorts):
        keep = sorted(recent_cohorts["cohort_start"].unique())[-12:]
        recent_cohorts = recent_cohorts[recent_cohorts["cohort_start"].isin(keep)]
        charts.append(("Cohort retention", figures.cohort_heatmap(recent_cohorts, "month")))
    nps = data["nps"][data["nps"]["period_start"] >= pd.Timestamp(as_of) - pd.DateOffset(months=12)]
    if len(nps):
        charts.append(("NPS", figures.nps_trend(nps, "month")))
    csat = data["csat"][data["csat"]["period_start"] >= pd.Timestamp(as_of) - pd.DateOffset(months=12)]
    if len(csat):
        charts.append(("CSAT", figures.csat_trend(csat, "month")))
    chart_html = []
    for index, (_, fig) in enumerate(charts):
        chart_html.append(fig.to_html(full_html=False, include_plotlyjs="inline" if index == 0 else False,
                                      config={"displaylogo": False, "responsive": True}))
    sentences = data["sentences"] or ["No segment moved noticeably against last week."]
    risk = data["risk"]
    if risk:
        risk_html = (
            "<div class='cards'>"
            f"<div class='card'>High churn risk<b>{risk['high_risk_customers']:,}</b>customers</div>"
            f"<div class='card'>Their lifetime revenue<b>{figures.format_currency(risk['high_risk_revenue'])}</b></div>"
            f"<div class='card'>Predicted 365-day value at risk<b>{figures.format_currency(risk['high_risk_predicted_clv'])}</b></div>"
            "</div>"
        )
    else:
        risk_html = f"<p class='meta'>{html.escape(data['risk_note'] or 'No churn scores.')}</p>"
    if data["risk_note"] and risk:
        risk_html += f"<p class='meta'>{html.escape(data['risk_note'])}</p>"
    generated = datetime.utcnow().strftime("%d %b %Y %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Weekly review – week ending {as_of}</title>
<style>{STYLE}</style></head><body>
<h1>Weekly review: week ending {as_of:%A %d %B %Y}</h1>
<p class="meta">The 7 days {week['week_start']:%d %b} – {week['week_end']:%d %b %Y} ({html.escape(database.settings.timezone)}),
segment: {html.escape(_segment_text(filters))}. Data version {database.fingerprint[:8]}, generated {generated}.
Definitions: docs/metrics.md.</p>
<h2>KPIs</h2>
<table><thead><tr><th>KPI</th><th>This week</th><th>Previous week</th><th>Change</th><th>4 weeks ago</th><th>Change</th></tr></thead>
<tbody>{_kpi_rows(weeks)}</tbody></table>
<h2>What changed this week</h2>
<ul>{''.join(f'<li>{html.escape(sentence)}</li>' for sentence in sentences)}</ul>
<h2>Churn risk</h2>
{risk_html}
<h2>Trends</h2>
{''.join(chart_html)}
</body></html>
"""


def weekly_report_pdf(database, as_of: date, filters: Filters | None = None) -> bytes:
    """The weekly review as PDF, printed by a system Chromium (needs Debian's chromium)."""
    import subprocess
    import tempfile

    browser = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        raise RuntimeError("PDF needs a Chromium browser (apt-get install chromium, or set BROWSER_PATH)")
    page = weekly_report_html(database, as_of, filters)
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
