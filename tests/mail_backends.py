"""Email backends for the mail tests: SMTP down, or failing a few times."""

from __future__ import annotations

import os
import smtplib
import threading
import uuid
from pathlib import Path
from typing import Any

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FailingEmailBackend(LocmemBackend):
    """Every send fails like an SMTP server that refuses connections."""

    attempts = 0

    def send_messages(self, messages: Any) -> int:
        type(self).attempts += 1
        raise smtplib.SMTPConnectError(421, "Service not available (test)")


class FlakyEmailBackend(LocmemBackend):
    """Fails the first ``failures`` sends (process-wide), then delivers."""

    failures = 1
    _lock = threading.Lock()
    _count = 0

    @classmethod
    def reset(cls, failures: int = 1) -> None:
        with cls._lock:
            cls.failures, cls._count = failures, 0

    def send_messages(self, messages: Any) -> int:
        with self._lock:
            type(self)._count += 1
            fail = type(self)._count <= self.failures
        if fail:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed (test)")
        return super().send_messages(messages)


class DirectoryBackend(LocmemBackend):
    """For servers the tests run in another process: every message is written to a file
    in ``$TEST_MAIL_DIR``, so the test can count what the server sent."""

    def send_messages(self, messages: Any) -> int:
        folder = Path(os.environ["TEST_MAIL_DIR"])
        for message in messages:
            (folder / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        return len(messages)
