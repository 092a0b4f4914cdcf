"""DRF authentication classes.

Each answers three ways: ``None`` (not my scheme), ``(user, auth)``, or raise (my scheme,
wrong credentials). The hot path only reads: no signals, no cleanup, no writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from .exceptions import TokenInvalid
from .models import RefreshSession
from .tokens import InvalidAccessToken, decode_access_token


@dataclass(frozen=True)
class AccessToken:
    """``request.auth`` for a JWT request: its claims and the live session behind it."""

    claims: dict[str, Any]
    session: RefreshSession

    @property
    def session_id(self) -> Any:
        return self.session.id


class JWTAuthentication(BaseAuthentication):
    """``Authorization: Bearer <access token>``, checked against its session every time.

    Logout, logout-all, password change and deactivation take effect on the very next
    request: the session row (with its user, in the same query) must be live.
    """

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = token.strip()
        if not token or " " in token:
            raise TokenInvalid("Invalid Authorization header.")
        try:
            claims = decode_access_token(token)
        except InvalidAccessToken as exc:
            raise TokenInvalid() from exc
        now = timezone.now()
        session = (
            RefreshSession.objects.select_related("user")
            .filter(pk=claims["sid"], revoked_at__isnull=True, absolute_expires_at__gt=now)
            .first()
        )
        if session is None or str(session.user_id) != claims["sub"]:
            raise TokenInvalid()
        user = session.user
        if getattr(user, "is_active", True) is False:
            raise TokenInvalid()
        return user, AccessToken(claims=claims, session=session)

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'


def default_authentication_classes() -> list[type[BaseAuthentication]]:
    """The classes on ainative_auth's protected views; an API key, when sent, decides."""
    return [JWTAuthentication]
