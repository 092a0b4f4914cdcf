"""API keys: create, list, get, update (rename/re-scope), revoke, rotate.

Every function takes plain arguments and returns plain results. ``acting_key`` is the
``APIKey`` a request was authenticated with (None for a JWT session, the admin or the
command): a key may only create or manage keys it could have created itself, so an agent
key can never mint or unlock anything beyond its own scopes and lifetime.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from .. import clock
from ..conf import auth_settings
from ..credentials.keys import (
    clean_public_key,
    clean_scopes,
    hash_api_key_secret,
    is_api_key_public_id,
    new_api_key,
    new_api_key_secret,
    signing_secret_for,
)
from ..exceptions import (
    APIKeyExpired,
    APIKeyLifetimeExceeded,
    APIKeyLimitReached,
    APIKeyRevoked,
    InsufficientScope,
    SignatureDowngrade,
)
from ..models import APIKey, APIKeyOrigin, RefreshSession
from ..permissions import scopes_grant
from ..signals import api_key_created, api_key_revoked, api_key_rotated
from ..users import lock_user
from .sessions import require_recent_factor
from .verification import lock_for_new_credential


@dataclass(frozen=True)
class IssuedKey:
    """What ``create_key`` and ``rotate_key`` hand out: the key row, its plaintext and its
    signing secret. The two secrets exist only here: show them once, store neither.
    """

    key: APIKey
    plaintext: str
    signing_secret: str


# ``update_key``'s "leave the public key as it is" (None removes it).
KEEP: Any = object()


def default_scopes() -> list[str]:
    return clean_scopes(list(auth_settings.API_KEY_DEFAULT_SCOPES))


def live_keys(user: Any, now: datetime | None = None) -> Any:
    """The user's keys that can still authenticate (not revoked, not expired)."""
    return APIKey.objects.filter(user=user).live(now)


def _check_can_grant(
    acting_key: APIKey, scopes: Iterable[str], expires_at: datetime | None,
    require_signature: bool,
) -> None:
    if not scopes_grant(acting_key.scopes, scopes):
        raise InsufficientScope("An API key cannot grant scopes it does not have.")
    if acting_key.expires_at is not None and (
        expires_at is None or expires_at > acting_key.expires_at
    ):
        raise APIKeyLifetimeExceeded()
    # A key that must sign cannot hand out (or leave behind) a key usable without a
    # signature: that would be a bearer credential weaker than itself.
    if acting_key.require_signature and not require_signature:
        raise SignatureDowngrade()


def _check_can_manage(acting_key: APIKey | None, key: APIKey) -> None:
    # Rotating hands out a fresh secret: allowing a narrow key to rotate a wider one would
    # be an escalation, so "manage" means "could have created".
    if acting_key is not None:
        _check_can_grant(acting_key, key.scopes, key.expires_at, key.require_signature)


def create_key(
    user: Any,
    *,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    throttle_rate: str | None = None,
    require_signature: bool = False,
    public_key: str | None = None,
    acting_key: APIKey | None = None,
    instance: APIKey | None = None,
) -> IssuedKey:
    """Create a key for ``user``; return its ``IssuedKey`` (row, plaintext, signing
    secret). The two secrets exist only here.

    ``scopes=None`` gives ``API_KEY_DEFAULT_SCOPES``. A key created by ``acting_key``
    without an expiry inherits the acting key's. ``public_key`` (PEM, Ed25519) makes
    Ed25519 the key's only signing algorithm (``keys.clean_public_key`` raises
    ``InvalidPublicKey`` for anything else). ``instance`` lets the admin fill its own
    unsaved object. Raises ``APIKeyLimitReached`` past ``API_KEY_MAX_PER_USER`` live keys.
    """
    now = clock.now()
    scopes = default_scopes() if scopes is None else clean_scopes(scopes)
    cleaned_public_key = clean_public_key(public_key) if public_key else ""
    if acting_key is not None:
        if expires_at is None:
            expires_at = acting_key.expires_at
        _check_can_grant(acting_key, scopes, expires_at, require_signature)
    limit = int(auth_settings.API_KEY_MAX_PER_USER or 0)
    key = instance if instance is not None else APIKey()
    key.user = user
    key.name = name
    key.scopes = scopes
    key.expires_at = expires_at
    key.throttle_rate = throttle_rate or None
    key.require_signature = bool(require_signature)
    key.public_key = cleaned_public_key
    key.created_at = now
    with transaction.atomic():
        # Lock the owner's row: concurrent creations for one user queue here, so the count
        # cannot go stale between it and the INSERT (the limit holds under concurrency).
        lock_user(user)
        if limit > 0 and live_keys(user, now).count() >= limit:
            raise APIKeyLimitReached()
        for attempt in range(3):
            public_id, secret, plaintext = new_api_key()
            key.public_id = public_id
            key.secret_hash = hash_api_key_secret(public_id, secret)
            try:
                # A savepoint, so a (71-bit, so astronomically rare) public-id collision
                # can be retried inside the outer transaction.
                with transaction.atomic():
                    key.save(force_insert=True)
                break
            except IntegrityError:
                key.pk = None
                if attempt == 2:
                    raise
    api_key_created.send(sender=APIKey, api_key=key, created_by=acting_key)
    return IssuedKey(key, plaintext, signing_secret_for(key.public_id, key.secret_hash))


