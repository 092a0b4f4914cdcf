"""Through a real SMTP server on loopback: forgot-password, read the message, reset."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "delivered over smtp 2025"


class Collector:
    """aiosmtpd handler keeping every delivered envelope."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(mail_backend) -> Iterator[Collector]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        mail_backend("django.core.mail.backends.smtp.EmailBackend",
                     host="127.0.0.1", port=controller.port, timeout=5)
        yield collector
    finally:
        controller.stop()


def test_forgot_password_mail_arrives_over_smtp_and_its_link_resets(api, make_user, login,
                                                                    smtp_server):
    make_user()  # its verification mail goes through the server too
    before = len(smtp_server.envelopes)

    r = api.post("/api/v1/auth/forgot-password", {"email": "alice@example.com"},
                 format="json")
    assert r.status_code == 200

    assert len(smtp_server.envelopes) == before + 1
    envelope = smtp_server.envelopes[-1]
    assert envelope.rcpt_tos == ["alice@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Reset your password"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    found = re.search(r"https://app\.example\.com/reset-password\?token=([A-Za-z0-9_.\-]+)",
                      text)
    assert found, text
    token = found.group(1)
    assert f'href="https://app.example.com/reset-password?token={token}"' in html

    r = api.post("/api/v1/auth/reset-password", {"token": token, "new_password": NEW_PASSWORD},
                 format="json")
    assert r.status_code == 200, r.content
    assert login(password=NEW_PASSWORD).status_code == 200
    assert login(password=PASSWORD).status_code == 401
    notice = email.message_from_bytes(smtp_server.envelopes[-1].content,
                                      policy=email.policy.default)
    assert notice["Subject"] == "Your password was changed"
