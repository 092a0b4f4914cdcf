"""The base view every ainative_auth endpoint uses, whatever the project's DRF settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import throttling
from ..adapter import get_adapter
from ..authentication import default_authentication_classes
from ..exceptions import exception_handler
from ..parsers import StrictJSONParser


class BaseAPIView(APIView):
    """JSON in, JSON out, our error body, ``Cache-Control: no-store`` on every answer.

    Authentication, permissions, parsers, renderers and throttles are set here rather than
    taken from ``REST_FRAMEWORK``, so a project's defaults cannot weaken these endpoints.
    """

    authentication_classes: list = []
    permission_classes: list = [AllowAny]
    parser_classes: list = [StrictJSONParser]
    renderer_classes: list = [JSONRenderer]
    throttle_classes: list = []

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return exception_handler

    def get_authenticate_header(self, request: Request) -> str:
        # A 401 must carry WWW-Authenticate (RFC 9110), also on login and refresh.
        return super().get_authenticate_header(request) or 'Bearer realm="api"'

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response

    # helpers for subclasses
    def client_ip(self, request: HttpRequest) -> str:
        return get_adapter().get_client_ip(request)

    def user_agent(self, request: HttpRequest) -> str:
        return str(request.META.get("HTTP_USER_AGENT", ""))[:512]

    def throttle_ip(self, request: HttpRequest, scope: str) -> None:
        throttling.hit(scope, "ip", self.client_ip(request))


class AuthenticatedAPIView(BaseAPIView):
    """Bearer token or X-API-Key; ``request.user`` is the owner either way."""

    permission_classes = [IsAuthenticated]

    def get_authenticators(self) -> list:
        return [klass() for klass in default_authentication_classes()]
