"""Bodies of the email-verification endpoints."""

from __future__ import annotations

from rest_framework import serializers

from .fields import EmailTokenField

__all__ = ["VerifyEmailSerializer"]


class VerifyEmailSerializer(serializers.Serializer):
    token = EmailTokenField()
