from __future__ import annotations

from drf_spectacular.utils import extend_schema_view
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ...adapter import get_adapter
from ...client import Client
from ...parsers import StrictFormParser, StrictJSONParser
from ...permissions import HasScope
from ...schema import THROTTLED, error, extend_schema
from ...services import accounts
from ..serializers.accounts import (
    LoginFormSerializer,
    LoginSerializer,
    ProfileUpdateSerializer,
    RegisterSerializer,
)
from ..serializers.common import TokenResponseSerializer, UserSerializer
from .base import AuthenticatedAPIView, BaseAPIView

# 400, 415 and 503 (and, on authenticated views, 401/403/429) are added by
# ainative_auth.schema.AutoSchema; these are the ones particular to each endpoint.


class RegisterView(BaseAPIView):
    @extend_schema(
        operation_id="register",
        request=RegisterSerializer,
        responses={
            201: TokenResponseSerializer,
            403: error("`signup_closed`: the project does not let this address sign up."),
            409: error("`email_taken`: an account with this address exists (its owner is "
                       "told by mail)."),
            429: error(THROTTLED),
        },
        summary="Create an account and log in",
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = accounts.register_and_login(**serializer.validated_data,
                                             client=Client.of(request))
        return Response(result.tokens, status=status.HTTP_201_CREATED)


class LoginView(BaseAPIView):
    # JSON {email, password}, or the OAuth2 password form (username= or email=, password=).
    parser_classes = [StrictJSONParser, StrictFormParser]

    @extend_schema(
        operation_id="login",
        # The form is described in words only: one body type per operation is what client
        # generators handle (two make openapi-python-client emit a login that cannot import).
        request={"application/json": LoginSerializer},
        responses={
            200: TokenResponseSerializer,
            401: error("`invalid_credentials`: one answer for an unknown address, a wrong "
                       "password and an inactive account."),
            403: error("`email_not_verified`: only when ALLOW_UNVERIFIED_LOGIN is off, and "
                       "only after the password was right."),
            429: error(THROTTLED),
        },
        summary="Log in with email and password",
        description="JSON `{email, password}`. Clients that post forms may send the "
                    "OAuth2 password form instead (`application/x-www-form-urlencoded`) "
                    "with the address as `username` (RFC 6749) or as `email` (one of "
                    "them, not both) and `password`; the answer is the same. A key "
                    "repeated in the form, like a duplicate JSON key, is 400 "
                    "`malformed_request`.",
    )
    def post(self, request: Request) -> Response:
        form = request.content_type.startswith("application/x-www-form-urlencoded")
        serializer = (LoginFormSerializer if form else LoginSerializer)(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = accounts.login_with_password(**serializer.validated_data,
                                              client=Client.of(request))
        return Response(result.tokens)


class MeView(AuthenticatedAPIView):
    # Any valid API key may read its owner's profile; changing it needs "profile:write"
    # (or "*"). JWT sessions are not scope-limited.
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes = {"GET": [], "PATCH": ["profile:write"]}

    @extend_schema(operation_id="get_me",
                   responses={200: UserSerializer}, summary="The current user",
                   description="Any valid API key of the user may read it.")
    def get(self, request: Request) -> Response:
        return Response(get_adapter().serialize_user(request.user))

    @extend_schema(operation_id="update_me",
                   request=ProfileUpdateSerializer, responses={200: UserSerializer},
                   summary="Change the current user's name",
                   description="A partial update: `name` is optional, and `{}` changes "
                               "nothing (200). Any other field is 400 `validation_error`. "
                               "An API key needs the scope `profile:write`.")
    def patch(self, request: Request) -> Response:
        serializer = ProfileUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = accounts.update_profile(request.user, **serializer.validated_data)
        return Response(get_adapter().serialize_user(user))



@extend_schema_view(
    get=extend_schema(operation_id="get_me_at_auth_path",
                      summary="The current user (the same as `GET users/me`)"),
    patch=extend_schema(operation_id="update_me_at_auth_path",
                        summary="Change the current user's name (the same as "
                                "`PATCH users/me`)"),
)
class AuthMeView(MeView):
    # `users/me` under the AINative API's other path, `auth/me`: the same view, with
    # operation ids of its own so that a generated client has one function per path.
    pass
