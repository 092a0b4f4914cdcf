"""Sessions: the one door in (``sign_in``) and out (``revoke_session``), access tokens and
refresh-token rotation.

Every way a user becomes signed in (register, the API's login, the login page, the social
callbacks and the pages' social sign-in, the admin's login form) ends in ``sign_in``: it
starts the session row, issues the tokens (or binds the browser to the row) and sends
``user_logged_in`` exactly once. Every way out (logout, logout-all, revoking a session,
refresh-token reuse, a password reset or change, a deactivation, an account claimed by a
provider) ends in ``revoke_session``: the row is revoked, so its access tokens and any
browser session bound to it die on their next request, and ``user_logged_out`` is sent
once per session ended.

Two extension points let a second factor plug in without the core knowing it
(``ainative_auth.mfa`` registers both in its ``AppConfig.ready``; without it nothing
changes):

- **the sign-in gate** (``register_sign_in_gate``): before ``sign_in`` makes a session row,
  each gate judges the ``SignInAttempt`` and may refuse it (``MFARequired``: no row, no
  token). A sign-in completed with a second factor passes ``factors`` (RFC 8176 ``amr``
  values), which the session records;
- **step-up** (``register_second_factor_check`` + ``require_recent_factor``): for a user
  with a second factor, an action that hands out or changes credentials needs the session
  to have proven one within ``STEP_UP_MAX_AGE`` (403 ``step_up_required``);
  ``record_second_factor`` marks a session as having just proven one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import user_logged_in, user_logged_out
from django.db.models import Q
from django.http import HttpRequest

from .. import clock
from ..adapter import get_adapter
from ..client import NO_CLIENT, Client
from ..conf import auth_settings
from ..credentials import browser_session, throttling
from ..credentials.keys import (
    new_salt,
    parse_refresh_token,
    refresh_token_for,
    refresh_token_matches,
)
from ..credentials.tokens import encode_access_token
from ..exceptions import (
    MFARequired,
    RefreshTokenInvalid,
    RefreshTokenReused,
    StepUpRequired,
    TokenInvalid,
)
from ..models import RefreshSession, idle_expiry
from ..signals import refresh_token_reused, session_revoked, step_up_completed
from ..users import may_authenticate

logger = logging.getLogger("ainative_auth")

# Revoked rows are kept this long (for replay detection and audit) before pruning.
REVOKED_RETENTION = timedelta(days=1)


def prune_sessions(user: Any | None = None, now: datetime | None = None) -> int:
    """Delete dead sessions (expired, or revoked a while ago); return how many."""
    now = now or clock.now()
    dead = Q(absolute_expires_at__lte=now) | Q(expires_at__lte=now)
    dead |= Q(revoked_at__lte=now - REVOKED_RETENTION)
    queryset = RefreshSession.objects.filter(dead)
    if user is not None:
        queryset = queryset.filter(user=user)
    deleted, _ = queryset.delete()
    return deleted


def start_session(
    user: Any, *, ip_address: str | None = None, user_agent: str = "", method: str = "",
    factors: Sequence[str] = (),
) -> RefreshSession:
    """A new server-side session for a fresh login (never reuses an old one). ``method``
    records how the user proved who they are ("password", "social:github", "passkey"),
    ``factors`` the second factors proven with it (``amr`` values, e.g. ``("otp",)``)."""
    now = clock.now()
    absolute = now + timedelta(seconds=int(auth_settings.SESSION_ABSOLUTE_LIFETIME))
    user_agent = (user_agent or "")[:512]
    # No cron needed: each login clears this user's dead rows.
    prune_sessions(user, now)
    return RefreshSession.objects.create(
        user=user,
        salt=new_salt(),
        created_at=now,
        last_used_at=now,
        expires_at=idle_expiry(now, absolute),
        absolute_expires_at=absolute,
        ip_address=ip_address,
        user_agent=user_agent,
        device=get_adapter().describe_device(user_agent)[:100],
        method=method[:32],
        amr=session_amr(method, factors),
        factor_verified_at=now if factors else None,
    )


# RFC 8176 method references of the first factors ("fed" for a social provider is ours).
FIRST_FACTOR_AMR = {"password": "pwd", "passkey": "hwk"}


def session_amr(method: str, factors: Sequence[str] = (), kept: Sequence[str] = ()) -> list[str]:
    """The ``amr`` of a session started by ``method`` (plus ``kept``, what it had) with
    ``factors`` proven: each value once, and ``"mfa"`` last once a second factor was."""
    first = "fed" if method.startswith("social:") else FIRST_FACTOR_AMR.get(method)
    out: list[str] = []
    for value in (*([first] if first else []), *kept, *factors):
        if value and value != "mfa" and value not in out:
            out.append(value)
    if factors or "mfa" in kept:
        out.append("mfa")
    return out


@dataclass(frozen=True)
class LoginResult:
    """A signed-in user: the new server-side session and the token response for it (None
    when a browser was signed in instead: it holds the session in its cookie)."""

    user: Any
    session: RefreshSession
    tokens: dict[str, Any] | None


# --- the sign-in gate ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignInAttempt:
    """What a sign-in gate judges: who signs in, by which ``method``, with which second
    factors already proven (``factors``, ``amr`` values; empty for a first factor alone),
    from which ``client``, and the ``browser`` being signed in (None: an API client)."""

    user: Any
    method: str
    factors: tuple[str, ...]
    client: Client
    browser: HttpRequest | None


SignInGate = Callable[[SignInAttempt], None]
_sign_in_gates: list[SignInGate] = []

def register_sign_in_gate(gate: SignInGate) -> None:
    """Add ``gate`` to the checks ``sign_in`` runs before it makes a session row (once,
    however often it is registered). A gate returns to let the sign-in go on, or raises
    an ``APIError`` (``MFARequired``) to refuse it: then no row is made and no token
    issued, and for a browser the refusal's ``mfa_token`` is kept in its Django session
    (``browser_session.pending_factor_token``)."""
    if gate not in _sign_in_gates:
        _sign_in_gates.append(gate)


def _run_gates(attempt: SignInAttempt) -> None:
    try:
        for gate in list(_sign_in_gates):
            gate(attempt)
    except MFARequired as refusal:
        if attempt.browser is not None:
            browser_session.remember_pending_factor(attempt.browser, refusal.mfa_token)
        raise


def sign_in(
    user: Any, client: Client = NO_CLIENT, *, method: str, browser: HttpRequest | None = None,
    factors: Sequence[str] = (),
) -> LoginResult:
    """The one door in, for a user the caller has already judged allowed: the sign-in
    gates (``register_sign_in_gate``; a user with MFA on and no ``factors`` is refused with
    ``MFARequired``), then a new session row, then either its tokens or, with ``browser``,
    a Django session bound to the row (``django.contrib.auth.login``, which rotates the
    session id). ``user_logged_in`` is sent exactly once either way (by Django's ``login``
    for a browser). ``factors``: the second factors proven for this sign-in (``amr``
    values), recorded on the session as a fresh second factor.

    A browser that was signed in already is signed out of that session first: a sign-in
    always starts a fresh browser session, even for the same user.
    """
    factors = tuple(factors)
    _run_gates(SignInAttempt(user, method, factors, client, browser))
    session = start_session(user, ip_address=client.ip_address, user_agent=client.user_agent,
                            method=method, factors=factors)
    if browser is None:
        user_logged_in.send(sender=user.__class__, request=client.request, user=user)
        return LoginResult(user, session, issue_tokens(user, session))
    previous = browser_session.bound_session_id(browser)
    if previous is not None:
        revoke_sessions(RefreshSession.objects.filter(pk=previous), "logout", request=browser)
    browser_session.bind(browser, user, session)
    return LoginResult(user, session, None)


def sign_out(
    session: RefreshSession, reason: str = "logout", *, client: Client = NO_CLIENT,
    browser: HttpRequest | None = None,
) -> bool:
    """The one door out of one session: ``revoke_session``, and with ``browser`` the
    Django session bound to it is flushed at once (its next request would find the row
    dead anyway). True if this call ended the session."""
    ended = revoke_session(session, reason, request=client.request)
    if browser is not None:
        browser_session.unbind(browser)
    return ended


def sign_out_browser(browser: HttpRequest, client: Client = NO_CLIENT) -> bool:
    """The pages' and the admin's "Log out": the session this browser is bound to ends
    (``sign_out``), and the Django session is flushed whatever it held. True if a live
    session was ended."""
    found = browser_session.current(browser)
    if found is None:
        browser_session.unbind(browser)
        return False
    return sign_out(found[1], "logout", client=client, browser=browser)


def issue_tokens(user: Any, session: RefreshSession) -> dict[str, Any]:
    """The token response for ``session``'s current generation."""
    adapter = get_adapter()
    authenticated_at = session.factor_verified_at or session.created_at
    access, lifetime = encode_access_token(
        user, session.id, adapter.extra_token_claims(user), amr=list(session.amr or []),
        auth_time=int(authenticated_at.timestamp()),
    )
    return {
        "access_token": access,
        "refresh_token": refresh_token_for(session.id, session.generation, session.salt),
        "token_type": "bearer",
        "expires_in": lifetime,
        "user": adapter.serialize_user(user),
    }


