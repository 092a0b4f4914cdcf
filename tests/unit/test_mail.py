"""Mail itself: templates, links, after-commit sending, SMTP failures, background sending."""

from __future__ import annotations

import logging
import os
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction

from ainative_auth import outbox as mail_service
from ainative_auth.adapter import get_adapter
from ainative_auth.outbox import delivery
from ainative_auth.services.passwords import request_password_reset
from tests.conftest import PASSWORD
from tests.mail_backends import FailingEmailBackend, FlakyEmailBackend
from tests.recording_mail import RecordingBackend

pytestmark = pytest.mark.django_db(transaction=True)

FORGOT = "/api/v1/auth/forgot-password"
RESEND = "/api/v1/auth/resend-verification"
PREFIXES = ["ainative_auth/email/verify_email", "ainative_auth/email/reset_password",
            "ainative_auth/email/password_changed"]


def settle() -> None:
    """Let the registration mail of ``make_user`` go out, then empty the outbox."""
    assert mail_service.flush_mail(timeout=10)
    mail.outbox.clear()


@pytest.fixture
def background(auth_settings):
    """Send mail from the background thread, as production does by default."""
    auth_settings(SEND_MAIL_IN_BACKGROUND=True)
    yield
    RecordingBackend.release()
    assert mail_service.flush_mail(timeout=10), "background mail still queued"


def refused(code: int) -> smtplib.SMTPRecipientsRefused:
    return smtplib.SMTPRecipientsRefused({"x@example.com": (code, b"No (test)")})


@pytest.mark.parametrize("prefix", PREFIXES)
def test_each_message_has_a_text_and_an_html_part(prefix):
    import datetime

    context = {"name": "Zoë O'Brien & <Co>", "email": "zoe@example.com",
               "url": "https://app.example.com/x?token=abc&y=1", "token": "abc",
               "expires_in": "1 hour", "reason": "change", "ip_address": "192.0.2.1",
               "changed_at": datetime.datetime(2025, 1, 2, 3, 4, tzinfo=datetime.UTC)}
    get_adapter().send_mail(prefix, "zoe@example.com", context)
    message = mail.outbox[-1]
    assert "\n" not in message.subject and message.subject
    # Text: as typed (no HTML escaping); HTML: escaped.
    assert "Zoë O'Brien & <Co>" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Zoë O&#x27;Brien &amp; &lt;Co&gt;" in html
    assert "<Co>" not in html
    if prefix != PREFIXES[2]:  # the notice has no link
        assert "https://app.example.com/x?token=abc&y=1" in message.body


def test_a_project_can_override_the_templates(register, settings, tmp_path: Path):
    folder = tmp_path / "ainative_auth" / "email"
    folder.mkdir(parents=True)
    (folder / "verify_email_subject.txt").write_text("Welcome aboard, {{ email }}")
    (folder / "verify_email_message.txt").write_text("{% autoescape off %}Go: {{ url }}"
                                                      "{% endautoescape %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    register(name="Alice")
    message = mail.outbox[-1]
    assert message.subject == "Welcome aboard, alice@example.com"
    assert message.body.startswith("Go: https://app.example.com/verify-email?token=")
    # The HTML part is still the app's, as the project did not override it.
    assert "Verify my email address" in message.alternatives[0][0]


def test_links_follow_the_configured_frontend_url_and_path(register, settings, mail_token):
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH,
                              "FRONTEND_URL": "https://accounts.example.org/",
                              "VERIFY_EMAIL_PATH": "/auth/verify/{token}"}
    register()
    body = mail.outbox[-1].body
    assert "https://accounts.example.org/auth/verify/" in body
    assert mail_token("verify")  # the fixture follows the same settings


def test_mail_waits_for_the_commit(make_user):
    make_user()
    mail.outbox.clear()
    with transaction.atomic():
        request_password_reset("alice@example.com")
        assert mail.outbox == []
    assert len(mail.outbox) == 1


def test_a_rolled_back_transaction_mails_nothing(make_user):
    make_user()
    mail.outbox.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        request_password_reset("alice@example.com")
        raise RuntimeError("rollback")
    assert mail.outbox == []


