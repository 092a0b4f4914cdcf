"""DRF permission classes."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .adapter import get_adapter
from .authentication import AccessToken
from .exceptions import EmailNotVerified, InsufficientScope, SessionRequired
from .models import APIKey


class IsSessionAuthenticated(BasePermission):
    """Only a JWT session (not an API key): logout and session management."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if not isinstance(request.auth, AccessToken):
            raise SessionRequired()
        return True


class HasVerifiedEmail(BasePermission):
    """The user's current address is verified (allauth's ``EmailAddress``), else 403
    ``email_not_verified``. Anonymous requests are left to ``IsAuthenticated`` (401)::

        permission_classes = [IsAuthenticated, HasVerifiedEmail]
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if not get_adapter().is_email_verified(request.user):
            raise EmailNotVerified("Verify your email address to use this endpoint.")
        return True


def scopes_grant(granted: Iterable[str], needed: Iterable[str]) -> bool:
    """Whether ``granted`` covers every scope in ``needed`` ("*" covers everything)."""
    granted = set(granted)
    return "*" in granted or set(needed) <= granted


def is_scope_limited(auth: Any) -> bool:
    """Whether ``request.auth`` is a credential limited by scopes: an API key, or a token an
    app's resource server accepted on the user's behalf (the OAuth server's access
    tokens), anything with ``has_scope``. A user's own session (its JWT, the browser's
    session) is not: it may do what its user may."""
    return callable(getattr(auth, "has_scope", None))


def refused_here(auth: Any) -> InsufficientScope:
    """The 403 of a scope-limited credential on an endpoint that declares no scope for it."""
    what = "an API key" if isinstance(auth, APIKey) else "a token"
    return InsufficientScope(f"This endpoint cannot be used with {what}.")


class HasScope(BasePermission):
    """API keys must hold the view's scopes; JWT sessions are not scope-limited.

    Declare the scopes either on the permission::

        permission_classes = [IsAuthenticated, HasScope.require("credits:read")]

    or on the view, for all methods or per method (a method missing from the dict is
    closed to API keys)::

        permission_classes = [IsAuthenticated, HasScope]
        required_scopes = {"GET": [], "PATCH": ["profile:write"]}

    An empty list means "any valid key". A key needs every listed scope; a key with "*"
    has them all. A key lacking one gets 403 ``insufficient_scope``. Combine with
    ``IsAuthenticated``: this class only judges API keys.

    ``AuthenticatedAPIView`` refuses API keys outright (403 ``insufficient_scope``) on
    views that have no ``HasScope``: an endpoint is reachable by keys only when it says so.
    """

    required_scopes: tuple[str, ...] | None = None

    @classmethod
    def require(cls, *scopes: str) -> type[HasScope]:
        """A ``HasScope`` subclass demanding ``scopes`` on every method."""
        return type(f"HasScope_{'_'.join(scopes) or 'any'}", (cls,), {
            "required_scopes": tuple(scopes),
        })

    def scopes_for(self, request: Request, view: Any) -> tuple[str, ...] | None:
        """The scopes this request needs; None when API keys may not use it at all."""
        if self.required_scopes is not None:
            return self.required_scopes
        declared = getattr(view, "required_scopes", None)
        if declared is None:
            return None
        if isinstance(declared, dict):
            method = request.method or ""
            if method not in declared and method in ("HEAD", "OPTIONS"):
                method = "GET"
            scopes = declared.get(method)
            return None if scopes is None else tuple(scopes)
        return tuple(declared)

    def has_permission(self, request: Request, view: Any) -> bool:
        key: Any = request.auth
        if not is_scope_limited(key):
            return True  # JWT sessions (and anonymous requests, for IsAuthenticated to judge)
        needed = self.scopes_for(request, view)
        if needed is None:
            if not hasattr(view, (request.method or "").lower()):
                return True  # a method the view does not have: its 405, for every caller
            raise refused_here(key)
        missing = [scope for scope in needed if not key.has_scope(scope)]
        if missing:
            # The challenge names every scope the request needs, not only the missing
            # ones: a client re-authorizes for the union (MCP step-up).
            raise InsufficientScope(
                f"The {'API key' if isinstance(key, APIKey) else 'token'} lacks the scope "
                f"{', '.join(missing)} needed here.",
                scopes=needed,
            )
        return True


def key_scopes(view: Any, method: str) -> tuple[str, ...] | None:
    """May a scope-limited credential (an API key, an OAuth token) use ``method`` on
    ``view``, and with which scopes: every ``HasScope`` of the view's permissions together
    (an empty tuple: any valid one), or None when one of them names no scopes for the
    method (``AuthenticatedAPIView`` adds a bare ``HasScope`` to a view that has none, so
    there keys are refused unless the view says otherwise).

    The one rule: each ``HasScope`` enforces its part of it on a request
    (``scopes_for``, on the permissions DRF already made), and the schema and the
    protected-resource metadata describe it whole (``schema.api_key_scopes``).
    """
    request = SimpleNamespace(method=method.upper())
    needed: list[str] = []
    for permission in view.get_permissions():
        if isinstance(permission, HasScope):
            scopes = permission.scopes_for(request, view)  # type: ignore[arg-type]
            if scopes is None:
                return None
            needed.extend(scopes)
    return tuple(needed)