def refresh(token: str, *, client: Client = NO_CLIENT) -> dict[str, Any]:
    """POST auth/refresh: rotate ``token``: a new refresh token and access token, the old
    one spent.

    Throttled per IP (every attempt) and per session (so one stolen token cannot be
    replayed without bound). The session is counted only once the token proved possession
    (its MAC matched): the session id is in every access token, so counting forgeries
    naming it would let anyone who saw one keep its owner from refreshing.

    - the current generation is consumed by one conditional UPDATE, so of two concurrent
      refreshes exactly one advances the session and the other sees it advanced;
    - the immediately previous generation, within ``REFRESH_REUSE_INTERVAL`` seconds of the
      rotation, gets the same successor again (lost responses, parallel tabs);
    - any other earlier generation is a replay of a stolen or leaked token: the whole
      session is revoked.
    """
    throttling.hit("refresh", "ip", client.ip_address)
    parsed = parse_refresh_token(token)
    if parsed is None:
        raise RefreshTokenInvalid()
    session_id, generation = parsed
    ip_address, user_agent = client.ip_address, client.user_agent
    session = RefreshSession.objects.select_related("user").filter(pk=session_id).first()
    if session is None or not refresh_token_matches(token, session_id, generation, session.salt):
        raise RefreshTokenInvalid()
    throttling.hit("refresh", "session", session_id.hex)
    now = clock.now()
    if not session.is_live(now) or not may_authenticate(session.user):
        raise RefreshTokenInvalid()

    if generation == session.generation:
        advanced = RefreshSession.objects.filter(
            pk=session_id, generation=generation, revoked_at__isnull=True
        ).update(
            generation=generation + 1,
            rotated_at=now,
            last_used_at=now,
            expires_at=idle_expiry(now, session.absolute_expires_at),
            ip_address=ip_address,
            user_agent=(user_agent or "")[:512],
        )
        if advanced:
            session.generation = generation + 1
            return issue_tokens(session.user, session)
        session.refresh_from_db()
        if session.revoked_at is not None:
            raise RefreshTokenInvalid()

    grace = timedelta(seconds=int(auth_settings.REFRESH_REUSE_INTERVAL))
    if (
        # A zero interval is strict mode: no reuse at all, even by a racing request whose
        # clock reading predates the winner's rotation.
        grace > timedelta(0)
        and generation == session.generation - 1
        and session.rotated_at is not None
        and now - session.rotated_at <= grace
    ):
        return issue_tokens(session.user, session)

    if generation < session.generation:
        revoke_session(session, "reuse_detected")
        logger.warning(
            "refresh token reuse detected; session %s of user %s revoked",
            session.id, session.user_id,
        )
        refresh_token_reused.send(sender=RefreshSession, session=session, ip_address=ip_address)
        raise RefreshTokenReused()
    raise RefreshTokenInvalid()


