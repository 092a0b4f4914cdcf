"""Passkeys: register (options, then the attestation), list, rename, delete, and sign in
with a discoverable credential (options, then the assertion). A passkey sign-in is
multi-factor by itself (possession of the key and the user verified by the
authenticator); a passkey assertion also serves as the second factor after a password and
for step-up."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare

from ... import clock
from ...client import NO_CLIENT, Client
from ...credentials import throttling
from ...exceptions import NotFound, PasskeyInvalid
from ...models import RefreshSession
from ...services import sessions
from ...services.accounts import ensure_may_sign_in
from ...services.sessions import LoginResult, require_recent_factor
from ...services.verification import lock_for_new_credential
from ...signals import mfa_factor_added, mfa_factor_removed
from ...users import email_of, may_authenticate
from .. import relying_party as rp_
from ..models import Passkey, RecoveryCode

NAME_MAX_LENGTH = 100


def _user_handle(user: Any) -> str:
    """The user's WebAuthn user handle: the one their passkeys carry, else a new random
    one (never the primary key: it would tell an authenticator's holder the user id)."""
    existing = Passkey.objects.filter(user=user).values_list("user_handle", flat=True).first()
    return existing or rp_.new_user_handle()


def registration_options(user: Any, *, via: RefreshSession | None) -> dict[str, Any]:
    """POST auth/passkeys/register/options: ``PublicKeyCredentialCreationOptionsJSON``
    (a resident key, user verification required, the user's passkeys excluded). Needs a
    verified address and, with MFA on, a fresh second factor."""
    rp = rp_.relying_party()
    require_recent_factor(user, via)
    with transaction.atomic():
        lock_for_new_credential(user, via=via)
    exclude = list(Passkey.objects.filter(user=user).values_list("credential_id", flat=True))
    name = email_of(user) or str(user.pk)
    return rp_.registration_options(rp, user_id=user.pk,
                                    user_handle=rp_.decode(_user_handle(user)),
                                    user_name=name, exclude=exclude)


def _transports(credential: dict[str, Any]) -> list[str]:
    value = credential["response"].get("transports")
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and len(item) <= 32][:8]


def register(user: Any, credential: Any, name: str = "", *, via: RefreshSession | None,
             client: Client = NO_CLIENT) -> tuple[Passkey, list[str] | None]:
    """POST auth/passkeys/register: verify the attestation against a registration
    challenge this user was given (once), with user verification, from ``SITE_URL``'s
    origin and RP ID; store the credential id, public key, sign counter, backup flags and
    transports. The user's first factor also gets recovery codes (returned, shown once;
    None otherwise)."""
    rp = rp_.relying_party()
    require_recent_factor(user, via)
    checked = rp_.check_credential(credential)
    challenge, issued = rp_.take_challenge(checked, "register", user.pk)
    verified = rp_.verify_registration(rp, checked, challenge)
    now = clock.now()
    codes = None
    try:
        with transaction.atomic():
            lock_for_new_credential(user, via=via)
            passkey = Passkey.objects.create(
                user=user, name=(name or "").strip()[:NAME_MAX_LENGTH] or "Passkey",
                credential_id=rp_.b64url(verified.credential_id),
                public_key=verified.credential_public_key, sign_count=verified.sign_count,
                transports=_transports(checked), user_handle=str(issued.get("user_handle")),
                aaguid=str(verified.aaguid or "")[:36],
                backup_eligible=str(verified.credential_device_type) in (
                    "multi_device", "CredentialDeviceType.MULTI_DEVICE"),
                backed_up=bool(verified.credential_backed_up), created_at=now,
            )
            if not RecoveryCode.objects.filter(user=user, used_at__isnull=True).exists():
                from .factors import replace_recovery_codes

                codes = replace_recovery_codes(user)
    except IntegrityError as exc:  # that credential is registered already
        raise PasskeyInvalid("This passkey is registered already.") from exc
    mfa_factor_added.send(sender=Passkey, user=user, factor_type="webauthn", factor=passkey,
                          request=client.request)
    from .factors import ADDED_TEMPLATE, notify

    notify(user, ADDED_TEMPLATE, "webauthn", client)
    return passkey, codes


def list_passkeys(user: Any) -> list[Passkey]:
    """GET auth/passkeys."""
    return list(Passkey.objects.filter(user=user))


