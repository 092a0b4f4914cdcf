"""The MFA and passkey endpoints. Managing factors needs a user session (an API key is
403 ``session_required``); the challenge and the passkey sign-in need nothing but what
they carry."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from ..api.serializers.common import DetailSerializer, TokenResponseSerializer
from ..api.views.base import AuthenticatedAPIView, BaseAPIView
from ..authentication import session_token
from ..client import Client
from ..permissions import IsSessionAuthenticated
from ..schema import THROTTLED, error, extend_schema
from .serializers import (
    ChallengeSerializer,
    CodeSerializer,
    FactorSerializer,
    OptionsSerializer,
    PasskeyCreatedSerializer,
    PasskeyLoginSerializer,
    PasskeyRegisterSerializer,
    PasskeyRenameSerializer,
    PasskeySerializer,
    RecoveryCodesSerializer,
    SetupSerializer,
    StatusSerializer,
    VerifiedSerializer,
)
from .services import challenge, factors, passkeys

STEP_UP = error("`step_up_required`: prove a second factor first (POST auth/mfa/step-up).")
CODE = error("`mfa_code_invalid` (malformed, wrong or already used) or `passkey_invalid`.")


class SessionView(AuthenticatedAPIView):
    permission_classes = [IsSessionAuthenticated]


def _factor(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": data.get("code"), "credential": data.get("credential")}


class SetupView(SessionView):
    @extend_schema(operation_id="mfa_setup", request=None,
                   responses={200: SetupSerializer, 403: STEP_UP,
                              409: error("`mfa_already_enabled`.")},
                   summary="Start setting up an authenticator app (TOTP)",
                   description="The secret, its otpauth URI and QR code, and 10 recovery "
                               "codes (shown once). Active after POST auth/mfa/verify. "
                               "403 `email_not_verified` for an unverified address.")
    def post(self, request: Request) -> Response:
        body = factors.begin_totp_setup(request.user, via=session_token(request).session)
        return Response(body)


class VerifyView(SessionView):
    @extend_schema(operation_id="mfa_verify", request=CodeSerializer,
                   responses={200: VerifiedSerializer, 400: CODE, 429: error(THROTTLED),
                              409: error("`mfa_setup_required` or `mfa_already_enabled`.")},
                   summary="Turn the authenticator app on with its first code")
    def post(self, request: Request) -> Response:
        serializer = CodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = factors.confirm_totp(request.user, serializer.validated_data["code"],
                                    via=session_token(request).session,
                                    client=Client.of(request))
        return Response(body)


class StatusView(SessionView):
    @extend_schema(operation_id="mfa_status", responses={200: StatusSerializer},
                   summary="This user's second factors")
    def get(self, request: Request) -> Response:
        return Response(StatusSerializer(factors.mfa_status(request.user)).data)


class DisableView(SessionView):
    @extend_schema(operation_id="mfa_disable", request=FactorSerializer,
                   responses={200: DetailSerializer, 400: CODE, 429: error(THROTTLED),
                              409: error("`mfa_not_enabled`.")},
                   summary="Turn MFA off: every factor and recovery code is removed",
                   description="With a current code (TOTP or recovery code) or a passkey "
                               "assertion.")
    def post(self, request: Request) -> Response:
        serializer = FactorSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        factors.disable_mfa(request.user, **_factor(serializer.validated_data),
                            via=session_token(request).session, client=Client.of(request))
        return Response({"detail": "Multi-factor authentication is off."})


class RecoveryCodesView(SessionView):
    @extend_schema(operation_id="mfa_recovery_codes", request=None,
                   responses={200: RecoveryCodesSerializer, 403: STEP_UP,
                              409: error("`mfa_not_enabled`.")},
                   summary="New recovery codes (the old ones stop working)")
    def post(self, request: Request) -> Response:
        body = factors.regenerate_recovery_codes(
            request.user, via=session_token(request).session, client=Client.of(request))
        return Response(body)


class ChallengeView(BaseAPIView):
    @extend_schema(operation_id="mfa_challenge", request=ChallengeSerializer,
                   responses={200: TokenResponseSerializer, 400: CODE,
                              401: error("`mfa_token_invalid`: sign in again."),
                              429: error(THROTTLED)},
                   summary="Complete a sign-in that answered `mfa_required`",
                   description="`mfa_token` from the 403, and a code (TOTP or recovery "
                               "code) or a passkey assertion.")
    def post(self, request: Request) -> Response:
        serializer = ChallengeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = challenge.complete_challenge(data["mfa_token"], **_factor(data),
                                              client=Client.of(request))
        return Response(result.tokens)


class StepUpView(SessionView):
    @extend_schema(operation_id="mfa_step_up", request=FactorSerializer,
                   responses={200: TokenResponseSerializer, 400: CODE, 429: error(THROTTLED),
                              409: error("`mfa_not_enabled`.")},
                   summary="Prove a second factor now (step-up): a fresh token response",
                   description="The access token carries `amr` and `auth_time`.")
    def post(self, request: Request) -> Response:
        serializer = FactorSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = challenge.step_up(request.user, session_token(request).session,
                                 **_factor(serializer.validated_data),
                                 client=Client.of(request))
        return Response(body)


class PasskeyRegisterOptionsView(SessionView):
    @extend_schema(operation_id="passkey_register_options", request=None,
                   responses={200: OptionsSerializer, 403: STEP_UP},
                   summary="PublicKeyCredentialCreationOptionsJSON for a new passkey")
    def post(self, request: Request) -> Response:
        body = passkeys.registration_options(request.user, via=session_token(request).session)
        return Response(body)


def _passkey(passkey: Any) -> dict[str, Any]:
    return dict(PasskeySerializer(passkey).data)


class PasskeyRegisterView(SessionView):
    @extend_schema(operation_id="passkey_register", request=PasskeyRegisterSerializer,
                   responses={201: PasskeyCreatedSerializer, 400: error("`passkey_invalid`."),
                              403: STEP_UP},
                   summary="Register a passkey (the attestation from navigator.credentials.create)")
    def post(self, request: Request) -> Response:
        serializer = PasskeyRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        passkey, codes = passkeys.register(
            request.user, serializer.validated_data["credential"],
            serializer.validated_data.get("name", ""), via=session_token(request).session,
            client=Client.of(request))
        body = _passkey(passkey) | ({"backupCodes": codes} if codes else {})
        return Response(body, status=status.HTTP_201_CREATED)


class PasskeyListView(SessionView):
    @extend_schema(operation_id="list_passkeys", responses={200: PasskeySerializer(many=True)},
                   summary="This user's passkeys")
    def get(self, request: Request) -> Response:
        return Response(PasskeySerializer(passkeys.list_passkeys(request.user), many=True).data)


# The passkey's ``id`` from the list: a positive 64-bit number (a larger one is a 404 as
# well, never an overflow: Django finds no row for a value the column cannot hold).
PASSKEY_ID = OpenApiParameter(
    "passkey_id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, OpenApiParameter.PATH)


class PasskeyDetailView(SessionView):
    @extend_schema(operation_id="rename_passkey", request=PasskeyRenameSerializer,
                   parameters=[PASSKEY_ID],
                   responses={200: PasskeySerializer, 404: error("No such passkey.")},
                   summary="Rename a passkey")
    def patch(self, request: Request, passkey_id: int) -> Response:
        serializer = PasskeyRenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        passkey = passkeys.rename(request.user, passkey_id, serializer.validated_data["name"])
        return Response(_passkey(passkey))

    @extend_schema(operation_id="delete_passkey", request=None, parameters=[PASSKEY_ID],
                   responses={204: None, 403: STEP_UP, 404: error("No such passkey.")},
                   summary="Remove a passkey")
    def delete(self, request: Request, passkey_id: int) -> Response:
        passkeys.delete(request.user, passkey_id, via=session_token(request).session,
                        client=Client.of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasskeyLoginOptionsView(BaseAPIView):
    @extend_schema(operation_id="passkey_login_options", request=None,
                   responses={200: OptionsSerializer, 429: error(THROTTLED)},
                   summary="PublicKeyCredentialRequestOptionsJSON to sign in with a passkey")
    def post(self, request: Request) -> Response:
        return Response(passkeys.login_options(client=Client.of(request)))


class PasskeyLoginView(BaseAPIView):
    @extend_schema(operation_id="passkey_login", request=PasskeyLoginSerializer,
                   responses={200: TokenResponseSerializer, 400: error("`passkey_invalid`."),
                              429: error(THROTTLED)},
                   summary="Sign in with a passkey (the assertion from navigator.credentials.get)")
    def post(self, request: Request) -> Response:
        serializer = PasskeyLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = passkeys.login(serializer.validated_data["credential"],
                                client=Client.of(request))
        return Response(result.tokens)
