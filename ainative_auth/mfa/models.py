"""The second factors of a user: an authenticator app (TOTP), recovery codes, passkeys.

Pending sign-ins (``mfa_token``) and WebAuthn challenges are not here: they live a few
minutes, once, in the cache named by ``MFA_CACHE`` (see ``pending.py`` and ``webauthn.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class TOTPDevice(models.Model):
    """An authenticator app (RFC 6238, SHA-1, 6 digits, 30-second steps). Active once a
    right code confirmed it (``confirmed_at``). ``last_used_step`` is the time step of the
    last code accepted: a code is accepted only for a later step, so each works once."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="ainative_totp")
    # Base32, as the authenticator app holds it (what allauth and django-otp store too):
    # the database must be protected like the password hashes.
    secret = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(default=-1)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "authenticator app"

    def __str__(self) -> str:
        return f"authenticator app of user {self.user_id}"


class RecoveryCode(models.Model):
    """One single-use recovery code, stored as a keyed hash only (shown once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="ainative_recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"],
                                    name="ainative_mfa_recovery_code_unique"),
        ]

    def __str__(self) -> str:
        return f"recovery code of user {self.user_id}"


class Passkey(models.Model):
    """A WebAuthn credential (a passkey or a security key) registered by its user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="ainative_passkeys")
    name = models.CharField(max_length=100)
    # base64url of the credential id (at most 1023 bytes by WebAuthn).
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()  # COSE_Key
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    # The WebAuthn user handle (base64url) the credential was created with: one per user.
    user_handle = models.CharField(max_length=128)
    aaguid = models.CharField(max_length=36, blank=True, default="")
    backup_eligible = models.BooleanField(default=False)
    backed_up = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"passkey {self.name} of user {self.user_id}"
