"""Scheduled delivery: the weekly review (and the fired alerts) by e-mail over SMTP (``[smtp]`` in dashboard.toml).

``compose`` builds the message: a subject naming the week and the number of fired alerts, a short summary in
the body (fired alerts, the KPIs against last week and 4 weeks ago, what changed), and the full weekly review
attached as the same self-contained HTML file (or PDF) ``python -m dashboard report`` writes. ``check`` connects and
logs in before the review is built; ``send`` delivers it; every way the server can refuse becomes a ``DeliveryError``
with one clear sentence.
"""

from __future__ import annotations

import html
import os
import smtplib
import socket
import ssl
from contextlib import contextmanager
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid

import pandas as pd

from dashboard import alerts, report
from dashboard.metrics import WEEKLY_KPIS
from dashboard.settings import SmtpSettings


class DeliveryError(RuntimeError):
    """The report could not be delivered; the message says where and why."""


def recipients(text: str) -> list[str]:
    """``a@x.com, b@y.com`` as a list of addresses; DeliveryError for anything that is not an address."""
    addresses = [address.strip() for _, address in getaddresses([text]) if address.strip()]
    wrong = [address for address in addresses
             if address.count("@") != 1 or address.startswith("@") or address.endswith("@") or " " in address]
    if not addresses or wrong:
        raise DeliveryError(f"--to needs e-mail addresses separated by commas, not {text!r}")
    return addresses


def subject(as_of: date, fired: int) -> str:
    """``Weekly review: week ending Sun 30 Jun 2024 (24–30 Jun) — 2 alerts fired``."""
    start = pd.Timestamp(as_of) - pd.Timedelta(days=6)
    alert_text = f" — {fired} alert{'s' if fired != 1 else ''} fired" if fired else ""
    return f"Weekly review: week ending {as_of:%a %d %b %Y} ({start:%d %b}–{as_of:%d %b}){alert_text}"


