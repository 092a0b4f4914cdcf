"""Bodies of refresh, logout-all, the session list and health."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .common import DetailSerializer
from .fields import StrictCharField

__all__ = ["HealthSerializer", "LogoutAllSerializer", "RefreshSerializer", "SessionSerializer"]


class RefreshSerializer(serializers.Serializer):
    refresh_token = StrictCharField(max_length=512)


class LogoutAllSerializer(DetailSerializer):
    revoked = serializers.IntegerField(help_text="How many sessions were revoked.")


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    device = serializers.CharField()
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    current = serializers.SerializerMethodField()

    def get_current(self, session: Any) -> bool:
        return session.id == self.context.get("current_session_id")


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()
