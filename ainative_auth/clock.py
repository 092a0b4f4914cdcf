"""The one clock of ainative_auth.

Every reading of "now" (session and key expiry, token ``iat``/``exp``, throttle windows,
email-token timestamps) goes through ``clock.now()`` or ``clock.time()``, both derived
from ``time()`` below. Call them through the module (``clock.now()``, never
``from .clock import now``), so a test that replaces ``clock.time`` freezes every one of
them at once (the ``clock`` fixture in ``tests/conftest.py``).
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime


def time() -> float:
    """Seconds since the epoch."""
    return _time.time()


def now() -> datetime:
    """The current moment as an aware UTC datetime (what ``timezone.now()`` gives)."""
    return datetime.fromtimestamp(time(), tz=UTC)
