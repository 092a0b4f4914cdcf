"""Mail itself: templates, links, after-commit sending, SMTP failures, background sending."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction

from ainative_auth.adapter import get_adapter
from ainative_auth.services import mail as mail_service
from ainative_auth.services.passwords import request_password_reset
from tests.conftest import PASSWORD
from tests.mail_backends import FailingEmailBackend, FlakyEmailBackend, SlowEmailBackend

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
def background(settings):
    """Send mail from the background thread, as production does by default."""
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "SEND_MAIL_IN_BACKGROUND": True}
    yield
    assert mail_service.flush_mail(timeout=10), "background mail still queued"


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
    (folder / "verify_email_subject.txt").write_text("Welcome aboard, {{ name }}")
    (folder / "verify_email_message.txt").write_text("{% autoescape off %}Go: {{ url }}"
                                                      "{% endautoescape %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    register(name="Alice")
    message = mail.outbox[-1]
    assert message.subject == "Welcome aboard, Alice"
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
    SlowEmailBackend.delay = 1.0
    mail_backend("tests.mail_backends.SlowEmailBackend")
    timings = {}
    for email in ("alice@example.com", "nobody@example.com"):
        started = time.perf_counter()
        r = api.post(FORGOT, {"email": email}, format="json")
        timings[email] = time.perf_counter() - started
        assert r.status_code == 200
    assert max(timings.values()) < 0.5, timings
    assert mail_service.flush_mail(timeout=10)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_background_sending_retries_then_delivers(make_user, background, mail_backend,
                                                  monkeypatch, caplog):
    make_user()
    settle()
    monkeypatch.setattr(mail_service, "RETRY_DELAYS", (0.01, 0.01))
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
    monkeypatch.setattr(mail_service, "RETRY_DELAYS", (0.01,))
    FailingEmailBackend.attempts = 0
    mail_backend("tests.mail_backends.FailingEmailBackend")
    with caplog.at_level(logging.ERROR, logger="ainative_auth"):
        request_password_reset("alice@example.com")
        assert mail_service.flush_mail(timeout=10)
    assert FailingEmailBackend.attempts == 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("attempt 2 of 2" in m and "SMTPConnectError" in m for m in messages)


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
                         text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "django.core.mail.backends.console.EmailBackend"
    env["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize("seconds,text", [(3600, "1 hour"), (86400, "1 day"),
                                          (7200, "2 hours"), (5400, "90 minutes"),
                                          (60, "1 minute"), (10, "1 minute")])
def test_lifetimes_read_naturally_in_mail(seconds, text):
    assert mail_service.describe_duration(seconds) == text
