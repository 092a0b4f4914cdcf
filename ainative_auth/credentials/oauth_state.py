"""OAuth transactions without cookies or Django sessions.

An SPA has no server session to keep a ``state`` in (djoser's "State could not be found in
server-side session data"), so the state is the handle: ``GET auth/{provider}/authorize``
makes a random state, keeps what belongs to it server-side in the cache named by
``OAUTH_CACHE`` (the provider, the exact ``redirect_uri``, the PKCE ``code_verifier``, the
OIDC ``nonce``, and for a connect the user), and hands the SPA only the state and the
authorization URL. The callback presents the state back; it is consumed by one atomic
cache delete, so it works once, and only for the provider, redirect_uri (and user) it
was issued for.

Our states carry an HMAC, so one that expired or was used is still recognised as ours
(400), while a state the frontend made itself (``OAUTH_REQUIRE_STATE`` off) is left to
the frontend to check.

Also here: the ``OAUTH_REDIRECT_URIS`` allowlist (exact string match, RFC 9700 section
2.1) and the record of used authorization codes (a code works once here even if a
provider would accept it twice).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches

from .. import clock
from ..conf import auth_settings
from ..exceptions import InvalidCode, InvalidRedirectURI, InvalidState, ServiceUnavailable
from .keys import signing_key, verification_keys

logger = logging.getLogger("ainative_auth")

# Seconds a used authorization code is remembered. Providers let codes live at most ten
# minutes (RFC 6749 section 4.1.2 recommends that ceiling); an hour is well past it.
USED_CODE_MEMORY = 3600

_STATE_RE = re.compile(r"^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})$")


def _cache() -> Any:
    return caches[auth_settings.OAUTH_CACHE]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _unavailable(exc: Exception) -> ServiceUnavailable:
    logger.error("oauth cache unavailable: %s", type(exc).__name__)
    return ServiceUnavailable()


# --- the redirect_uri allowlist ------------------------------------------------------------


def allowed_redirect_uris(provider_id: str) -> list[str]:
    """``OAUTH_REDIRECT_URIS`` for ``provider_id``: the list itself, or its entry in the
    per-provider dict (none if the provider has no entry)."""
    configured = auth_settings.OAUTH_REDIRECT_URIS or []
    if isinstance(configured, dict):
        configured = configured.get(provider_id) or []
    if isinstance(configured, str):
        configured = [configured]
    return [uri for uri in configured if isinstance(uri, str)]


def check_redirect_uri(provider_id: str, redirect_uri: str) -> None:
    """Raise ``InvalidRedirectURI`` unless ``redirect_uri`` is exactly an allowed one.

    Exact string comparison, nothing normalised: no case folding of the host, no trailing
    slash, no added path, query, fragment, port or userinfo (RFC 9700 section 2.1).
    """
    if redirect_uri not in allowed_redirect_uris(provider_id):
        raise InvalidRedirectURI()


# --- PKCE ----------------------------------------------------------------------------------


def code_challenge(verifier: str) -> str:
    """The S256 challenge of ``verifier`` (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# --- server-issued state -------------------------------------------------------------------


@dataclass(frozen=True)
class Transaction:
    """What a state stands for: where the code may be exchanged, and the secrets of the
    exchange that never reach the browser."""

    provider: str
    redirect_uri: str
    code_verifier: str
    nonce: str | None
    user_id: str | None  # set for a connect started by a logged-in user
    expires_at: float

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "redirect_uri": self.redirect_uri,
                "code_verifier": self.code_verifier, "nonce": self.nonce,
                "user_id": self.user_id, "expires_at": self.expires_at}


def _state_mac(nonce_part: str, key: str) -> str:
    mac = hmac.new(key.encode(), f"oauth-state|{nonce_part}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).rstrip(b"=").decode("ascii")


def is_our_state(state: str) -> bool:
    """Whether ``state`` was made by ``new_transaction`` (whatever its fate since)."""
    match = _STATE_RE.match(state)
    if match is None:
        return False
    random_part, mac = match.groups()
    return any(
        hmac.compare_digest(mac.encode(), _state_mac(random_part, key).encode())
        for key in verification_keys()
    )


def _state_key(state: str) -> str:
    return f"ainative_auth:oauth:state:{_digest(state)}"


def new_transaction(
    provider_id: str, redirect_uri: str, *, with_nonce: bool, user_id: Any = None
) -> tuple[str, Transaction]:
    """A new state and its transaction, stored for ``OAUTH_STATE_LIFETIME`` seconds."""
    lifetime = int(auth_settings.OAUTH_STATE_LIFETIME)
    transaction = Transaction(
        provider=provider_id,
        redirect_uri=redirect_uri,
        # 64 random bytes: an 86-character verifier (RFC 7636 allows 43 to 128).
        code_verifier=secrets.token_urlsafe(64),
        nonce=secrets.token_urlsafe(32) if with_nonce else None,
        user_id=None if user_id is None else str(user_id),
        expires_at=clock.time() + lifetime,
    )
    random_part = secrets.token_urlsafe(32)
    state = f"{random_part}.{_state_mac(random_part, signing_key())}"
    try:
        _cache().set(_state_key(state), transaction.as_dict(), timeout=lifetime + 1)
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        raise _unavailable(exc) from exc
    return state, transaction


def take_transaction(
    state: str | None,
    provider_id: str,
    redirect_uri: str,
    *,
    user_id: Any = None,
    require: bool = False,
) -> Transaction | None:
    """Consume the transaction of ``state``; None for a state that is not ours (or none)
    when ``require`` is false: the frontend made it and checks it itself.

    Raises ``InvalidState`` when a state is required and missing or not ours, and for a
    state of ours that is unknown, expired, already used, or issued for another provider,
    redirect_uri or user (``user_id`` given: a connect, which needs a state its user
    started). A mismatched state is consumed all the same: it was presented once.
    """
    if not state or not is_our_state(state):
        if require:
            raise InvalidState()
        return None
    key = _state_key(state)
    try:
        cache = _cache()
        data = cache.get(key)
        # The delete is the atomic step (one DEL on Redis, under a lock in-process): of two
        # requests presenting the same state at once, exactly one sees True.
        consumed = data is not None and bool(cache.delete(key))
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        raise _unavailable(exc) from exc
    if not consumed or not isinstance(data, dict):
        raise InvalidState()
    transaction = Transaction(**data)
    if (
        transaction.expires_at <= clock.time()
        or transaction.provider != provider_id
        or transaction.redirect_uri != redirect_uri
        or (user_id is not None and transaction.user_id != str(user_id))
    ):
        raise InvalidState()
    return transaction


# --- single-use codes ----------------------------------------------------------------------


def claim_code(provider_id: str, code: str) -> None:
    """Record ``code`` as used; raise ``InvalidCode`` if it already was.

    Checked before the code is sent anywhere: a replayed code never reaches the provider,
    and of two concurrent callbacks with one code exactly one goes on (``cache.add`` is
    atomic). Only a digest of the code is kept.
    """
    key = f"ainative_auth:oauth:code:{provider_id}:{_digest(code)}"
    try:
        added = _cache().add(key, True, timeout=USED_CODE_MEMORY)
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        raise _unavailable(exc) from exc
    if not added:
        raise InvalidCode()
