"""argon2id with explicit parameters and bounded concurrency."""

from __future__ import annotations

import threading
from typing import Any

from django.contrib.auth.hashers import Argon2PasswordHasher

# One semaphore per process, shared by every instance (Django makes a hasher per call).
_SLOTS = threading.BoundedSemaphore(4)


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """argon2id with OWASP's first argon2id row: m=46 MiB, t=1, p=1.

    Django's defaults (t=2, m=100 MiB, p=8) are compliant but cost 100 MiB per concurrent
    login and ~200 ms of CPU. OWASP's Password Storage Cheat Sheet lists equally strong
    configurations trading memory for passes; this one (m=47104 KiB, t=1, p=1) is the
    memory-hard end of that table: ~45 ms of CPU per hash here (``make bench``), which keeps
    a login within its 60 ms CPU budget, and 46 MiB per hash. At most four hashes run at once
    per process, so a login storm queues instead of exhausting memory (184 MiB at most).
    Stored hashes keep Django's ``argon2`` prefix, so existing hashes (Django's defaults, or
    this app's earlier t=3, m=64 MiB, p=4) verify and are re-hashed on the next login.
    """

    time_cost = 1
    memory_cost = 47104
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        with _SLOTS:
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with _SLOTS:
            return super().verify(password, encoded)

    def harden_runtime(self, password: str, encoded: str) -> Any:
        with _SLOTS:
            return super().harden_runtime(password, encoded)
