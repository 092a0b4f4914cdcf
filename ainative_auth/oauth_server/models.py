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