def _kpi_lines(weeks: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(label, this week, change vs last week, change vs 4 weeks ago) per KPI card of the review."""
    by_week = weeks.set_index("week_number")
    rows = []
    for key, label, kind, _ in WEEKLY_KPIS:
        current, previous, month_ago = (by_week[key].get(week) for week in (0, 1, 4))
        value = alerts.display(None if pd.isna(current) else current, kind)
        changes = []
        for earlier in (previous, month_ago):
            if current is None or earlier is None or pd.isna(current) or pd.isna(earlier):
                changes.append("–")
            elif kind in ("rate", "score"):
                changes.append(alerts.change_text(current - earlier, kind))
            elif earlier == 0:
                changes.append("–")
            else:
                changes.append(alerts.change_text((current - earlier) / abs(earlier), kind, relative=True))
        rows.append((label, value, *changes))
    return rows


def compose(database, as_of: date, to: list[str], sender: str, report_format: str = "html",
            outcomes: list | None = None) -> EmailMessage:
    """The weekly review as an e-mail: summary in the body, the full review attached (html or pdf)."""
    rule_problem = ""
    if outcomes is None:
        try:
            outcomes = alerts.evaluate(database, as_of, alerts.rules(database.settings))
        except alerts.AlertRuleError as error:  # the review still goes out, and says so
            rule_problem = f"The alert rules could not be checked: {error}"
    fired = alerts.fired(outcomes or [])
    data = report.weekly_review_data(database, as_of)
    kpis = _kpi_lines(data["weeks"])
    sentences = data["sentences"] or ["No segment moved noticeably against last week."]
    if report_format == "pdf":
        attachment = report.weekly_report_pdf(database, as_of, outcomes=outcomes)
        maintype, subtype, extension = "application", "pdf", "pdf"
    else:
        attachment = report.weekly_report_html(database, as_of, outcomes=outcomes)
        maintype, subtype, extension = "text", "html", "html"

    message = EmailMessage()
    message["Subject"] = subject(as_of, len(fired))
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.split("@")[-1] or None)

    alert_text = ([f"{len(fired)} alert{'s' if len(fired) != 1 else ''} fired:"]
                  + [f"- {outcome.sentence()}" for outcome in fired] + [""]) if fired else []
    if rule_problem:
        alert_text += [rule_problem, ""]
    text = "\n".join([
        f"Weekly review, the 7 days ending {as_of:%A %d %B %Y}. The full review is attached "
        f"(weekly-review-{as_of}.{extension}).", "", *alert_text,
        "KPI: this week (vs last week, vs 4 weeks ago)",
        *[f"- {label}: {value} ({week}, {month})" for label, value, week, month in kpis], "",
        "What changed this week:", *[f"- {sentence}" for sentence in sentences], "",
        "Definitions: docs/metrics.md.",
    ])
    alert_html = (f"<h3 style='color:#b91c1c'>{len(fired)} alert{'s' if len(fired) != 1 else ''} fired</h3><ul>"
                  + "".join(f"<li>{html.escape(outcome.sentence())}</li>" for outcome in fired) + "</ul>") \
        if fired else ""
    if rule_problem:
        alert_html += f"<p style='color:#b91c1c'>{html.escape(rule_problem)}</p>"
    rows = "".join(
        f"<tr><th style='text-align:left;padding:4px 8px'>{html.escape(label)}</th>"
        + "".join(f"<td style='text-align:right;padding:4px 8px'>{html.escape(cell)}</td>" for cell in cells)
        + "</tr>" for label, *cells in kpis)
    body = f"""<!DOCTYPE html><html><body style="font-family:Helvetica,Arial,sans-serif;color:#0f172a">
<h2>Weekly review: the 7 days ending {as_of:%A %d %B %Y}</h2>
{alert_html}
<table style="border-collapse:collapse"><thead><tr><th style="text-align:left;padding:4px 8px">KPI</th>
<th style="padding:4px 8px">This week</th><th style="padding:4px 8px">vs last week</th>
<th style="padding:4px 8px">vs 4 weeks ago</th></tr></thead><tbody>{rows}</tbody></table>
<h3>What changed this week</h3><ul>{''.join(f'<li>{html.escape(s)}</li>' for s in sentences)}</ul>
<p style="color:#475569">The full review with its charts is attached (weekly-review-{as_of}.{extension}).
Definitions: docs/metrics.md.</p></body></html>"""
    message.set_content(text)
    message.add_alternative(body, subtype="html")
    if isinstance(attachment, str):  # text: sent as UTF-8
        message.add_attachment(attachment, subtype=subtype, filename=f"weekly-review-{as_of}.{extension}")
    else:
        message.add_attachment(attachment, maintype=maintype, subtype=subtype,
                               filename=f"weekly-review-{as_of}.{extension}")
    return message


def check(smtp: SmtpSettings, environ: dict | None = None) -> None:
    """Connect to the configured server, STARTTLS and log in, then hang up: what ``send`` will do before the
    message. ``send-report`` calls it before building the review, which takes minutes on a large export on its first
    run, so that a wrong port, password or TLS setting is said at once. DeliveryError as ``send``."""
    with _session(smtp, environ):
        pass


def send(message: EmailMessage, smtp: SmtpSettings, environ: dict | None = None) -> None:
    """Deliver a message through the configured server; DeliveryError says where and why it failed."""
    with _session(smtp, environ) as client:
        refused = client.send_message(message)
    if refused:
        raise DeliveryError(f"the SMTP server {smtp.host}:{smtp.port} delivered to the others but refused "
                            f"{_refusals(refused)}")


@contextmanager
def _session(smtp: SmtpSettings, environ: dict | None = None):
    """An SMTP client connected (TLS as configured) and logged in; every refusal, in the block too, becomes a
    DeliveryError naming the server and why."""
    environ = os.environ if environ is None else environ
    where = f"the SMTP server {smtp.host}:{smtp.port}"
    if not smtp.host:
        raise DeliveryError("no SMTP server is configured: set host (and port, from) in [smtp] of dashboard.toml")
    password = None
    if smtp.user:
        password = environ.get(smtp.password_env, "")
        if not password:
            raise DeliveryError(f"[smtp] user is {smtp.user!r} but the environment variable {smtp.password_env}, "
                                "which holds the password, is empty")
    client_class = smtplib.SMTP_SSL if smtp.ssl else smtplib.SMTP
    try:
        with client_class(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, password)
            yield client
    except smtplib.SMTPRecipientsRefused as error:
        raise DeliveryError(f"{where} refused every recipient: {_refusals(error.recipients)}") from error
    except smtplib.SMTPSenderRefused as error:
        raise DeliveryError(f"{where} refused the sender {error.sender}: {_reply(error.smtp_code, error.smtp_error)}") \
            from error
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryError(f"{where} refused the login of {smtp.user}: {_reply(error.smtp_code, error.smtp_error)}") \
            from error
    except smtplib.SMTPNotSupportedError as error:
        raise DeliveryError(f"{where} does not offer {'STARTTLS' if smtp.starttls else 'what was asked'} "
                            f"({error}); set starttls = false only for a server on a trusted network") from error
    except smtplib.SMTPResponseException as error:
        raise DeliveryError(f"{where} refused the message: {_reply(error.smtp_code, error.smtp_error)}") from error
    except (smtplib.SMTPException, ssl.SSLError) as error:
        raise DeliveryError(f"{where} failed: {error}") from error
    except socket.timeout as error:
        raise DeliveryError(f"{where} did not answer within {smtp.timeout_seconds:g} s") from error
    except OSError as error:
        raise DeliveryError(f"cannot reach {where}: {error.strerror or error}") from error


def _reply(code, text) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}".strip()


def _refusals(recipients: dict) -> str:
    return "; ".join(f"{address} ({_reply(*reply)})" for address, reply in recipients.items())
