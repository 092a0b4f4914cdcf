from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ..adapter import get_adapter
from ..client import Client
from ..parsers import StrictFormParser, StrictJSONParser
from ..permissions import HasScope
from ..serializers import (
    ErrorSerializer,
    LoginFormSerializer,
    LoginSerializer,
    ProfileUpdateSerializer,
    RegisterSerializer,
    TokenResponseSerializer,
    UserSerializer,
)
from ..services import accounts
from .base import AuthenticatedAPIView, BaseAPIView

ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 415, 429)}


class RegisterView(BaseAPIView):
    @extend_schema(
        request=RegisterSerializer,
        responses={201: TokenResponseSerializer, 409: ErrorSerializer, **ERRORS},
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
        request={"application/json": LoginSerializer,
                 "application/x-www-form-urlencoded": LoginFormSerializer},
        responses={200: TokenResponseSerializer, 403: ErrorSerializer, **ERRORS},
        summary="Log in with email and password",
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

    @extend_schema(responses={200: UserSerializer, 401: ErrorSerializer},
                   summary="The current user")
    def get(self, request: Request) -> Response:
        return Response(get_adapter().serialize_user(request.user))

    @extend_schema(request=ProfileUpdateSerializer,
                   responses={200: UserSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
                   summary="Change the current user's name")
    def patch(self, request: Request) -> Response:
        serializer = ProfileUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = accounts.update_profile(request.user, **serializer.validated_data)
        return Response(get_adapter().serialize_user(user))
