"""What the OAuth server keeps besides the library's clients and tokens.

``Grant``: one user's consent to one client, for a set of scopes and resources. It is what
the dashboard lists under "Connected apps", what makes a second authorization with the
same client, scopes and resource skip the consent page, and what revocation ends (its
tokens, in ``allauth.idp.oidc``'s ``Token`` table, are deleted with it).

``SpentRefreshToken``: the hash of a refresh token that was rotated away, with the grant it
belonged to, so that presenting it again (a stolen copy racing the client) ends the grant.
"""

from __future__ import annotations

import uuid
from typing import Any

from allauth.idp.oidc.models import Client
from django.conf import settings
from django.db import models


class GrantQuerySet(models.QuerySet["Grant"]):
    def live(self) -> GrantQuerySet:
        return self.filter(revoked_at__isnull=True)


class Grant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="oauth_grants")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    scopes = models.JSONField(default=list)
    resources = models.JSONField(default=list)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects: Any = GrantQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "client"])]

    def __str__(self) -> str:
        return f"{self.client_id} for user #{self.user_id}"


class SpentRefreshToken(models.Model):
    hash = models.CharField(max_length=64, primary_key=True)
    client_id = models.CharField(max_length=100)
    user_id = models.CharField(max_length=64)
    grant_id = models.CharField(max_length=64)
    spent_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"spent refresh token of grant {self.grant_id}"


class DeviceAuthorizationQuerySet(models.QuerySet["DeviceAuthorization"]):
    def pending(self, now: Any) -> DeviceAuthorizationQuerySet:
        """Waiting for a person's decision, and not expired."""
        return self.filter(status=DeviceAuthorization.Status.PENDING, expires_at__gt=now)


class DeviceAuthorization(models.Model):
    """One device authorization request (RFC 8628): what a device (a CLI, an agent) asked
    for, the codes it was given, and where the person's decision stands.

    Neither code is stored: the device code as its SHA-256 (it has 256 bits), the user code
    as an HMAC under the server's key (it has about 35 bits, so a plain hash would give
    itself away to anyone holding a copy of the table). ``user`` is the person who approved,
    set by the one conditional UPDATE that decides: the grant, or the key, is theirs.
    ``interval`` and ``next_poll_at`` are the polling budget, kept in the row so every
    process sees the same one; ``slow_down`` raises ``interval`` by 5 seconds for good.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"
        USED = "used"

    class Credential(models.TextChoices):
        TOKEN = "token"
        API_KEY = "api_key"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device_code_hash = models.CharField(max_length=64, unique=True, editable=False)
    user_code_hash = models.CharField(max_length=64, unique=True, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    scopes = models.JSONField(default=list)
    resources = models.JSONField(default=list)
    credential = models.CharField(max_length=16, choices=Credential.choices,
                                  default=Credential.TOKEN)
    key_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True,
                             blank=True, related_name="+")
    api_key = models.ForeignKey("ainative_auth.APIKey", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    interval = models.PositiveIntegerField()
    next_poll_at = models.DateTimeField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects: Any = DeviceAuthorizationQuerySet.as_manager()

    def __str__(self) -> str:
        return f"device authorization {self.id} for {self.client_id} ({self.status})"