def test_register_and_resend_answer_the_same_when_smtp_is_down(api, register, mail_backend,
                                                               caplog):
    up = register(email="up@example.com")
    resend_up = api.post(RESEND, {"email": "up@example.com"}, format="json")
    mail_backend("tests.mail_backends.FailingEmailBackend")
    with caplog.at_level(logging.ERROR, logger="ainative_auth"):
        down = register(email="down@example.com")
        resend_down = api.post(RESEND, {"email": "down@example.com"}, format="json")
    assert down.status_code == up.status_code == 201
    assert set(down.json()) == set(up.json())
    assert (resend_down.status_code, resend_down.content) == (
        resend_up.status_code, resend_up.content)
    assert sum("could not send verify_email" in r.getMessage() for r in caplog.records) == 2
    # The account exists and works; the link can be asked for again once SMTP is back.
    assert api.post("/api/v1/auth/login", {"email": "down@example.com", "password": PASSWORD},
                    format="json").status_code == 200


def test_background_sending_keeps_smtp_latency_out_of_the_response(
        api, make_user, background, mail_backend):
    make_user()
    settle()
    # An SMTP server that answers nothing until the test lets it: both answers must come
    # back while it still holds the mail (sent in the request, they never would).
    RecordingBackend.reset(gate=True)
    mail_backend("tests.recording_mail.RecordingBackend")
    for email in ("alice@example.com", "nobody@example.com"):
        r = api.post(FORGOT, {"email": email}, format="json")
        assert r.status_code == 200
    assert RecordingBackend.attempts == []
    assert mail.outbox == []
    RecordingBackend.release()
    assert mail_service.flush_mail(timeout=10)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_background_sending_retries_then_delivers(make_user, background, mail_backend,
                                                  monkeypatch, caplog):
    make_user()
    settle()
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.01, 0.01))
    FlakyEmailBackend.reset(failures=2)
    mail_backend("tests.mail_backends.FlakyEmailBackend")
    with caplog.at_level(logging.INFO, logger="ainative_auth"):
        request_password_reset("alice@example.com")
        assert mail_service.flush_mail(timeout=10)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert any("on attempt 3" in r.getMessage() for r in caplog.records)


def test_background_sending_gives_up_and_logs(make_user, background, mail_backend,
                                              monkeypatch, caplog):
    make_user()
    settle()
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.01,))
    FailingEmailBackend.attempts = 0
    mail_backend("tests.mail_backends.FailingEmailBackend")
    with caplog.at_level(logging.ERROR, logger="ainative_auth"):
        request_password_reset("alice@example.com")
        assert mail_service.flush_mail(timeout=10)
    assert FailingEmailBackend.attempts == 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("attempt 2 of 2" in m and "SMTPConnectError" in m for m in messages)


