"""DRF permission classes."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .authentication import AccessToken
from .exceptions import Forbidden


class IsSessionAuthenticated(BasePermission):
    """Only a JWT session (not an API key): logout and session management."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if not isinstance(request.auth, AccessToken):
            raise Forbidden(
                "This endpoint needs a user session (Bearer token).", "session_required"
            )
        return True
