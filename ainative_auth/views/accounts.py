from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ..adapter import get_adapter
from ..parsers import StrictJSONParser
from ..permissions import HasScope
from ..serializers import (
    ErrorSerializer,
    LoginSerializer,
    ProfileUpdateSerializer,
    RegisterSerializer,
    TokenResponseSerializer,
    UserSerializer,
)
from ..services import accounts, sessions
from .base import AuthenticatedAPIView, BaseAPIView

ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 415, 429)}


class RegisterView(BaseAPIView):
    @extend_schema(
        request=RegisterSerializer,
        responses={201: TokenResponseSerializer, 409: ErrorSerializer, **ERRORS},
        summary="Create an account and log in",
    )
    def post(self, request: Request) -> Response:
        self.throttle_ip(request, "register")
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = accounts.register(**serializer.validated_data, request=request)
        body = sessions.login_tokens(
            user, ip_address=self.client_ip(request), user_agent=self.user_agent(request)
        )
        return Response(body, status=status.HTTP_201_CREATED)


class LoginView(BaseAPIView):
    # JSON {email, password}, or the OAuth2 password form (username=&password=).
    parser_classes = [StrictJSONParser, FormParser]

    @extend_schema(
        request={"application/json": LoginSerializer,
                 "application/x-www-form-urlencoded": LoginSerializer},
        responses={200: TokenResponseSerializer, 403: ErrorSerializer, **ERRORS},
        summary="Log in with email and password",
    )
    def post(self, request: Request) -> Response:
        self.throttle_ip(request, "login")
        data: Any = request.data
        if request.content_type.startswith("application/x-www-form-urlencoded"):
            data = {"email": data.get("username"), "password": data.get("password")}
        serializer = LoginSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        # Counted before hashing, per address whether or not it has an account.
        accounts.count_login_attempt(email)
        user = accounts.login(request, email=email, password=serializer.validated_data["password"])
        accounts.clear_login_failures(email)
        body = sessions.login_tokens(
            user, ip_address=self.client_ip(request), user_agent=self.user_agent(request)
        )
        return Response(body)


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
