"""Bodies of the MFA and passkey endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..api.serializers.fields import StrictCharField

NAME_MAX_LENGTH = 100


class CredentialField(serializers.JSONField):
    """A WebAuthn credential: the JSON object of ``PublicKeyCredential.toJSON()``."""

    default_error_messages = {"invalid": "Must be the credential object."}

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("invalid")
        return value


class CodeSerializer(serializers.Serializer):
    # Not trimmed, not coerced: a number or a padded string is judged (and refused) as sent.
    code = StrictCharField(max_length=64, trim_whitespace=False)


class FactorSerializer(serializers.Serializer):
    """``{"code"}`` (a TOTP or a recovery code) or ``{"credential"}`` (a passkey
    assertion), exactly one."""

    code = StrictCharField(max_length=64, trim_whitespace=False, required=False)
    credential = CredentialField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("code" in attrs) == ("credential" in attrs):
            raise serializers.ValidationError("Send either a code or a passkey credential.",
                                              code="required")
        return attrs


class ChallengeSerializer(FactorSerializer):
    mfa_token = StrictCharField(max_length=128)


class SetupSerializer(serializers.Serializer):
    secret = serializers.CharField()
    otpauth_uri = serializers.CharField()
    qrCodeUrl = serializers.CharField(help_text="The otpauth URI as a QR code, a data: image.")  # noqa: N815
    backupCodes = serializers.ListField(child=serializers.CharField())  # noqa: N815


class RecoveryCodesSerializer(serializers.Serializer):
    backupCodes = serializers.ListField(child=serializers.CharField())  # noqa: N815


class VerifiedSerializer(serializers.Serializer):
    verified = serializers.BooleanField()


class FactorItemSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["totp", "webauthn"])
    id = serializers.IntegerField(required=False, help_text="Passkeys only.")
    name = serializers.CharField(required=False, help_text="Passkeys only.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class StatusSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    factors = FactorItemSerializer(many=True)
    recovery_codes_left = serializers.IntegerField()


class PasskeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    backup_eligible = serializers.BooleanField()
    backed_up = serializers.BooleanField()
    transports = serializers.ListField(child=serializers.CharField())


class PasskeyCreatedSerializer(PasskeySerializer):
    backupCodes = serializers.ListField(  # noqa: N815
        child=serializers.CharField(), required=False,
        help_text="Recovery codes, when this is the account's first factor (shown once).")


class PasskeyRegisterSerializer(serializers.Serializer):
    credential = CredentialField()
    name = StrictCharField(max_length=NAME_MAX_LENGTH, required=False, allow_blank=True)


class PasskeyRenameSerializer(serializers.Serializer):
    name = StrictCharField(max_length=NAME_MAX_LENGTH)


class PasskeyLoginSerializer(serializers.Serializer):
    credential = CredentialField()


class OptionsSerializer(serializers.Serializer):
    """A WebAuthn options object (``PublicKeyCredentialCreationOptionsJSON`` or
    ``PublicKeyCredentialRequestOptionsJSON``), for ``navigator.credentials``."""

    challenge = serializers.CharField()
    rpId = serializers.CharField(required=False)  # noqa: N815
    timeout = serializers.IntegerField(required=False)
    userVerification = serializers.CharField(required=False)  # noqa: N815
