"""Bodies of the API-key endpoints. The plaintext key and its signing secret appear only in
``APIKeyCreatedSerializer`` (create and rotate responses); nothing here ever exposes a hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework import serializers

from ... import clock
from ...credentials.keys import (
    API_KEY_NAME_MAX_LENGTH,
    PUBLIC_KEY_MAX_LENGTH,
    InvalidPublicKey,
    InvalidScopes,
    clean_public_key,
    clean_scopes,
)
from .fields import RejectUnknownFieldsMixin, StrictCharField

__all__ = [
    "APIKeyCreateSerializer",
    "APIKeyCreatedSerializer",
    "APIKeySerializer",
    "APIKeyUpdateSerializer",
    "PublicKeyField",
    "ScopesField",
    "StrictBooleanField",
]


class ScopesField(serializers.ListField):
    """A list of scope strings ("*" = all), checked by ``keys.clean_scopes``."""

    child = serializers.CharField()

    def to_internal_value(self, data: Any) -> list[str]:
        try:
            return clean_scopes(data)
        except InvalidScopes as exc:
            raise serializers.ValidationError(str(exc), code="invalid_scope") from exc


class PublicKeyField(serializers.CharField):
    """An Ed25519 public key, PEM SubjectPublicKeyInfo; returned in canonical form
    (``keys.clean_public_key``). Null means "none"."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", PUBLIC_KEY_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a PEM string.", code="invalid")
        value = super().to_internal_value(data)
        try:
            return clean_public_key(value)
        except InvalidPublicKey as exc:
            raise serializers.ValidationError(str(exc), code="invalid_public_key") from exc


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true``/``false`` only: "yes", 1 or "false" are not booleans here."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictDateTimeField(serializers.DateTimeField):
    """ISO 8601 strings only (no numbers silently read as something)."""

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        return super().to_internal_value(value)


class APIKeyCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = StrictCharField(max_length=API_KEY_NAME_MAX_LENGTH)
    # Omitted or null: the setting API_KEY_DEFAULT_SCOPES. An empty list is a key that can
    # only read users/me.
    scopes = ScopesField(required=False, allow_null=True, default=None)
    expires_at = StrictDateTimeField(required=False, allow_null=True, default=None)
    require_signature = StrictBooleanField(required=False, default=False)
    # An Ed25519 key for RFC 9421 `ed25519` signatures; then the only signing algorithm.
    public_key = PublicKeyField(required=False, allow_null=True, default=None)

    def validate_expires_at(self, value: datetime | None) -> datetime | None:
        if value is not None and value <= clock.now():
            raise serializers.ValidationError("Must be in the future.", code="in_the_past")
        return value


class APIKeyUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """PATCH: rename, re-scope, require signatures, set or remove (null) the public key.
    The secret, id and expiry cannot be changed."""

    name = StrictCharField(max_length=API_KEY_NAME_MAX_LENGTH, required=False)
    scopes = ScopesField(required=False)
    require_signature = StrictBooleanField(required=False)
    public_key = PublicKeyField(required=False, allow_null=True)


class APIKeySerializer(serializers.Serializer):
    """A key in lists and details: identified by its prefix, never its secret or hash."""

    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    state = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    last_used_ip = serializers.IPAddressField(allow_null=True)
    rotated_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    require_signature = serializers.BooleanField()
    public_key = serializers.SerializerMethodField()
    origin = serializers.ChoiceField(
        choices=["manual", "device", "trial"],
        help_text='How the key was made: "manual" (the dashboard, this API, the admin, '
                  'the command), "device" (a device approved on /device) or "trial" (a '
                  "trial key, handed out with no account and claimed).")

    def get_state(self, key: Any) -> str:
        """One of "active", "expired", "revoked"."""
        return key.state()

    def get_public_key(self, key: Any) -> str | None:
        """The registered Ed25519 public key (PEM), or null."""
        return key.public_key or None


class APIKeyCreatedSerializer(serializers.Serializer):
    """The create and rotate response: the only time the full key and its signing secret
    are shown. Serializes a ``services.api_keys.IssuedKey``."""

    id = serializers.CharField(source="key.public_id")
    name = serializers.CharField(source="key.name")
    key = serializers.CharField(source="plaintext",
                                help_text="The full key, ak_...: store it now, it is never "
                                          "shown again.")
    signing_secret = serializers.CharField(
        help_text="The key's signing secret (aks_...) for signed requests: shown only now."
    )
    prefix = serializers.CharField(source="key.prefix")
    scopes = serializers.ListField(source="key.scopes", child=serializers.CharField())
    expires_at = serializers.DateTimeField(source="key.expires_at", allow_null=True)
    require_signature = serializers.BooleanField(source="key.require_signature")
    created_at = serializers.DateTimeField(source="key.created_at")
