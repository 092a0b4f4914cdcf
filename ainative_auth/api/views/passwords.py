"""Passwords: forgot, reset with the mailed token, change while logged in."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from ...authentication import session_token
from ...client import Client
from ...permissions import IsSessionAuthenticated
from ...schema import THROTTLED, error, extend_schema
from ...services import passwords
from ..serializers.common import DetailSerializer, EmailRequestSerializer
from ..serializers.passwords import ChangePasswordSerializer, ResetPasswordSerializer
from .base import AuthenticatedAPIView, BaseAPIView

# 400, 415 and 503 (and, on authenticated views, 401/403/429) are added by
# ainative_auth.schema.AutoSchema.
THROTTLE = {429: error(THROTTLED)}

FORGOT_ANSWER = {
    "detail": "If an account with this address exists, a link to reset its password "
              "is on its way.",
}


class ForgotPasswordView(BaseAPIView):
    @extend_schema(
        operation_id="forgot_password",
        request=EmailRequestSerializer,
        responses={200: DetailSerializer, **THROTTLE},
        summary="Mail a password-reset link",
        description="The same 200 for every well-formed address, known or not.",
    )
    def post(self, request: Request) -> Response:
        serializer = EmailRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        passwords.request_password_reset(serializer.validated_data["email"],
                                         client=Client.of(request))
        return Response(FORGOT_ANSWER)


class ResetPasswordView(BaseAPIView):
    @extend_schema(
        operation_id="reset_password",
        request=ResetPasswordSerializer,
        responses={200: DetailSerializer, **THROTTLE},
        summary="Set a new password with the token from the reset mail",
        description="400 `validation_error` naming `new_password` for a password the "
                    "validators refuse; 400 `token_invalid` for a garbage, expired or used "
                    "token. Success logs out every session and issues no tokens.",
    )
    def post(self, request: Request) -> Response:
        serializer = ResetPasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        passwords.reset_password(**serializer.validated_data, client=Client.of(request))
        return Response({"detail": "Your password has been reset. Log in with the new one."})


class ChangePasswordView(AuthenticatedAPIView):
    # A user session only: an API key (an agent's credential) cannot change the password.
    permission_classes = [IsSessionAuthenticated]

    @extend_schema(
        operation_id="change_password",
        request=ChangePasswordSerializer,
        responses={200: DetailSerializer, **THROTTLE},
        summary="Change the password of the logged-in user",
        description="400 `invalid_current_password` when `current_password` is wrong. "
                    "Every other session is logged out; this one keeps working. Needs a "
                    "user session: an API key is 403 `session_required`.",
    )
    def post(self, request: Request) -> Response:
        serializer = ChangePasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        passwords.change_password(
            request.user,
            **serializer.validated_data,
            keep_session=session_token(request).session_id,
            client=Client.of(request),
        )
        return Response({"detail": "Password changed. Other sessions have been logged out."})