def create_own_key(
    user: Any,
    *,
    via: RefreshSession | APIKey | None,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    require_signature: bool = False,
    public_key: str | None = None,
) -> IssuedKey:
    """A key ``user`` creates for themselves (REST ``POST api-keys``, the dashboard's
    form), with the session or API key ``via`` which the request was authenticated
    (an API key acts within its own scopes and lifetime): ``create_key``, once ``user``
    may add credentials (403 ``email_not_verified`` while their address is unverified,
    unless ``UNVERIFIED_MAY_ADD_CREDENTIALS``; see ``verification.may_add_credentials``),
    decided under the user's row lock (``verification.lock_for_new_credential``). The
    admin and ``mint_api_key`` call ``create_key`` directly: minting for an unverified
    account is the operator's call.

    Step-up first: a session of a user with MFA on must have proven a second factor
    within ``STEP_UP_MAX_AGE`` (403 ``step_up_required``); an API key acting is not asked.
    """
    require_recent_factor(user, via if isinstance(via, RefreshSession) else None)
    with transaction.atomic():
        lock_for_new_credential(user, via=via)
        return create_key(user, name=name, scopes=scopes, expires_at=expires_at,
                          require_signature=require_signature, public_key=public_key,
                          acting_key=via if isinstance(via, APIKey) else None)


def list_keys(user: Any) -> list[APIKey]:
    """All of the user's keys, newest first, revoked and expired ones included."""
    return list(APIKey.objects.filter(user=user).order_by("-created_at", "-pk"))


def get_key(user: Any, key_id: str) -> APIKey | None:
    """The user's key with public id ``key_id``; None for malformed, unknown or others'."""
    if not is_api_key_public_id(key_id):
        return None
    return APIKey.objects.filter(user=user, public_id=key_id).first()


def update_key(
    key: APIKey,
    *,
    name: str | None = None,
    scopes: list[str] | None = None,
    require_signature: bool | None = None,
    public_key: str | None = KEEP,
    acting_key: APIKey | None = None,
) -> APIKey:
    """Rename, re-scope, require signatures or not, and register (PEM), replace or
    remove (None) the Ed25519 public key of ``key``; its secret, expiry and id stay."""
    if key.revoked_at is not None:
        raise APIKeyRevoked()
    _check_can_manage(acting_key, key)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if scopes is not None:
        changes["scopes"] = clean_scopes(scopes)
    if require_signature is not None:
        changes["require_signature"] = bool(require_signature)
    if public_key is not KEEP:
        changes["public_key"] = clean_public_key(public_key) if public_key else ""
    if acting_key is not None and changes:
        # The key as it would be after the change must still be one the acting key could
        # have created.
        _check_can_grant(
            acting_key, changes.get("scopes", key.scopes), key.expires_at,
            changes.get("require_signature", key.require_signature),
        )
    for field, value in changes.items():
        setattr(key, field, value)
    fields = list(changes)
    if fields:
        key.save(update_fields=fields)
    return key


def revoke_key(key: APIKey, *, acting_key: APIKey | None = None) -> bool:
    """Revoke ``key`` now; True if this call revoked it (False: it already was).

    One conditional UPDATE whose row count is checked, so "revoked" is never reported for
    a key that still works. Authentication reads the row on every request: the next
    request with this key is a 401.
    """
    _check_can_manage(acting_key, key)
    now = clock.now()
    changed = APIKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    if changed:
        key.revoked_at = now
        api_key_revoked.send(sender=APIKey, api_key=key)
    return bool(changed)


def revoke_keys(queryset: Any) -> int:
    """Revoke every live key of ``queryset`` (the admin's bulk action); return how many."""
    keys = list(queryset.filter(revoked_at__isnull=True))
    return sum(revoke_key(key) for key in keys)


def rotate_own_key(key: APIKey, *, via: RefreshSession | APIKey | None) -> IssuedKey:
    """A key its owner rotates (REST ``POST api-keys/{id}/rotate``, the dashboard's
    "Rotate"), with the session or API key ``via`` which the request was authenticated:
    step-up for a session (``require_recent_factor``), then ``rotate_key`` (an API key
    acts within its own scopes and lifetime)."""
    require_recent_factor(key.user, via if isinstance(via, RefreshSession) else None)
    return rotate_key(key, acting_key=via if isinstance(via, APIKey) else None)