def test_a_good_message_goes_out_before_any_retry_of_twenty_undeliverable_ones(
        api, make_user, register, background, mail_backend, monkeypatch, caplog):
    """Issue 8: three undeliverable registrations held a real user's reset mail 126 s,
    while the one sender slept through each retry. Retries are scheduled now: a message
    due later never holds one due now. No wall clock is involved: the first send is held
    until all 21 messages are queued, and retries are due at once (delay 0), so a sender
    that retried in line would deliver them before the good message."""
    make_user()
    settle()
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.0, 0.0))
    mail_service.reset_stats()
    bad = {f"bounce{i}@example.com": refused(550) for i in range(10)}  # no such user
    bad |= {f"later{i}@example.com": refused(451) for i in range(10)}  # try again later
    RecordingBackend.reset(bad, gate=True)
    mail_backend("tests.recording_mail.RecordingBackend")

    with caplog.at_level(logging.INFO, logger="ainative_auth"):
        for address in bad:
            assert register(email=address).status_code == 201
        assert api.post(FORGOT, {"email": "alice@example.com"}, format="json").status_code == 200
        RecordingBackend.release()
        assert mail_service.flush_mail(timeout=10)

    attempts = RecordingBackend.attempts
    # First attempts in arrival order, then the good message, then the retries.
    assert attempts[:21] == [*bad, "alice@example.com"]
    assert sorted(attempts[21:]) == sorted([f"later{i}@example.com" for i in range(10)] * 2)
    # A 5xx refusal is permanent: tried once. A 4xx is tried 1 + len(RETRY_DELAYS) times.
    assert all(attempts.count(a) == 1 for a in bad if a.startswith("bounce"))
    assert all(attempts.count(a) == 3 for a in bad if a.startswith("later"))
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert mail_service.stats() == {"queued": 21, "sent": 1, "retried": 20,
                                    "failed_permanent": 10, "failed_transient": 10,
                                    "dropped": 0, "pending": 0}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert sum("permanent error, not retried" in m for m in errors) == 10
    assert sum("giving up" in m for m in errors) == 10
    # Nothing logged names an address.
    assert not any("@example.com" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("error", [
    UnicodeEncodeError("ascii", "zoë", 2, 3, "ordinal not in range(128)"),
    ValueError('Invalid address "a@b"'),
    smtplib.SMTPRecipientsRefused({"a@b": (550, b"5.1.1 unknown")}),
    smtplib.SMTPSenderRefused(553, b"sender refused", "no-reply@localhost"),
    smtplib.SMTPDataError(554, b"rejected"),
    smtplib.SMTPNotSupportedError("SMTPUTF8 not supported"),
], ids=lambda e: type(e).__name__)
def test_encoding_and_address_errors_are_permanent_and_not_retried(
        make_user, background, mail_backend, monkeypatch, caplog, error):
    make_user()
    settle()
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    mail_service.reset_stats()
    RecordingBackend.reset({"alice@example.com": error})
    mail_backend("tests.recording_mail.RecordingBackend")
    with caplog.at_level(logging.ERROR, logger="ainative_auth"):
        request_password_reset("alice@example.com")
        assert mail_service.flush_mail(timeout=10)
    assert RecordingBackend.attempts == ["alice@example.com"]
    assert mail_service.stats()["failed_permanent"] == 1
    assert mail_service.stats()["retried"] == 0
    assert any("permanent error, not retried" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("error", [
    smtplib.SMTPRecipientsRefused({"a@b": (451, b"greylisted")}),
    smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    smtplib.SMTPConnectError(421, "Service not available"),
    smtplib.SMTPDataError(452, b"insufficient storage"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError("timed out"),
], ids=lambda e: type(e).__name__)
def test_connection_errors_and_4xx_answers_are_transient(error):
    assert not mail_service.is_permanent(error)


def test_a_full_queue_refuses_with_a_log_line_and_a_count(make_user, background, mail_backend,
                                                          monkeypatch, caplog):
    make_user()
    settle()
    monkeypatch.setattr(delivery, "QUEUE_SIZE", 2)
    mail_service.reset_stats()
    RecordingBackend.reset(gate=True)
    mail_backend("tests.recording_mail.RecordingBackend")
    with caplog.at_level(logging.ERROR, logger="ainative_auth"):
        for _ in range(4):
            request_password_reset("alice@example.com")
        RecordingBackend.release()
        assert mail_service.flush_mail(timeout=10)
    counts = mail_service.stats()
    assert counts["queued"] + counts["dropped"] == 4
    assert counts["dropped"] >= 2 and counts["sent"] == counts["queued"]
    logged = [r.getMessage() for r in caplog.records]
    assert sum("mail queue full" in m for m in logged) == counts["dropped"]


def test_inline_sending_counts_what_it_sends_and_what_fails(make_user, mail_backend):
    mail_service.reset_stats()
    make_user()  # its verification mail goes out inline
    RecordingBackend.reset({"alice@example.com": refused(451)})
    mail_backend("tests.recording_mail.RecordingBackend")
    request_password_reset("alice@example.com")
    counts = mail_service.stats()
    assert (counts["sent"], counts["failed_transient"], counts["retried"]) == (1, 1, 0)


def test_inline_sending_tries_once_and_logs(make_user, smtp_down, caplog):
    make_user()
    FailingEmailBackend.attempts = 0
    with caplog.at_level(logging.ERROR, logger="ainative_auth"):
        request_password_reset("alice@example.com")
    assert FailingEmailBackend.attempts == 1
    assert any("attempt 1 of 1" in r.getMessage() for r in caplog.records)


def test_the_example_project_prints_mail_to_the_console_by_default():
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_BACKEND", "DATABASE_URL")}
    code = ("import example_project.settings as s; "
            "print(getattr(s, 'MAILERS', {}).get('default', {}).get('BACKEND') "
            "or s.EMAIL_BACKEND)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "django.core.mail.backends.console.EmailBackend"
    env["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize("seconds,text", [(3600, "1 hour"), (86400, "1 day"),
                                          (7200, "2 hours"), (5400, "90 minutes"),
                                          (60, "1 minute"), (10, "1 minute")])
def test_lifetimes_read_naturally_in_mail(seconds, text):
    assert mail_service.describe_duration(seconds) == text
