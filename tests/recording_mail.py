"""An email backend that records every send attempt, in order, and fails on cue.

``RecordingBackend.reset(failures={"bounce1@example.com": exc, ...}, gate=True)``: sends to
a listed address raise that exception (every time); with ``gate`` the first send of all
blocks until ``RecordingBackend.release()``, so a test can queue everything it needs
while the background sender is provably busy with message one.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class RecordingBackend(LocmemBackend):
    lock = threading.Lock()
    attempts: list[str] = []  # the recipient of every send attempt, in order
    failures: dict[str, BaseException] = {}
    gate = threading.Event()
    delivered = threading.Event()  # set when a message to `watch` went out
    watch = ""

    @classmethod
    def reset(cls, failures: dict[str, BaseException] | None = None, *, gate: bool = False,
              watch: str = "") -> None:
        with cls.lock:
            cls.attempts = []
            cls.failures = dict(failures or {})
            cls.gate = threading.Event()
            if not gate:
                cls.gate.set()
            cls.delivered = threading.Event()
            cls.watch = watch

    @classmethod
    def release(cls) -> None:
        cls.gate.set()

    def send_messages(self, messages: Any) -> int:
        assert self.gate.wait(30), "the test never released the gate"
        for message in messages:
            (to,) = message.to
            with self.lock:
                self.attempts.append(to)
                failure = self.failures.get(to)
            if failure is not None:
                raise failure
            super().send_messages([message])
            if to == self.watch:
                self.delivered.set()
        return len(messages)
