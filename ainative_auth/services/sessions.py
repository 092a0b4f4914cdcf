"""Sessions, access tokens and refresh-token rotation."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from .. import clock
from ..adapter import get_adapter
from ..client import NO_CLIENT, Client
from ..conf import auth_settings
from ..credentials import throttling
from ..credentials.keys import (
    new_salt,
    parse_refresh_token,
    refresh_token_for,
    refresh_token_matches,
)
from ..credentials.tokens import encode_access_token
from ..exceptions import RefreshTokenInvalid, RefreshTokenReused
from ..models import RefreshSession
from ..signals import refresh_token_reused, session_revoked
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
    user: Any, *, ip_address: str | None = None, user_agent: str = ""
) -> RefreshSession:
    """A new server-side session for a fresh login (never reuses an old one)."""
    now = clock.now()
    absolute = now + timedelta(seconds=int(auth_settings.SESSION_ABSOLUTE_LIFETIME))
    idle = now + timedelta(seconds=int(auth_settings.REFRESH_TOKEN_LIFETIME))
    user_agent = (user_agent or "")[:512]
    # No cron needed: each login clears this user's dead rows.
    prune_sessions(user, now)
    return RefreshSession.objects.create(
        user=user,
        salt=new_salt(),
        created_at=now,
        last_used_at=now,
        expires_at=min(idle, absolute),
        absolute_expires_at=absolute,
        ip_address=ip_address,
        user_agent=user_agent,
        device=get_adapter().describe_device(user_agent)[:100],
    )


def issue_tokens(user: Any, session: RefreshSession) -> dict[str, Any]:
    """The token response for ``session``'s current generation."""
    adapter = get_adapter()
    access, lifetime = encode_access_token(user, session.id, adapter.extra_token_claims(user))
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
        idle = now + timedelta(seconds=int(auth_settings.REFRESH_TOKEN_LIFETIME))
        advanced = RefreshSession.objects.filter(
            pk=session_id, generation=generation, revoked_at__isnull=True
        ).update(
            generation=generation + 1,
            rotated_at=now,
            last_used_at=now,
            expires_at=min(idle, session.absolute_expires_at),
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


def revoke_session(session: RefreshSession, reason: str) -> bool:
    """Revoke one session; True if this call revoked it (False if it already was)."""
    now = clock.now()
    changed = RefreshSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason
    )
    if changed:
        session.revoked_at, session.revoke_reason = now, reason
        session_revoked.send(sender=RefreshSession, session=session, reason=reason)
    return bool(changed)


def revoke_all_sessions(user: Any, reason: str, *, keep: uuid.UUID | None = None) -> int:
    """Revoke every live session of ``user`` except ``keep``; return how many."""
    queryset = RefreshSession.objects.filter(user=user)
    if keep is not None:
        queryset = queryset.exclude(pk=keep)
    return revoke_sessions(queryset, reason)


def revoke_sessions(queryset: Any, reason: str) -> int:
    """Revoke the live sessions of ``queryset`` one by one (each sends ``session_revoked``);
    return how many this call revoked."""
    sessions = list(queryset.filter(revoked_at__isnull=True))
    return sum(revoke_session(session, reason) for session in sessions)


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
