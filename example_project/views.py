"""The example project's own API: protected endpoints, written as a project would.

``GET /api/v1/public/credits/balance`` takes an API key (``X-API-Key``, scope
``credits:read``) or a JWT (``Authorization: Bearer``, not scope-limited): the seed's
Python and JavaScript snippets work against ``make run``.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ainative_auth.authentication import default_authentication_classes
from ainative_auth.permissions import HasScope


class CreditsBalanceView(APIView):
    # The app's own list: API keys first (when both headers are sent, the key decides),
    # then the OAuth server's access tokens for this API (when it is installed), then
    # session JWTs. A key or an OAuth token needs credits:read; a session is not limited.
    permission_classes = [IsAuthenticated, HasScope.require("credits:read")]

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [klass() for klass in default_authentication_classes()]

    @extend_schema(
        responses={
            200: inline_serializer("CreditsBalance", {
                "balance": serializers.IntegerField(),
                "currency": serializers.CharField(),
                "user_id": serializers.IntegerField(),
            }),
            # 401, 403 (a key without credits:read), 429 (the key's rate) and 503 are
            # added by ainative_auth.schema.AutoSchema, from the classes above.
        },
        summary="The caller's credit balance (example of a protected endpoint)",
        description="An API key needs the scope `credits:read`; a JWT session is not "
                    "scope-limited.",
    )
    def get(self, request: Request) -> Response:
        # A real project would read its ledger here; the example has none.
        return Response({"balance": 0, "currency": "credits", "user_id": request.user.pk})


@require_safe
def whoami(request: HttpRequest) -> JsonResponse:
    """``GET /api/protected/whoami``: a plain Django view behind ``AuthRequiredMiddleware``,
    which has already judged the credential (a browser session, an API key or a Bearer
    token) and set ``request.user``; it needs no authentication code of its own."""
    return JsonResponse({"id": request.user.pk, "email": request.user.email})
