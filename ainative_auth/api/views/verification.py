"""Email verification: verify a mailed token, resend the link."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from ...client import Client
from ...schema import THROTTLED, error, extend_schema
from ...services import verification
from ..serializers.common import DetailSerializer, EmailRequestSerializer
from ..serializers.verification import VerifyEmailSerializer
from .base import BaseAPIView

# 400, 415 and 503 are added by ainative_auth.schema.AutoSchema.
THROTTLE = {429: error(THROTTLED)}

RESEND_ANSWER = {
    "detail": "If this address belongs to an account that still needs verifying, "
              "a new verification link is on its way.",
}


class VerifyEmailView(BaseAPIView):
    @extend_schema(
        operation_id="verify_email",
        request=VerifyEmailSerializer,
        responses={200: DetailSerializer, **THROTTLE},
        summary="Verify an email address with the token from the mail",
        description="400 `token_invalid` for a garbage, expired or used token, or one made "
                    "for an address the account no longer has. Issues no tokens.",
    )
    def post(self, request: Request) -> Response:
        serializer = VerifyEmailSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verification.verify_email(serializer.validated_data["token"], client=Client.of(request))
        return Response({"detail": "Email address verified."})


class ResendVerificationView(BaseAPIView):
    @extend_schema(
        operation_id="resend_verification",
        request=EmailRequestSerializer,
        responses={200: DetailSerializer, **THROTTLE},
        summary="Mail a new verification link",
        description="The same 200 for known, unknown and already-verified addresses.",
    )
    def post(self, request: Request) -> Response:
        serializer = EmailRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verification.resend_verification(serializer.validated_data["email"],
                                         client=Client.of(request))
        return Response(RESEND_ANSWER)
