from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from . import clock
from .conf import auth_settings


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


def idle_expiry(now: datetime, absolute: datetime) -> datetime:
    """When a session used at ``now`` dies if left idle: ``REFRESH_TOKEN_LIFETIME`` later,
    never past its absolute end. A refresh, and a browser in use, push it forward; this is
    the one place that computes it."""
    idle = now + timedelta(seconds=int(auth_settings.REFRESH_TOKEN_LIFETIME))
    return min(idle, absolute)


class RefreshSessionQuerySet(models.QuerySet):
    def live(self, now: datetime | None = None) -> RefreshSessionQuerySet:
        """Sessions whose tokens still work: not revoked, and neither the idle nor the
        absolute lifetime is over. The one definition (``RefreshSession.is_live`` is the
        same rule for a loaded row)."""
        now = now or clock.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now,
                           absolute_expires_at__gt=now)


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
    # How the user proved who they are when this session started: "password" (register,
    # the API's login, the login page, the admin's login form), "social:<provider>". Only
    # "password" sessions open the Django admin (``admin_site.ThrottledAdminSite``).
    method = models.CharField(max_length=32, blank=True, default="")
    # How the session proved who the user is, as RFC 8176 authentication method
    # references ("pwd", "fed" for a provider, "hwk" for a passkey, "otp" for a TOTP,
    # "rec" for a recovery code, "mfa" once a second factor was proven); written at the
    # sign-in and by a step-up, carried by its access tokens as `amr`.
    amr = models.JSONField(default=list, blank=True)
    # When this session last proved a second factor (None: never). Step-up
    # (``services.sessions.require_recent_factor``) compares it with STEP_UP_MAX_AGE.
    factor_verified_at = models.DateTimeField(null=True, blank=True)

    objects = RefreshSessionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="ainative_session_user_idx"),
            models.Index(fields=["absolute_expires_at"], name="ainative_session_exp_idx"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"

    def is_live(self, now: datetime | None = None) -> bool:
        """``RefreshSessionQuerySet.live`` for this row."""
        now = now or clock.now()
        return (
            self.revoked_at is None and self.expires_at > now and self.absolute_expires_at > now
        )


class APIKeyQuerySet(models.QuerySet):
    def live(self, now: datetime | None = None) -> APIKeyQuerySet:
        """Keys that can still authenticate: not revoked, not expired."""
        now = now or clock.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class APIKeyOrigin(models.TextChoices):
    """How a key came to be: its owner or an operator made it (the dashboard, the API, the
    admin, ``mint_api_key``), a device approved on ``/device`` asked for it (the device
    grant with ``credential=api_key``), or ``POST public/instant-db`` handed it out with no
    account (a trial key, until claimed and after)."""

    MANUAL = "manual", "Made by hand"
    DEVICE = "device", "Device login"
    TRIAL = "trial", "Trial key"


class APIKey(models.Model):
    """A long-lived credential for a server or an AI agent, acting as its owner.

    The plaintext (``ak_<public_id>_<secret><checksum>``, see ``keys.py``) is shown once
    and never stored: only an HMAC of the secret is. Its signing secret is derived from
    that HMAC and a server key (``keys.signing_secret_for``), never stored either.
    ``public_id`` is what requests are looked up by and what lists show. After a rotation
    the previous secret's hash is kept until ``previous_secret_expires_at`` (the
    configured overlap), so deployments can switch over without downtime.
    """

    public_id = models.CharField(max_length=16, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ainative_api_keys"
    )
    name = models.CharField(max_length=100)
    # A list of scope strings; "*" grants every scope.
    scopes = models.JSONField(default=list, blank=True)
    secret_hash = models.CharField(max_length=64, editable=False)
    previous_secret_hash = models.CharField(max_length=64, blank=True, default="",
                                            editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # Overrides THROTTLE_RATES["api_key"] for this key, e.g. "6000/minute"; empty = default.
    throttle_rate = models.CharField(max_length=32, null=True, blank=True)
    # Unsigned requests with this key are refused (401 signature_required).
    require_signature = models.BooleanField(
        default=False,
        help_text="Refuse requests that are not signed (v1 X-Signature or v2 RFC 9421).",
    )
    # An Ed25519 public key (canonical PEM SubjectPublicKeyInfo) for RFC 9421 `ed25519`
    # signatures; "" = none. While one is set, it is the key's only signing credential:
    # HMAC signatures with the signing secret are refused (see signatures.py).
    public_key = models.TextField(
        blank=True,
        default="",
        help_text="Ed25519 public key, PEM (-----BEGIN PUBLIC KEY-----). While set, only "
                  "Ed25519 signatures are accepted for this key.",
    )
    origin = models.CharField(max_length=16, choices=APIKeyOrigin.choices,
                              default=APIKeyOrigin.MANUAL, editable=False)

    objects = APIKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="ainative_apikey_user_idx"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.name})"

    @property
    def prefix(self) -> str:
        return f"ak_{self.public_id}"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or clock.now())

    def state(self, now: datetime | None = None) -> str:
        """ "active", "expired" or "revoked" (revocation wins)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired(now) else "active"

    def has_scope(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes


class TrialKey(models.Model):
    """A key handed out with no account (``POST public/instant-db``) and its claim link.

    A key must belong to a user, so each trial gets a user of its own (``holder``): an
    account nobody can sign in to (no usable password, an ``.invalid`` address), which
    keeps one trial's key and whatever a project stores for it apart from every other
    trial's. Claiming moves the very same key to the claiming user (``claimed_by``) and
    deactivates the holder; the row stays, so a project can move what it kept for the
    holder. The claim link's token is stored only as its SHA-256 (``claim_hash``) and works
    once, until ``expires_at`` (the key's own expiry until it is claimed).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False,
                          help_text="The trial's project_id.")
    key = models.OneToOneField(APIKey, on_delete=models.CASCADE, related_name="trial")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+")
    name = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=100, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    claim_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="ainative_trial_exp_idx")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"trial {self.id}"
