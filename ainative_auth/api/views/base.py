"""The base view every ainative_auth endpoint uses, whatever the project's DRF settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...authentication import default_authentication_classes, refuse_credentials_in_query
from ...credentials import signatures
from ...exceptions import (
    LengthRequired,
    SignatureRequired,
    challenge,
    exception_handler,
)
from ...models import APIKey
from ...parsers import StrictJSONParser
from ...permissions import HasScope
from ...schema import AutoSchema


class BaseAPIView(APIView):
    """JSON in, JSON out, our error body, ``Cache-Control: no-store`` on every answer.

    Authentication, permissions, parsers, renderers, throttles and the schema class are set
    here rather than taken from ``REST_FRAMEWORK``, so a project's defaults cannot weaken
    these endpoints, and the served schema needs no setting.
    """

    schema = AutoSchema()
    authentication_classes: list = []
    permission_classes: list = [AllowAny]
    parser_classes: list = [StrictJSONParser]
    renderer_classes: list = [JSONRenderer]
    throttle_classes: list = []

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication: a chunked body would be read as empty (Django frames
        # bodies by Content-Length only), so the request is refused instead of misread.
        if request.META.get("HTTP_TRANSFER_ENCODING"):
            raise LengthRequired()
        # A token or key in the URL is refused on every endpoint, public ones included.
        refuse_credentials_in_query(request.META)
        super().initial(request, *args, **kwargs)

    def get_authenticate_header(self, request: Request) -> str:
        # A 401 must carry WWW-Authenticate (RFC 9110), also on login and refresh (DRF
        # turns a 401 without one into a 403); the exception handler adds `error`.
        return challenge(request)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


class AuthenticatedAPIView(BaseAPIView):
    """Bearer token or X-API-Key; ``request.user`` is the owner either way.

    API keys are denied by default: a view whose permissions have no ``HasScope`` gets a
    bare one, which names no scopes and so refuses every scope-limited credential
    (``permissions.key_scopes``). A view is open to keys only when it declares scopes. So a
    new endpoint (change password, social connect, ...) is never reachable with a leaked
    agent key by accident.
    """

    permission_classes = [IsAuthenticated]
    # Views that create or change credentials (the API-key endpoints): there a key with
    # ``require_signature`` must sign every write with RFC 9421, even where
    # ``SIGNATURE_V1_ALLOW_WRITES`` lets v1 write elsewhere. A v1 signature signs no
    # method, path or body, so a captured one must never turn into a new key, a new
    # secret or a registered public key.
    manages_credentials = False

    def get_authenticators(self) -> list:
        return [klass() for klass in default_authentication_classes()]

    def get_permissions(self) -> list[Any]:
        permissions: list[Any] = list(super().get_permissions())
        if not any(isinstance(permission, HasScope) for permission in permissions):
            permissions.append(HasScope())
        return permissions

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        key = request.auth
        if not isinstance(key, APIKey):
            return
        if (self.manages_credentials and key.require_signature
                and signatures.is_v1(request.META)
                and request.method not in signatures.SAFE_METHODS):
            raise SignatureRequired(signatures.V2_NEEDED_TO_WRITE)
