"""send-report against a real SMTP server (aiosmtpd on a free loopback port, started here): the message arrives
with the review attached and the alerts in it, the subject names the week, and a refusing server gives a clear
error (exit 2, no traceback)."""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import textwrap

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from dashboard import cli
from tests.test_alerts import AS_OF, RULES, write_exports


class Mailbox:
    """An aiosmtpd handler that keeps what arrives and refuses recipients at refused.example."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.7.1 Relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.original_content, policy=email.policy.default)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def only_user_with_secret(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"review" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (with AUTH LOGIN/PLAIN over plain text, as on a trusted network)."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), authenticator=only_user_with_secret,
                            auth_require_tls=False)
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def drop_data(tmp_path):
    return write_exports(tmp_path / "drop", [0] * 5)


def configure(tmp_path, monkeypatch, smtp: str, rules: str = RULES) -> None:
    path = tmp_path / "dashboard.toml"
    path.write_text(rules + "\n[smtp]\n" + textwrap.dedent(smtp), encoding="utf-8")
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(path))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))


def send(capsys, data_dir, *extra) -> tuple[int, str]:
    code = cli.main(["send-report", "--data", str(data_dir), "--as-of", AS_OF.isoformat(), *extra])
    return code, capsys.readouterr().err


def test_the_review_arrives_with_the_report_attached_and_the_alerts_in_it(tmp_path, monkeypatch, capsys, drop_data,
                                                                           smtp_server):
    controller, mailbox = smtp_server
    configure(tmp_path, monkeypatch, f"""
        host = "127.0.0.1"
        port = {controller.port}
        starttls = false
        from = "review@shop.example"
        """)
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example, cfo@shop.example")
    assert code == 0, err
    (sender, to, message), = mailbox.messages
    assert sender == "review@shop.example" and to == ["ceo@shop.example", "cfo@shop.example"]
    assert message["Subject"] == "Weekly review: week ending Sun 30 Jun 2024 (24 Jun–30 Jun) — 3 alerts fired"
    assert message["To"] == "ceo@shop.example, cfo@shop.example"
    text = message.get_body(("plain",)).get_content()
    assert "3 alerts fired:" in text
    assert ("- NPS (90 days) changed −30.0 pts vs last week (50.0 → 20.0): rule “NPS fell” "
            "(change < −10.0 pts, all customers).") in text
    assert "- Orders: 10 (0.0%, 0.0%)" in text  # ten customers order every week: no change, so no sign
    html_body = message.get_body(("html",)).get_content()
    assert "3 alerts fired" in html_body and "<script" not in html_body
    attachment, = list(message.iter_attachments())
    assert attachment.get_filename() == "weekly-review-2024-06-30.html"
    report = attachment.get_content()
    assert report.startswith("<!DOCTYPE html>") and "Weekly review: week ending Sunday 30 Jun 2024" in report
    assert "3 of 4 alert rules fired." in report and "rule “Gold NPS fell”" in report
    assert 'sent "Weekly review: week ending Sun 30 Jun 2024' in err


def test_login_uses_the_password_from_the_environment(tmp_path, monkeypatch, capsys, drop_data, smtp_server):
    controller, mailbox = smtp_server
    configure(tmp_path, monkeypatch, f"""
        host = "127.0.0.1"
        port = {controller.port}
        starttls = false
        user = "review"
        password_env = "REVIEW_SMTP_PASSWORD"
        from = "review@shop.example"
        """)
    monkeypatch.delenv("REVIEW_SMTP_PASSWORD", raising=False)
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")
    assert code == 2 and "the environment variable REVIEW_SMTP_PASSWORD, which holds the password, is empty" in err
    monkeypatch.setenv("REVIEW_SMTP_PASSWORD", "wrong")
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")
    assert code == 2 and f"the SMTP server 127.0.0.1:{controller.port} refused the login of review: 535" in err
    assert "Traceback" not in err and not mailbox.messages
    monkeypatch.setenv("REVIEW_SMTP_PASSWORD", "s3cret")
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")
    assert code == 0, err
    assert len(mailbox.messages) == 1


def test_a_refused_recipient_is_a_clear_error(tmp_path, monkeypatch, capsys, drop_data, smtp_server):
    controller, mailbox = smtp_server
    configure(tmp_path, monkeypatch, f'host = "127.0.0.1"\nport = {controller.port}\nstarttls = false\n'
                                     'from = "review@shop.example"\n')
    code, err = send(capsys, drop_data, "--to", "x@refused.example")
    assert code == 2
    assert (f"error: the SMTP server 127.0.0.1:{controller.port} refused every recipient: "
            "x@refused.example (550 5.7.1 Relaying denied)") in err
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example,x@refused.example")
    assert code == 2 and "delivered to the others but refused x@refused.example (550 5.7.1 Relaying denied)" in err
    assert [to for _, to, _ in mailbox.messages] == [["ceo@shop.example"]]
    assert "Traceback" not in err


def test_no_server_no_starttls_and_bad_addresses_are_clear_errors(tmp_path, monkeypatch, capsys, drop_data,
                                                                   smtp_server):
    controller, _ = smtp_server
    closed = free_port()
    configure(tmp_path, monkeypatch, f'host = "127.0.0.1"\nport = {closed}\nstarttls = false\nfrom = "r@s.example"\n')
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")
    assert code == 2 and f"error: cannot reach the SMTP server 127.0.0.1:{closed}: Connection refused" in err
    configure(tmp_path, monkeypatch, f'host = "127.0.0.1"\nport = {controller.port}\nfrom = "r@s.example"\n')
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")  # starttls is on by default
    assert code == 2 and f"the SMTP server 127.0.0.1:{controller.port} does not offer STARTTLS" in err
    code, err = send(capsys, drop_data, "--to", "not an address")
    assert code == 2 and "--to needs e-mail addresses separated by commas" in err
    configure(tmp_path, monkeypatch, "")
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")
    assert code == 2 and "no SMTP server to send with: set host and from in [smtp]" in err
    configure(tmp_path, monkeypatch, 'host = "x"\nport = 25\nsecure = true\n')
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")
    assert code == 2 and "[smtp] has unknown settings: secure" in err
    assert "Traceback" not in err


def test_orders_only_export_sends_the_review_without_survey_alerts(tmp_path, monkeypatch, capsys, drop_data,
                                                                    smtp_server):
    controller, mailbox = smtp_server
    (drop_data / "surveys.parquet").unlink()
    (drop_data / "customers.parquet").unlink()
    configure(tmp_path, monkeypatch, f'host = "127.0.0.1"\nport = {controller.port}\nstarttls = false\n'
                                     'from = "review@shop.example"\n', rules=RULES.replace(
                                         'segment = { tier = "gold" }', ""))
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")
    assert code == 0, err
    (_, _, message), = mailbox.messages
    assert message["Subject"] == "Weekly review: week ending Sun 30 Jun 2024 (24 Jun–30 Jun)"
    text = message.get_body(("plain",)).get_content()
    assert "alerts fired" not in text and "- NPS (90 days): – (–, –)" in text


@pytest.mark.browser
def test_the_pdf_review_arrives_attached(tmp_path, monkeypatch, capsys, drop_data, smtp_server):
    # The browser suite runs where .ci/run installed chromium: a missing one is a failure, not a skip.
    assert shutil.which("chromium"), "PDF needs Debian's chromium (apt-get install chromium)"
    controller, mailbox = smtp_server
    configure(tmp_path, monkeypatch, f'host = "127.0.0.1"\nport = {controller.port}\nstarttls = false\n'
                                     'from = "review@shop.example"\n')
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example", "--format", "pdf")
    assert code == 0, err
    (_, _, message), = mailbox.messages
    attachment, = list(message.iter_attachments())
    assert attachment.get_filename() == "weekly-review-2024-06-30.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")


def test_a_server_that_refuses_the_login_is_named_before_the_review_is_built(tmp_path, monkeypatch, capsys,
                                                                             drop_data, smtp_server):
    """A wrong password, port or TLS setting is said at once: building the review comes after the server has let
    us in (on a large export its first build takes minutes)."""
    from dashboard import delivery

    controller, mailbox = smtp_server
    configure(tmp_path, monkeypatch, f"""
        host = "127.0.0.1"
        port = {controller.port}
        starttls = false
        user = "review"
        password_env = "REVIEW_SMTP_PASSWORD"
        from = "review@shop.example"
        """)
    monkeypatch.setenv("REVIEW_SMTP_PASSWORD", "wrong")
    composed = []
    real_compose = delivery.compose
    monkeypatch.setattr(delivery, "compose",
                        lambda *args, **kwargs: composed.append(args) or real_compose(*args, **kwargs))
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")
    assert code == 2 and f"the SMTP server 127.0.0.1:{controller.port} refused the login of review: 535" in err
    assert composed == [] and not mailbox.messages
    monkeypatch.setenv("REVIEW_SMTP_PASSWORD", "s3cret")
    code, err = send(capsys, drop_data, "--to", "ceo@shop.example")
    assert code == 0, err
    assert len(composed) == 1 and len(mailbox.messages) == 1
