"""The authenticator app (TOTP), recovery codes, the status, disabling MFA, and the
operator's reset of a user who lost every factor."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ... import clock
from ...client import NO_CLIENT, Client
from ...conf import auth_settings
from ...credentials import throttling
from ...exceptions import MFAAlreadyEnabled, MFACodeInvalid, MFANotEnabled, MFASetupRequired
from ...models import APIKey, RefreshSession
from ...outbox import mail_user
from ...services import api_keys, sessions
from ...services.sessions import require_recent_factor
from ...services.verification import lock_for_new_credential
from ...signals import mfa_challenge_failed, mfa_factor_added, mfa_factor_removed
from ...users import email_of
from .. import totp
from ..models import Passkey, RecoveryCode, TOTPDevice
from .challenge import user_has_mfa, verify_second_factor

ADDED_TEMPLATE = "ainative_auth/email/mfa_factor_added"
REMOVED_TEMPLATE = "ainative_auth/email/mfa_factor_removed"
FACTOR_LABELS = {"totp": "an authenticator app", "webauthn": "a passkey",
                 "recovery_codes": "new recovery codes", "all": "every second factor"}


def notify(user: Any, template: str, factor_type: str, client: Client = NO_CLIENT) -> None:
    """Mail the owner that a factor was added or removed (after commit)."""
    mail_user(user, template, factor=FACTOR_LABELS.get(factor_type, factor_type),
              changed_at=clock.now(), ip_address=client.ip_address if client.request else None)


def mfa_status(user: Any) -> dict[str, Any]:
    """GET auth/mfa: the active factors and how many recovery codes are left."""
    factors: list[dict[str, Any]] = []
    device = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is not None:
        factors.append({"type": "totp", "created_at": device.confirmed_at,
                        "last_used_at": device.last_used_at})
    for passkey in Passkey.objects.filter(user=user):
        factors.append({"type": "webauthn", "id": passkey.pk, "name": passkey.name,
                        "created_at": passkey.created_at, "last_used_at": passkey.last_used_at})
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
    return {"enabled": bool(factors), "factors": factors, "recovery_codes_left": left}


def replace_recovery_codes(user: Any) -> list[str]:
    """New recovery codes for ``user`` (the old ones die); returns them, to show once."""
    codes = totp.new_recovery_codes()
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=totp.recovery_code_hash(user.pk, code)) for code in codes
    )
    return codes


def begin_totp_setup(user: Any, *, via: RefreshSession | None) -> dict[str, Any]:
    """POST auth/mfa/setup: a new secret (not active until ``confirm_totp``), its
    ``otpauth_uri`` (the account is the user's email, the issuer ``SITE_NAME``), the QR
    code of it as a ``data:`` image, and 10 new recovery codes, shown this once.

    Needs a verified address, as any new credential (``email_not_verified``), and, when
    MFA is on already (a passkey), a fresh second factor (``step_up_required``). A second
    setup before confirming replaces the pending secret; one after is
    ``mfa_already_enabled``."""
    require_recent_factor(user, via)
    with transaction.atomic():
        lock_for_new_credential(user, via=via)
        device = TOTPDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.confirmed_at is not None:
            raise MFAAlreadyEnabled()
        secret = totp.new_secret()
        TOTPDevice.objects.update_or_create(
            user=user, defaults={"secret": secret, "created_at": clock.now(),
                                 "confirmed_at": None, "last_used_step": -1,
                                 "last_used_at": None})
        codes = replace_recovery_codes(user)
    uri = totp.provisioning_uri(secret, email_of(user) or str(user.pk),
                                str(auth_settings.SITE_NAME or ""))
    return {"secret": secret, "otpauth_uri": uri, "qrCodeUrl": totp.qr_code_data_uri(uri),
            "backupCodes": codes}


def pending_totp_setup(user: Any) -> dict[str, Any] | None:
    """The authenticator app set up and not confirmed yet, to show again (its secret, URI
    and QR code; the recovery codes were shown once); None if there is none."""
    device = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        return None
    uri = totp.provisioning_uri(device.secret, email_of(user) or str(user.pk),
                                str(auth_settings.SITE_NAME or ""))
    return {"secret": device.secret, "otpauth_uri": uri,
            "qrCodeUrl": totp.qr_code_data_uri(uri), "backupCodes": []}


def confirm_totp(user: Any, code: Any, *, via: RefreshSession | None,
                 client: Client = NO_CLIENT) -> dict[str, bool]:
    """POST auth/mfa/verify: the first right code turns the authenticator app on (and
    is spent: its step is recorded); the session that proved it counts as having a fresh
    second factor. Throttled per IP and account (``mfa``); ``mfa_setup_required`` without
    a pending setup, ``mfa_already_enabled`` once on."""
    throttling.hit("mfa", "ip", client.ip_address)
    throttling.hit("mfa", "user", str(user.pk))
    device = TOTPDevice.objects.filter(user=user).first()
    if device is None:
        raise MFASetupRequired()
    if device.confirmed_at is not None:
        raise MFAAlreadyEnabled()
    step = totp.matching_step(device.secret, code, clock.time())
    now = clock.now()
    if step is None or not TOTPDevice.objects.filter(
        pk=device.pk, confirmed_at__isnull=True, secret=device.secret
    ).update(confirmed_at=now, last_used_step=step, last_used_at=now):
        mfa_challenge_failed.send(sender=user.__class__, user=user, purpose="setup",
                                  ip_address=client.ip_address)
        raise MFACodeInvalid()
    if via is not None:
        sessions.record_second_factor(via, ["otp"], request=client.request)
    device.confirmed_at = now
    mfa_factor_added.send(sender=TOTPDevice, user=user, factor_type="totp", factor=device,
                          request=client.request)
    notify(user, ADDED_TEMPLATE, "totp", client)
    return {"verified": True}


def _remove_everything(user: Any, reason: str, client: Client) -> list[str]:
    removed = []
    if TOTPDevice.objects.filter(user=user).delete()[0]:
        removed.append("totp")
    if Passkey.objects.filter(user=user).delete()[0]:
        removed.append("webauthn")
    if RecoveryCode.objects.filter(user=user).delete()[0]:
        removed.append("recovery_codes")
    for factor_type in removed:
        mfa_factor_removed.send(sender=TOTPDevice, user=user, factor_type=factor_type,
                                reason=reason, request=client.request)
    return removed


def disable_mfa(user: Any, *, code: Any = None, credential: Any = None,
                via: RefreshSession | None, client: Client = NO_CLIENT) -> None:
    """POST auth/mfa/disable: with a current second factor (a TOTP, a recovery code or a
    passkey assertion: it is the step-up), every factor goes: the authenticator app, the
    passkeys and the recovery codes. Mails the owner."""
    if not user_has_mfa(user):
        raise MFANotEnabled()
    verify_second_factor(user, code=code, credential=credential, purpose="disable",
                         client=client)
    with transaction.atomic():
        _remove_everything(user, "disabled", client)
    notify(user, REMOVED_TEMPLATE, "all", client)


def remove_totp(user: Any, *, via: RefreshSession | None, client: Client = NO_CLIENT) -> None:
    """The dashboard's "Remove" of the authenticator app (step-up first). With no factor
    left, the recovery codes go too."""
    require_recent_factor(user, via)
    with transaction.atomic():
        if not TOTPDevice.objects.filter(user=user).delete()[0]:
            raise MFANotEnabled()
        mfa_factor_removed.send(sender=TOTPDevice, user=user, factor_type="totp",
                                reason="removed", request=client.request)
        drop_codes_if_no_factor(user, client)
    notify(user, REMOVED_TEMPLATE, "totp", client)


def drop_codes_if_no_factor(user: Any, client: Client) -> None:
    if not user_has_mfa(user) and RecoveryCode.objects.filter(user=user).delete()[0]:
        mfa_factor_removed.send(sender=TOTPDevice, user=user, factor_type="recovery_codes",
                                reason="removed", request=client.request)


def regenerate_recovery_codes(user: Any, *, via: RefreshSession | None,
                              client: Client = NO_CLIENT) -> dict[str, list[str]]:
    """POST auth/mfa/recovery-codes: 10 new codes, shown once; the old ones die. MFA must
    be on; a fresh second factor first (``step_up_required``)."""
    if not user_has_mfa(user):
        raise MFANotEnabled()
    require_recent_factor(user, via)
    with transaction.atomic():
        codes = replace_recovery_codes(user)
    mfa_factor_added.send(sender=RecoveryCode, user=user, factor_type="recovery_codes",
                          factor=None, request=client.request)
    notify(user, ADDED_TEMPLATE, "recovery_codes", client)
    return {"backupCodes": codes}


def reset_factors(user: Any, *, request: Any = None) -> dict[str, int]:
    """The operator's answer to "I lost every factor" (the admin's action, the command
    ``ainative_reset_mfa``), once they have checked who is asking: every second factor is
    removed, every session revoked and every API key revoked, so nothing an attacker may
    hold survives; the owner signs in with the password and sets MFA up again. Mails the
    owner."""
    client = Client(request=request)
    with transaction.atomic():
        _remove_everything(user, "reset", client)
    ended = sessions.revoke_all_sessions(user, "mfa_reset", request=request)
    revoked = api_keys.revoke_keys(APIKey.objects.filter(user=user))
    notify(user, REMOVED_TEMPLATE, "all", client)
    return {"sessions": ended, "api_keys": revoked}
