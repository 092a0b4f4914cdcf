"""REL-3, the SMTP server goes away, and comes back.

A real SMTP server (aiosmtpd) on loopback, stopped and started again on the same port, or
reached through a TCP proxy that stops answering. Mail goes out from the background
sender (``SEND_MAIL_IN_BACKGROUND``, the default), so:

- register, forgot-password and resend-verification answer exactly as when SMTP is up:
  the same status and the same body (for register, the same shape: its tokens are new);
- the mail is not lost: each failed attempt is retried (``mail.RETRY_DELAYS``, shortened
  here), and once the server is back every message arrives;
- if the server stays away past the last retry, each message is logged at ERROR and
  counted (``mail.stats()["failed_transient"]``): lost, but never silently.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from rest_framework.test import APIClient

from ainative_auth import outbox as mail_service
from ainative_auth.outbox import delivery
from tests.conftest import PASSWORD
from tests.servers import TCPProxy, free_port

pytestmark = pytest.mark.django_db(transaction=True)


class Collector:
    """aiosmtpd handler keeping every delivered envelope's recipients."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


class SMTPServer:
    """aiosmtpd on one fixed loopback port, which ``stop()`` closes and ``start()``
    opens again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.collector = Collector()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp(auth_settings: Any, mail_backend: Callable[..., None],
         monkeypatch: pytest.MonkeyPatch) -> Iterator[SMTPServer]:
    """A running SMTP server, the background sender on, and retries a second apart."""
    server = SMTPServer()
    server.start()
    auth_settings(SEND_MAIL_IN_BACKGROUND=True)
    mail_backend("django.core.mail.backends.smtp.EmailBackend",
                 host="127.0.0.1", port=server.port, timeout=1)
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.5, 1.0, 1.0))
    assert mail_service.flush_mail(timeout=10)
    mail_service.reset_stats()
    try:
        yield server
    finally:
        server.stop()
        server.start()
        # Nothing of this test's mail may still be queued for the next test.
        assert mail_service.flush_mail(timeout=15), "mail still queued"
        server.stop()


def answers(email: str, known: str) -> tuple[list[tuple[int, Any]], list[str]]:
    """Register ``email``, register ``known`` again, forgot-password and resend for
    ``known`` and for an unknown address: each answer as (status, body), register's
    tokens and ids left out. Also the recipients these requests mail."""
    api = APIClient()

    def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = api.post(f"/api/v1/auth/{path}", body, format="json")
        return response.status_code, json.loads(response.content)

    status, created = post("register", {"email": email, "password": PASSWORD, "name": "M"})
    shape = {key: (value if key in ("token_type", "expires_in") else type(value).__name__)
             for key, value in created.items() if key != "user"}
    shape["user"] = {key: created["user"][key] for key in ("name", "email_verified")}
    unknown = "nobody-" + email
    results = [
        (status, shape),
        post("register", {"email": known, "password": PASSWORD, "name": "M"}),
        post("forgot-password", {"email": known}),
        post("forgot-password", {"email": unknown}),
        post("resend-verification", {"email": known}),
        post("resend-verification", {"email": unknown}),
    ]
    # Verification for the new account; for the known one: the "tried to sign up" notice,
    # the reset link and a new verification link. Nothing for the unknown address.
    return results, [email, known, known, known]


def wait_until(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def mail_stats() -> dict[str, int]:
    return mail_service.stats()


@pytest.mark.parametrize("outage", ["stopped", "unanswering"])
def test_smtp_down_changes_no_answer_and_the_mail_goes_out_when_it_is_back(
    smtp: SMTPServer, make_user: Callable[..., Any], mail_backend: Callable[..., None],
    outage: str,
) -> None:
    make_user(email="up-known@example.com")
    make_user(email="down-known@example.com")
    assert mail_service.flush_mail(timeout=10)
    mail_service.reset_stats()
    smtp.collector.recipients.clear()

    up, mailed_up = answers("up-new@example.com", "up-known@example.com")
    assert mail_service.flush_mail(timeout=10)
    assert sorted(smtp.collector.recipients) == sorted(mailed_up)
    assert mail_stats()["retried"] == 0

    with TCPProxy(smtp.port) as proxy:
        if outage == "stopped":
            smtp.stop()
        else:
            mail_backend("django.core.mail.backends.smtp.EmailBackend",
                         host="127.0.0.1", port=proxy.port, timeout=1)
            proxy.hang()
        down, mailed_down = answers("down-new@example.com", "down-known@example.com")

        assert [status for status, _ in down] == [201, 409, 200, 200, 200, 200]
        assert down == up
        # The sender has met the outage (a first attempt failed and a retry is due) ...
        wait_until(lambda: mail_stats()["retried"] >= 1)
        assert mail_stats()["pending"] >= 1
        if outage == "stopped":
            smtp.start()
        else:
            proxy.restore()
        # ... and once the server is back, every message arrives: none was lost.
        assert mail_service.flush_mail(timeout=20)
    delivered = smtp.collector.recipients[len(mailed_up):]
    assert sorted(delivered) == sorted(mailed_down)
    stats = mail_stats()
    assert stats["sent"] == len(mailed_up) + len(mailed_down)
    assert stats["failed_transient"] == stats["failed_permanent"] == stats["dropped"] == 0


def test_mail_still_undeliverable_after_the_last_retry_is_logged_and_counted(
    smtp: SMTPServer, make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_user(email="known@example.com")
    assert mail_service.flush_mail(timeout=10)
    mail_service.reset_stats()
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.05, 0.05))
    smtp.collector.recipients.clear()

    smtp.stop()
    with caplog.at_level(logging.ERROR, logger="ainative_auth"):
        down, mailed = answers("new@example.com", "known@example.com")
        assert mail_service.flush_mail(timeout=10)
    assert [status for status, _ in down] == [201, 409, 200, 200, 200, 200]

    stats = mail_stats()
    assert stats["failed_transient"] == len(mailed)
    assert stats["retried"] == 2 * len(mailed)
    assert stats["sent"] == 0 and stats["pending"] == 0
    given_up = [r for r in caplog.records
                if r.levelno == logging.ERROR and "giving up" in r.getMessage()]
    assert len(given_up) == len(mailed)
    # Logged by template and user id, never by address.
    assert not any("@example.com" in r.getMessage() for r in given_up)
    smtp.start()
    assert mail_service.flush_mail(timeout=5)
    assert smtp.collector.recipients == []
