"""The OAuth server's use cases, one function each (the views call one of them).

Consent is ``approve``/``remembered``: a later step-up (MFA) wraps ``approve``. Revoking a
grant deletes every token of it in the library's table, which is what each resource
server reads on every request, so it ends them on the next request in every process.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.idp.oidc.models import Client, Token
from django.core.exceptions import ValidationError
from django.db import transaction

from .. import clock
from ..conf import auth_settings
from ..exceptions import NotFound
from ..services.sessions import require_recent_factor
from .models import Grant, SpentRefreshToken

logger = logging.getLogger("ainative_auth")


# --- consent -----------------------------------------------------------------------------


def remembered(user: Any, client_id: str, scopes: list[str], resources: list[str]) -> bool:
    """Whether ``user`` already allowed ``client_id`` exactly these scopes for exactly
    these resources (any other request shows the consent page again)."""
    grant = Grant.objects.live().filter(user=user, client_id=client_id).first()
    return bool(grant and set(grant.scopes) == set(scopes)
                and set(grant.resources) == set(resources))


@transaction.atomic
def approve(user: Any, client_id: str, scopes: list[str], resources: list[str], *,
            session: Any = None) -> Grant:
    """Record ``user``'s consent to ``client_id`` for ``scopes`` and ``resources``: the
    one live grant of this user and client, created or replaced. A consent hands out a
    credential that acts for the user, so with MFA on it needs a recent second factor of
    the approving browser's ``session`` (``sessions.require_recent_factor``: 403
    ``step_up_required``)."""
    require_recent_factor(user, session)
    now = clock.now()
    grant = (Grant.objects.select_for_update().live()
             .filter(user=user, client_id=client_id).first())
    if grant is None:
        return Grant.objects.create(user=user, client_id=client_id, scopes=sorted(scopes),
                                    resources=sorted(resources), created_at=now,
                                    updated_at=now)
    Grant.objects.filter(pk=grant.pk).update(scopes=sorted(scopes),
                                             resources=sorted(resources), updated_at=now)
    grant.scopes, grant.resources, grant.updated_at = sorted(scopes), sorted(resources), now
    return grant


# --- connected apps ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectedApp:
    grant: Grant
    client_name: str


def connected_apps(user: Any) -> list[ConnectedApp]:
    """The user's live grants, newest first, with their clients' names."""
    grants = (Grant.objects.live().filter(user=user).select_related("client")
              .order_by("-updated_at"))
    return [ConnectedApp(grant=g, client_name=g.client.name or g.client.id) for g in grants]


@transaction.atomic
def revoke_grant(user: Any, grant_id: Any) -> Grant:
    """End ``user``'s grant ``grant_id``: the grant, and every token and code the client
    holds for the user (raise ``NotFound`` for anyone else's or an unknown grant)."""
    try:
        grant = (Grant.objects.select_for_update().live()
                 .get(pk=grant_id, user=user))
    except (Grant.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        # A malformed id (not a UUID) is no grant either.
        raise NotFound("No such connected app.") from exc
    Grant.objects.filter(pk=grant.pk).update(revoked_at=clock.now())
    Token.objects.filter(user=user, client_id=grant.client_id).delete()
    logger.info("oauth grant %s revoked by its user", grant.pk)
    return grant


# --- refresh-token reuse -----------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class PresentedRefreshToken:
    """A refresh token presented at the token endpoint, as found before the library
    rotates it."""

    hash: str
    row: Token | None


def before_refresh(token: Any) -> PresentedRefreshToken | None:
    """Called inside the token endpoint's transaction, before the library: the live
    refresh token's row, locked (concurrent refreshes of one token queue here and the
    later ones find it gone), or a reuse of a spent one, which ends its whole grant.

    A spent token presented again within ``REFRESH_REUSE_INTERVAL`` seconds is a client's
    concurrent retry and only refused; later, it is a stolen copy racing the client."""
    if not isinstance(token, str) or not token:
        return None
    digest = _hash(token)
    row = (Token.objects.select_for_update()
           .filter(type=Token.Type.REFRESH_TOKEN, hash=digest).first())
    if row is not None:
        return PresentedRefreshToken(hash=digest, row=row)
    spent = SpentRefreshToken.objects.filter(hash=digest).first()
    grace = timedelta(seconds=int(auth_settings.REFRESH_REUSE_INTERVAL))
    if spent is not None and spent.spent_at + grace < clock.now():
        end_grant_tokens(spent.client_id, spent.user_id, spent.grant_id)
        logger.warning("oauth refresh token reused: grant %s of client %s ended",
                       spent.grant_id, spent.client_id)
    return PresentedRefreshToken(hash=digest, row=None)


def after_refresh(presented: PresentedRefreshToken | None, succeeded: bool) -> None:
    """Remember a refresh token the library just rotated away, with its grant."""
    if not succeeded or presented is None or presented.row is None:
        return
    row = presented.row
    grant_id = row.get_grant_id()
    if grant_id is None:
        return
    SpentRefreshToken.objects.update_or_create(
        hash=presented.hash,
        defaults={"client_id": str(row.client_id), "user_id": str(row.user_id),
                  "grant_id": grant_id, "spent_at": clock.now()},
    )


def end_grant_tokens(client_id: str, user_id: str, grant_id: str) -> None:
    Token.objects.filter(client_id=client_id, user_id=user_id,
                         data__grant_id=grant_id).delete()
    Grant.objects.live().filter(client_id=client_id, user_id=user_id).update(
        revoked_at=clock.now())


# --- registration ------------------------------------------------------------------------


def client(client_id: str) -> Client | None:
    return Client.objects.filter(pk=client_id).first()
