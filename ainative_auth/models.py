from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class AccountEmail(models.Model):
    """The canonical email a user registered with, unique case-insensitively.

    The user model is the project's (often ``auth.User``, whose email is not even unique),
    so the database guard against two accounts for one address lives here: a unique index
    on ``lower(email)``. Registration inserts this row in the same transaction as the user,
    which makes concurrent sign-ups of one address give exactly one account.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ainative_email"
    )
    email = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="ainative_auth_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email


class RefreshSession(models.Model):
    """One login: the server-side state behind a refresh token and its access tokens.

    Its refresh token is derived from ``salt`` and ``generation`` (see ``keys.py``) and
    never stored. Access tokens carry the session id (``sid``), so revoking the row ends
    them on the next request.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ainative_sessions"
    )
    salt = models.CharField(max_length=64, editable=False)
    generation = models.PositiveIntegerField(default=0)
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="Idle expiry, pushed forward by each refresh.")
    absolute_expires_at = models.DateTimeField(help_text="Hard end, never extended.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    device = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="ainative_session_user_idx"),
            models.Index(fields=["absolute_expires_at"], name="ainative_session_exp_idx"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"

    def is_live(self, now=None) -> bool:  # type: ignore[no-untyped-def]
        now = now or timezone.now()
        return (
            self.revoked_at is None and self.expires_at > now and self.absolute_expires_at > now
        )