def rotate_key(key: APIKey, *, acting_key: APIKey | None = None) -> IssuedKey:
    """Give ``key`` a new secret, and so a new signing secret; return its ``IssuedKey``.

    Same id, name, scopes, expiry, ``require_signature`` and public key. The old secret,
    and the signing secret that goes with it, keep working for
    ``API_KEY_ROTATION_OVERLAP`` seconds (0: not at all); only the secret just replaced
    is kept, so rotating twice within the overlap retires the oldest at once.
    """
    _check_can_manage(acting_key, key)
    now = clock.now()
    overlap = int(auth_settings.API_KEY_ROTATION_OVERLAP or 0)
    with transaction.atomic():
        # Row lock: two concurrent rotations must not both think they replaced the same
        # secret (the overlap would then keep a secret nobody was given).
        locked = APIKey.objects.select_for_update().get(pk=key.pk)
        if locked.revoked_at is not None:
            raise APIKeyRevoked()
        if locked.is_expired(now):
            raise APIKeyExpired()
        secret, plaintext = new_api_key_secret(locked.public_id)
        if overlap > 0:
            locked.previous_secret_hash = locked.secret_hash
            locked.previous_secret_expires_at = now + timedelta(seconds=overlap)
        else:
            locked.previous_secret_hash = ""
            locked.previous_secret_expires_at = None
        locked.secret_hash = hash_api_key_secret(locked.public_id, secret)
        locked.rotated_at = now
        locked.save(update_fields=["secret_hash", "previous_secret_hash",
                                   "previous_secret_expires_at", "rotated_at"])
    api_key_rotated.send(sender=APIKey, api_key=locked, overlap=overlap)
    return IssuedKey(locked, plaintext, signing_secret_for(locked.public_id, locked.secret_hash))


# --- keys handed over later: the device grant, trial keys ---------------------------------


def require_step_up(user: Any, via: RefreshSession | APIKey | None) -> None:
    """The step-up of the flows that add a key to an account (approving a device code,
    claiming a trial key, creating or rotating one's own key): for a user with MFA on and
    an interactive session, a second factor within ``STEP_UP_MAX_AGE``
    (``sessions.require_recent_factor``: 403 ``step_up_required``). A key acting (``via``
    an ``APIKey``), the admin and commands are never asked."""
    require_recent_factor(user, via if isinstance(via, RefreshSession) else None)


def create_unissued_key(
    user: Any,
    *,
    via: RefreshSession | None,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
    origin: str = APIKeyOrigin.DEVICE,
) -> APIKey:
    """A key for ``user`` that nobody holds yet: its row (name, scopes, expiry, origin)
    exists and shows on the dashboard, but its secret was thrown away, so it cannot
    authenticate until ``issue_key`` gives it one (the device grant: the user approves on
    a page, the device collects the key when it polls). The rules of ``create_own_key``
    apply (step-up, a verified address, the per-user limit), decided at approval, where
    the person can see the refusal."""
    require_step_up(user, via)
    with transaction.atomic():
        lock_for_new_credential(user, via=via)
        created = create_key(user, name=name, scopes=scopes, expires_at=expires_at,
                             instance=APIKey(origin=origin))
    return created.key


def issue_key(key: APIKey, *, expires_at: datetime | None) -> IssuedKey | None:
    """Give ``key`` (from ``create_unissued_key``) its first secret and its lifetime from
    now on; return its ``IssuedKey``, or None if it was revoked or already issued.

    One conditional UPDATE on the secret it was created with: of two concurrent calls
    exactly one hands out a key, and a key revoked meanwhile stays dead."""
    secret, plaintext = new_api_key_secret(key.public_id)
    secret_hash = hash_api_key_secret(key.public_id, secret)
    changed = APIKey.objects.filter(
        pk=key.pk, secret_hash=key.secret_hash, revoked_at__isnull=True,
    ).update(secret_hash=secret_hash, expires_at=expires_at)
    if not changed:
        return None
    key.secret_hash, key.expires_at = secret_hash, expires_at
    return IssuedKey(key, plaintext, signing_secret_for(key.public_id, secret_hash))


def adopt_key(key: APIKey, user: Any, *, via: RefreshSession | None,
              scopes: list[str]) -> bool:
    """Move ``key`` (live, held by someone else) to ``user`` for good: no expiry,
    ``scopes``; True if this call moved it. The rules of ``create_own_key`` apply (step-up,
    a verified address, the per-user limit). One conditional UPDATE on the key's current
    holder, so a key moves once."""
    require_step_up(user, via)
    now = clock.now()
    limit = int(auth_settings.API_KEY_MAX_PER_USER or 0)
    with transaction.atomic():
        lock_for_new_credential(user, via=via)
        if limit > 0 and live_keys(user, now).count() >= limit:
            raise APIKeyLimitReached()
        moved = APIKey.objects.filter(pk=key.pk, user_id=key.user_id).live(now).update(
            user=user, expires_at=None, scopes=clean_scopes(scopes))
    if moved:
        key.user, key.expires_at, key.scopes = user, None, clean_scopes(scopes)
    return bool(moved)