def revoke_session(
    session: RefreshSession, reason: str, *, request: HttpRequest | None = None
) -> bool:
    """The one door out: revoke one session; True if this call revoked it (False if it
    already was).

    One conditional UPDATE, so of concurrent revocations exactly one reports it and
    announces it: ``session_revoked`` and Django's ``user_logged_out``, once. The row is
    what every credential of the session is checked against (access tokens, the refresh
    token, a bound browser session, the admin), so each of them is refused from its next
    request on.
    """
    now = clock.now()
    changed = RefreshSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason
    )
    if changed:
        session.revoked_at, session.revoke_reason = now, reason
        session_revoked.send(sender=RefreshSession, session=session, reason=reason)
        user = session.user
        user_logged_out.send(sender=user.__class__, request=request, user=user)
    return bool(changed)


def revoke_all_sessions(
    user: Any, reason: str, *, keep: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Revoke every live session of ``user`` except ``keep``; return how many."""
    queryset = RefreshSession.objects.filter(user=user)
    if keep is not None:
        queryset = queryset.exclude(pk=keep)
    return revoke_sessions(queryset, reason, request=request)


def revoke_sessions(queryset: Any, reason: str, *, request: HttpRequest | None = None) -> int:
    """Revoke the live sessions of ``queryset`` one by one, each through
    ``revoke_session``; return how many this call revoked."""
    sessions = list(queryset.filter(revoked_at__isnull=True).select_related("user"))
    return sum(revoke_session(session, reason, request=request) for session in sessions)


def live_sessions(user: Any) -> list[RefreshSession]:
    """GET auth/sessions: the user's live sessions, most recently used first."""
    return list(RefreshSession.objects.filter(user=user).live().order_by("-last_used_at"))


def get_user_session(user: Any, session_id: Any) -> RefreshSession | None:
    """The user's live session ``session_id``; None for malformed, unknown, dead or
    another user's (they answer the same 404)."""
    try:
        session_uuid = uuid.UUID(str(session_id))
    except ValueError:
        return None
    return RefreshSession.objects.filter(pk=session_uuid, user=user).live().first()


def revoke_user_session(user: Any, session_id: Any) -> bool:
    """DELETE auth/sessions/{id}: revoke one of the user's live sessions; False if there
    is no such session (404)."""
    session = get_user_session(user, session_id)
    if session is None:
        return False
    revoke_session(session, "revoked")  # False only if a concurrent call revoked it first
    return True


# --- step-up ----------------------------------------------------------------------------

_second_factor_checks: list[Callable[[Any], bool]] = []


def register_second_factor_check(check: Callable[[Any], bool]) -> None:
    """Add ``check(user) -> bool``: whether ``user`` has a second factor (MFA on). Step-up
    applies to the users any registered check says yes for (once, however often it is
    registered)."""
    if check not in _second_factor_checks:
        _second_factor_checks.append(check)


def has_second_factor(user: Any) -> bool:
    """Whether ``user`` has MFA on (by the registered checks; False without any)."""
    return any(check(user) for check in list(_second_factor_checks))


def require_recent_factor(user: Any, session: RefreshSession | uuid.UUID | None) -> None:
    """Step-up: raise ``StepUpRequired`` (403 ``step_up_required``) when ``user`` has MFA
    on and ``session`` (the interactive session acting: a JWT's or a browser's session
    row, or its id) has not proven a second factor within ``STEP_UP_MAX_AGE`` seconds.

    Call it first in a use case that hands out or changes credentials (creating or
    rotating API keys, changing the password, changing factors, approving a device code
    or an OAuth consent). ``session=None`` means no interactive session acts (an API key
    with ``keys:write``, the admin, a management command): those are never asked for a
    second factor, so headless clients keep working. The row is read afresh: a step-up
    made by another request counts at once.
    """
    if session is None or not has_second_factor(user):
        return
    session_id = session.pk if isinstance(session, RefreshSession) else session
    verified = (RefreshSession.objects.filter(pk=session_id, user=user)
                .values_list("factor_verified_at", flat=True).first())
    max_age = timedelta(seconds=int(auth_settings.STEP_UP_MAX_AGE))
    if verified is None or clock.now() - verified > max_age:
        raise StepUpRequired()


def record_second_factor(
    session: RefreshSession, factors: Sequence[str], *, request: HttpRequest | None = None
) -> RefreshSession:
    """``session`` just proved ``factors`` (``amr`` values): its ``amr`` gains them (and
    ``"mfa"``) and ``factor_verified_at`` is now. One conditional UPDATE on a live row
    (``TokenInvalid`` if it was revoked meanwhile); ``step_up_completed`` is sent."""
    now = clock.now()
    current = (RefreshSession.objects.filter(pk=session.pk)
               .values_list("method", "amr").first())
    if current is None:
        raise TokenInvalid()
    method, kept = current
    amr = session_amr(method, tuple(factors), kept=list(kept or []))
    changed = RefreshSession.objects.filter(
        pk=session.pk, revoked_at__isnull=True
    ).update(amr=amr, factor_verified_at=now)
    if not changed:
        raise TokenInvalid()
    session.amr, session.factor_verified_at = amr, now
    step_up_completed.send(sender=RefreshSession, user=session.user, session=session,
                           factors=list(factors), request=request)
    return session
