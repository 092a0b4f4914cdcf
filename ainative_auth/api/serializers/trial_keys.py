"""Bodies of ``POST public/instant-db`` (trial keys). They describe the endpoint in the
schema; the service checks the body itself, so a project that turned trial keys off
answers 404 whatever is sent. Unknown fields (``utm_source``, ...) are ignored, as
AINative's endpoint does."""

from __future__ import annotations

from rest_framework import serializers

__all__ = ["TrialKeyIssuedSerializer", "TrialKeyRequestSerializer"]


class TrialKeyRequestSerializer(serializers.Serializer):
    agree_terms = serializers.BooleanField(
        help_text="Must be true: the caller accepts the terms of service.")
    name = serializers.CharField(required=False, max_length=100,
                                 help_text='The key\'s name (default "Trial key").')
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, max_length=100, help_text="What asked for it, e.g. a package name.")


class TrialKeyIssuedSerializer(serializers.Serializer):
    api_key = serializers.CharField(help_text="The key, ak_...: shown only now.")
    claim_url = serializers.URLField(
        help_text="Where a person makes the key theirs (after signing in or up).")
    project_id = serializers.UUIDField(help_text="The trial's id.")
    expires_at = serializers.DateTimeField(help_text="When the key dies unless claimed.")