def _own(user: Any, passkey_id: Any) -> Passkey:
    try:
        pk = int(str(passkey_id))
    except ValueError:
        pk = None
    passkey = Passkey.objects.filter(pk=pk, user=user).first() if pk is not None else None
    if passkey is None:  # another user's and a missing one answer the same 404
        raise NotFound("No such passkey.")
    return passkey


def rename(user: Any, passkey_id: Any, name: str) -> Passkey:
    """PATCH auth/passkeys/{id} ``{"name"}``."""
    passkey = _own(user, passkey_id)
    passkey.name = name.strip()[:NAME_MAX_LENGTH] or passkey.name
    passkey.save(update_fields=["name"])
    return passkey


def delete(user: Any, passkey_id: Any, *, via: RefreshSession | None,
           client: Client = NO_CLIENT) -> None:
    """DELETE auth/passkeys/{id}: step-up first; with no factor left, the recovery codes
    go too. Mails the owner."""
    passkey = _own(user, passkey_id)
    require_recent_factor(user, via)
    from .factors import REMOVED_TEMPLATE, drop_codes_if_no_factor, notify

    with transaction.atomic():
        if not Passkey.objects.filter(pk=passkey.pk).delete()[0]:
            raise NotFound("No such passkey.")
        mfa_factor_removed.send(sender=Passkey, user=user, factor_type="webauthn",
                                reason="removed", request=client.request)
        drop_codes_if_no_factor(user, client)
    notify(user, REMOVED_TEMPLATE, "webauthn", client)


def login_options(*, client: Client = NO_CLIENT) -> dict[str, Any]:
    """POST auth/passkeys/login/options: ``PublicKeyCredentialRequestOptionsJSON`` for a
    discoverable credential. Throttled per IP (``mfa``): each one keeps a challenge."""
    rp = rp_.relying_party()
    throttling.hit("mfa", "ip", client.ip_address)
    return rp_.authentication_options(rp)


def _verify_assertion(credential: Any, *, expected_user: Any = None) -> Passkey:
    """The passkey ``credential`` (an assertion) proves, after checking it answers a
    sign-in challenge of ours (consumed), belongs to ``expected_user`` when given, names
    the user handle it was made with, verifies from our origin and RP ID with user
    verification, and moves its sign counter forward. ``PasskeyInvalid`` otherwise."""
    rp = rp_.relying_party()
    checked = rp_.check_credential(credential)
    challenge, _ = rp_.take_challenge(checked, "authenticate")
    passkey = Passkey.objects.select_related("user").filter(credential_id=checked["id"]).first()
    if passkey is None or (expected_user is not None and passkey.user_id != expected_user.pk):
        raise PasskeyInvalid()
    handle = rp_.user_handle_of(checked)
    if handle is not None and not constant_time_compare(handle, passkey.user_handle):
        raise PasskeyInvalid()
    verified = rp_.verify_assertion(rp, checked, challenge, public_key=bytes(passkey.public_key),
                                    sign_count=passkey.sign_count)
    # Conditional on the counter read: of two assertions racing, one moves it.
    if not Passkey.objects.filter(pk=passkey.pk, sign_count=passkey.sign_count).update(
        sign_count=verified.new_sign_count, backed_up=bool(verified.credential_backed_up),
        last_used_at=clock.now(),
    ):
        raise PasskeyInvalid()
    return passkey


def verify_user_assertion(user: Any, credential: Any) -> None:
    """A passkey assertion as ``user``'s second factor (challenge, step-up, disable)."""
    _verify_assertion(credential, expected_user=user)


def login(credential: Any, *, client: Client = NO_CLIENT, browser: Any = None) -> LoginResult:
    """POST auth/passkeys/login (and the login page's "Sign in with a passkey",
    ``browser``): the assertion decides who signs in; the account must be allowed in (the
    same rules as a password, ``ensure_may_sign_in``); then the one door, with the
    method "passkey" and its factor recorded (``amr`` ["hwk", "mfa"]). Throttled per IP."""
    throttling.hit("mfa", "ip", client.ip_address)
    passkey = _verify_assertion(credential)
    user = passkey.user
    if not may_authenticate(user):
        raise PasskeyInvalid()
    ensure_may_sign_in(user)
    return sessions.sign_in(user, client, method="passkey", browser=browser, factors=("hwk",))
