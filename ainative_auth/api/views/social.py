"""Social login: providers, authorize, callback, and the connected accounts.

One route per provider (``auth/github/callback``, ``auth/linkedin/callback``, ...), each
view told its provider by ``as_view(provider_id=...)``, so a code only ever goes to the
provider whose endpoint received it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from ...authentication import AccessToken, JWTAuthentication, session_token
from ...client import Client
from ...permissions import IsSessionAuthenticated
from ...schema import extend_schema
from ...services import social
from ..serializers.common import ErrorSerializer, TokenResponseSerializer
from ..serializers.social import (
    AuthorizationSerializer,
    AuthorizeQuerySerializer,
    CallbackSerializer,
    ProviderSerializer,
    SocialAccountSerializer,
    single_valued,
)
from .base import AuthenticatedAPIView, BaseAPIView


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer) for code in codes}


# The session-only views: an API key is authenticated, then refused (403). (drf-spectacular
# emits this list as the security requirement; its stubs type ``auth`` as strings.)
SESSION_ONLY: Any = [{"bearerAuth": []}]


class ProviderView:
    """Mixin: the provider this route serves, set by ``as_view(provider_id=...)``."""

    provider_id: str = ""


class ProvidersView(BaseAPIView):
    @extend_schema(operation_id="list_providers",
                   responses={200: ProviderSerializer(many=True)},
                   summary="The configured social-login providers")
    def get(self, request: Request) -> Response:
        return Response(social.list_providers(Client.of(request)))


class AuthorizeView(ProviderView, BaseAPIView):
    # Anyone may start a login. A caller that sends its Bearer token gets a state bound
    # to its user, which is what connecting a provider needs (an invalid token is a 401).
    authentication_classes = [JWTAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="{provider}_authorize",
        parameters=[OpenApiParameter("redirect_uri", str, required=True,
                                     description="Exactly one of OAUTH_REDIRECT_URIS.")],
        responses={200: AuthorizationSerializer, **_errors(400, 401, 404, 429, 502, 503)},
        summary="Start a social login: the provider URL and a single-use state",
        description="`400 invalid_redirect_uri` for a redirect_uri that is not allowed; "
                    "`404 provider_not_configured`. The PKCE verifier (and the OpenID "
                    "Connect nonce) stay on the server. With a Bearer token the state is "
                    "bound to that user, for `connect`.",
    )
    def get(self, request: Request) -> Response:
        query = single_valued(request.query_params, ("redirect_uri",))
        serializer = AuthorizeQuerySerializer(data=query)
        serializer.is_valid(raise_exception=True)
        user = request.user if isinstance(request.auth, AccessToken) else None
        body = social.start_authorization(self.provider_id, **serializer.validated_data,
                                          user=user, client=Client.of(request))
        return Response(body)


class CallbackView(ProviderView, BaseAPIView):
    @extend_schema(
        operation_id="{provider}_callback",
        request=CallbackSerializer,
        responses={200: TokenResponseSerializer,
                   **_errors(400, 401, 403, 404, 409, 415, 429, 502, 503)},
        summary="Log in with the provider's authorization code",
        description="400 `invalid_redirect_uri`, `invalid_state`, `invalid_code`, "
                    "`provider_email_missing`; 401 `invalid_id_token`, "
                    "`invalid_credentials` (inactive account); 409 `account_exists` "
                    "(the email belongs to an account and the provider did not verify "
                    "it); 502 `provider_unavailable`.",
    )
    def post(self, request: Request) -> Response:
        serializer = CallbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = social.login_with_code(self.provider_id, **serializer.validated_data,
                                        client=Client.of(request))
        return Response(result.tokens)


class ConnectView(ProviderView, AuthenticatedAPIView):
    # A user session only: an API key (an agent's credential) cannot add a login method.
    permission_classes = [IsSessionAuthenticated]

    @extend_schema(
        operation_id="{provider}_connect",
        auth=SESSION_ONLY,
        request=CallbackSerializer,
        responses={201: SocialAccountSerializer, 200: SocialAccountSerializer,
                   **_errors(400, 401, 403, 404, 409, 415, 429, 502, 503)},
        summary="Connect a provider account to the logged-in user",
        description="Needs a `state` from `authorize` called with this user's Bearer "
                    "token. 201 when connected now, 200 when it already was; 409 "
                    "`social_account_taken` when another user has it.",
    )
    def post(self, request: Request) -> Response:
        serializer = CallbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account, created = social.connect(request.user, self.provider_id,
                                          **serializer.validated_data,
                                          session=session_token(request).session,
                                          client=Client.of(request))
        return Response(SocialAccountSerializer(account).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SocialAccountListView(AuthenticatedAPIView):
    permission_classes = [IsSessionAuthenticated]

    @extend_schema(operation_id="list_social_accounts",
                   auth=SESSION_ONLY,
                   responses={200: SocialAccountSerializer(many=True), **_errors(401, 403)},
                   summary="The logged-in user's connected provider accounts")
    def get(self, request: Request) -> Response:
        accounts = social.list_social_accounts(request.user)
        return Response(SocialAccountSerializer(accounts, many=True).data)


class SocialAccountDetailView(AuthenticatedAPIView):
    permission_classes = [IsSessionAuthenticated]

    @extend_schema(operation_id="disconnect_social_account",
                   auth=SESSION_ONLY,
                   request=None, responses={204: None, **_errors(401, 403, 404, 409)},
                   summary="Disconnect a provider account",
                   description="409 `last_login_method` when it is the user's only way to "
                               "log in (no usable password, no other provider account).")
    def delete(self, request: Request, account_id: str) -> Response:
        social.disconnect(request.user, account_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
