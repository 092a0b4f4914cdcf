"""argon2id with explicit parameters and bounded concurrency."""

from __future__ import annotations

import threading
from typing import Any

from django.contrib.auth.hashers import Argon2PasswordHasher

# One semaphore per process, shared by every instance (Django makes a hasher per call).
_SLOTS = threading.BoundedSemaphore(4)


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """argon2id, RFC 9106 "low memory" profile: t=3, m=64 MiB, p=4.

    Django's defaults (t=2, m=100 MiB, p=8) are compliant but cost 100 MiB per concurrent
    login. These parameters meet OWASP's and ASVS's argon2id rows and cost about 60-120 ms
    on a current server core. At most four hashes run at once per process (64 MiB each),
    so a login storm queues instead of exhausting memory. Stored hashes keep Django's
    ``argon2`` prefix, so existing hashes verify and are upgraded on the next login.
    """

    time_cost = 3
    memory_cost = 65536
    parallelism = 4

    def encode(self, password: str, salt: str) -> str:
        with _SLOTS:
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with _SLOTS:
            return super().verify(password, encoded)

    def harden_runtime(self, password: str, encoded: str) -> Any:
        with _SLOTS:
            return super().harden_runtime(password, encoded)
