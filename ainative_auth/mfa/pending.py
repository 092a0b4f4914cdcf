"""Sign-ins waiting for their second factor: the ``mfa_token``.

When the sign-in gate stops a first factor, it hands out ``mfa_<43 random characters>``
and keeps, under the token's SHA-256 in the cache named by ``MFA_CACHE``, what it stands
for: the user, the would-be session's method, whether a browser (the pages) or an API
client asked, and the user's session auth hash (it changes with the password, so a
password changed meanwhile kills the token). It lives ``TOKEN_LIFETIME`` seconds and is
consumed by one atomic cache delete, so it completes at most one sign-in. The token is no
credential anywhere else: no endpoint but ``auth/mfa/challenge`` looks at it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import caches

from .. import clock
from ..conf import auth_settings
from ..exceptions import ServiceUnavailable

logger = logging.getLogger("ainative_auth")

TOKEN_LIFETIME = 300
_TOKEN_RE = re.compile(r"mfa_[A-Za-z0-9_-]{43}", re.ASCII)


@dataclass(frozen=True)
class Pending:
    user_id: str
    method: str
    browser: bool
    auth_hash: str
    expires_at: float


def _cache() -> Any:
    return caches[auth_settings.MFA_CACHE]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _key(token: str) -> str:
    return f"ainative_auth:mfa:pending:{digest(token)}"


def _unavailable(exc: Exception) -> ServiceUnavailable:
    logger.error("mfa cache unavailable: %s", type(exc).__name__)
    return ServiceUnavailable()


def is_token(value: Any) -> bool:
    return isinstance(value, str) and _TOKEN_RE.fullmatch(value) is not None


def issue(user: Any, method: str, *, browser: bool) -> str:
    token = "mfa_" + secrets.token_urlsafe(32)
    pending = Pending(str(user.pk), method, browser, user.get_session_auth_hash(),
                      clock.time() + TOKEN_LIFETIME)
    try:
        _cache().set(_key(token), asdict(pending), timeout=TOKEN_LIFETIME + 1)
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        raise _unavailable(exc) from exc
    return token


def peek(token: Any) -> Pending | None:
    """What ``token`` stands for, if it is live (not consumed)."""
    if not is_token(token):
        return None
    try:
        data = _cache().get(_key(token))
    except Exception as exc:  # noqa: BLE001
        raise _unavailable(exc) from exc
    if not isinstance(data, dict):
        return None
    pending = Pending(**data)
    return pending if pending.expires_at > clock.time() else None


def consume(token: str) -> bool:
    """Spend ``token``; True for exactly one of concurrent callers (an atomic delete)."""
    try:
        return bool(_cache().delete(_key(token)))
    except Exception as exc:  # noqa: BLE001
        raise _unavailable(exc) from exc
