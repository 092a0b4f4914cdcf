"""Passwords: forgot, reset with the mailed token, change while logged in."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from .. import throttling
from ..authentication import session_token
from ..email_tokens import token_owner_key
from ..emails import canonical_email, email_of
from ..permissions import IsSessionAuthenticated
from ..serializers import (
    ChangePasswordSerializer,
    DetailSerializer,
    EmailRequestSerializer,
    ErrorSerializer,
    ResetPasswordSerializer,
)
from ..services import accounts, passwords
from .base import AuthenticatedAPIView, BaseAPIView

ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 415, 429)}

FORGOT_ANSWER = {
    "detail": "If an account with this address exists, a link to reset its password "
              "is on its way.",
}


class ForgotPasswordView(BaseAPIView):
    @extend_schema(
        request=EmailRequestSerializer,
        responses={200: DetailSerializer, **ERRORS},
        summary="Mail a password-reset link",
        description="The same 200 for every well-formed address, known or not.",
    )
    def post(self, request: Request) -> Response:
        return self.email_request(
            request, "forgot_password", passwords.request_password_reset, FORGOT_ANSWER
        )


class ResetPasswordView(BaseAPIView):
    @extend_schema(
        request=ResetPasswordSerializer,
        responses={200: DetailSerializer, **ERRORS},
        summary="Set a new password with the token from the reset mail",
        description="400 `validation_error` naming `new_password` for a password the "
                    "validators refuse; 400 `token_invalid` for a garbage, expired or used "
                    "token. Success logs out every session and issues no tokens.",
    )
    def post(self, request: Request) -> Response:
        self.throttle_ip(request, "reset_password")
        serializer = ResetPasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = serializer.validated_data["token"]
        throttling.hit("reset_password", "user", token_owner_key(token))
        user = passwords.reset_password(
            token, serializer.validated_data["new_password"],
            request=request, ip_address=self.client_ip(request),
        )
        # The owner proved control of the address: lift the per-account login lockout, so
        # an attacker's failures cannot keep them out past the reset (R27). Per-IP stays.
        accounts.clear_login_failures(canonical_email(email_of(user)))
        return Response({"detail": "Your password has been reset. Log in with the new one."})


class ChangePasswordView(AuthenticatedAPIView):
    # A user session only: an API key (an agent's credential) cannot change the password.
    permission_classes = [IsSessionAuthenticated]

    @extend_schema(
        request=ChangePasswordSerializer,
        responses={200: DetailSerializer, 401: ErrorSerializer, 403: ErrorSerializer,
                   **ERRORS},
        summary="Change the password of the logged-in user",
        description="400 `invalid_current_password` when `current_password` is wrong. "
                    "Every other session is logged out; this one keeps working.",
    )
    def post(self, request: Request) -> Response:
        self.throttle_ip(request, "change_password")
        throttling.hit("change_password", "user", str(request.user.pk))
        serializer = ChangePasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        passwords.change_password(
            request.user,
            current_password=serializer.validated_data["current_password"],
            new_password=serializer.validated_data["new_password"],
            keep_session=session_token(request).session_id,
            request=request,
            ip_address=self.client_ip(request),
        )
        return Response({"detail": "Password changed. Other sessions have been logged out."})
