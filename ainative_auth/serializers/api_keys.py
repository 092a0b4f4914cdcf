"""Bodies of the API-key endpoints. The plaintext key appears only in ``APIKeyCreatedSerializer``
(create and rotate responses); nothing here ever exposes a hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework import serializers

from .. import clock
from ..keys import API_KEY_NAME_MAX_LENGTH, InvalidScopes, clean_scopes
from .fields import RejectUnknownFieldsMixin, StrictCharField

__all__ = [
    "APIKeyCreateSerializer",
    "APIKeyCreatedSerializer",
    "APIKeySerializer",
    "APIKeyUpdateSerializer",
    "ScopesField",
]


class ScopesField(serializers.ListField):
    """A list of scope strings ("*" = all), checked by ``keys.clean_scopes``."""

    child = serializers.CharField()

    def to_internal_value(self, data: Any) -> list[str]:
        try:
            return clean_scopes(data)
        except InvalidScopes as exc:
            raise serializers.ValidationError(str(exc), code="invalid_scope") from exc


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

    def validate_expires_at(self, value: datetime | None) -> datetime | None:
        if value is not None and value <= clock.now():
            raise serializers.ValidationError("Must be in the future.", code="in_the_past")
        return value


class APIKeyUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """PATCH: rename and/or re-scope. The secret, id and expiry cannot be changed."""

    name = StrictCharField(max_length=API_KEY_NAME_MAX_LENGTH, required=False)
    scopes = ScopesField(required=False)


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

    def get_state(self, key: Any) -> str:
        """One of "active", "expired", "revoked"."""
        return key.state()


class APIKeyCreatedSerializer(serializers.Serializer):
    """The create and rotate response: the only time the full key is shown.

    Pass the plaintext in the context: ``APIKeyCreatedSerializer(key, context={"key": ...})``.
    """

    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    key = serializers.SerializerMethodField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_key(self, key: Any) -> str:
        """The full key, ``ak_...``: store it now, it is never shown again."""
        return str(self.context["key"])
