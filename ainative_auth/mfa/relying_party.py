"""WebAuthn Level 3 ceremonies on py_webauthn: options, challenges, verification.

py_webauthn takes and gives the JSON forms the browser's ``PublicKeyCredential`` uses
(``PublicKeyCredentialCreationOptionsJSON``, ``credential.toJSON()``), which is what a JSON
API passes through; fido2 needs a mapping layer for the same (measured: see the docs).

- The relying party comes from ``SITE_URL``: its host is the RP ID and its origin the only
  origin accepted. Browsers refuse IP addresses as RP IDs and allow plain http only on
  ``localhost``, so anything else is ``PasskeysNotConfigured``.
- Challenges (32 random bytes) are kept server-side, in the cache named by ``MFA_CACHE``,
  under the challenge's digest, with what they were issued for (a registration by one
  user, or a sign-in); the credential brings its challenge back in ``clientDataJSON``,
  and it is consumed by one atomic delete before anything is verified: a challenge
  works once, for its purpose, for five minutes.
- User verification is required in every ceremony (allauth 65.21.1 did not enforce it for
  passkey sign-in).
- Anything the library or the decoding raises on hostile input is ``PasskeyInvalid``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.cache import caches

from .. import clock
from ..conf import auth_settings
from ..exceptions import PasskeyInvalid, PasskeysNotConfigured, ServiceUnavailable

logger = logging.getLogger("ainative_auth")

CEREMONY_TIMEOUT = 300  # seconds, for the browser and for the challenge kept here
CREDENTIAL_MAX_LENGTH = 64 * 1024  # the JSON of a credential, as received


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str


def relying_party() -> RelyingParty:
    """The RP from ``SITE_URL`` (``PasskeysNotConfigured`` when it cannot be one)."""
    site = auth_settings.SITE_URL
    parts = urlsplit(str(site or ""))
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        raise PasskeysNotConfigured()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise PasskeysNotConfigured()  # an IP address cannot be an RP ID
    if parts.scheme == "http" and not (host == "localhost" or host.endswith(".localhost")):
        raise PasskeysNotConfigured()  # not a secure context
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    return RelyingParty(host, origin, str(auth_settings.SITE_NAME or host))


# --- challenges -------------------------------------------------------------------------


def _cache() -> Any:
    return caches[auth_settings.MFA_CACHE]


def _challenge_key(challenge_b64: str) -> str:
    digest = hashlib.sha256(challenge_b64.encode("ascii", "replace")).hexdigest()
    return f"ainative_auth:mfa:webauthn:{digest}"


def new_challenge(purpose: str, user_id: Any = None, **extra: str) -> bytes:
    challenge = secrets.token_bytes(32)
    data = {"purpose": purpose, "user_id": None if user_id is None else str(user_id),
            "expires_at": clock.time() + CEREMONY_TIMEOUT, **extra}
    try:
        _cache().set(_challenge_key(b64url(challenge)), data, timeout=CEREMONY_TIMEOUT + 1)
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        logger.error("mfa cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable() from exc
    return challenge


def _b64decode(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) > CREDENTIAL_MAX_LENGTH:
        raise PasskeyInvalid()
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise PasskeyInvalid() from exc


def check_credential(credential: Any) -> dict[str, Any]:
    """``credential`` as the JSON object it must be (``credential.toJSON()``), small."""
    if isinstance(credential, str):
        if len(credential) > CREDENTIAL_MAX_LENGTH:
            raise PasskeyInvalid()
        try:
            credential = json.loads(credential)
        except ValueError as exc:
            raise PasskeyInvalid() from exc
    if not isinstance(credential, dict):
        raise PasskeyInvalid()
    if len(json.dumps(credential, default=str)) > CREDENTIAL_MAX_LENGTH:
        raise PasskeyInvalid()
    response = credential.get("response")
    if not isinstance(response, dict) or not isinstance(credential.get("id"), str):
        raise PasskeyInvalid()
    return credential


def take_challenge(
    credential: dict[str, Any], purpose: str, user_id: Any = None
) -> tuple[bytes, dict[str, Any]]:
    """The challenge ``credential`` answers and what it was issued with, consumed;
    ``PasskeyInvalid`` unless it is ours, live, unused and issued for ``purpose`` (and
    ``user_id``)."""
    try:
        client_data = json.loads(_b64decode(credential["response"].get("clientDataJSON")))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PasskeyInvalid() from exc
    if not isinstance(client_data, dict) or not isinstance(client_data.get("challenge"), str):
        raise PasskeyInvalid()
    challenge_b64 = client_data["challenge"]
    if len(challenge_b64) > 128:
        raise PasskeyInvalid()
    key = _challenge_key(challenge_b64)
    try:
        cache = _cache()
        data = cache.get(key)
        consumed = data is not None and bool(cache.delete(key))
    except Exception as exc:  # noqa: BLE001
        logger.error("mfa cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable() from exc
    if (
        not consumed or not isinstance(data, dict) or data.get("purpose") != purpose
        or data.get("expires_at", 0) <= clock.time()
        or (user_id is not None and data.get("user_id") != str(user_id))
    ):
        raise PasskeyInvalid()
    return _b64decode(challenge_b64), data


# --- options ----------------------------------------------------------------------------


def registration_options(
    rp: RelyingParty, *, user_id: Any, user_handle: bytes, user_name: str,
    exclude: list[str],
) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptionsJSON`` for a new discoverable credential."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_id=user_handle, user_name=user_name,
        user_display_name=user_name,
        challenge=new_challenge("register", user_id, user_handle=b64url(user_handle)),
        timeout=CEREMONY_TIMEOUT * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=_b64decode(credential_id))
                             for credential_id in exclude],
    )
    return dict(json.loads(options_to_json(options)))


def authentication_options(rp: RelyingParty) -> dict[str, Any]:
    """``PublicKeyCredentialRequestOptionsJSON`` for a discoverable credential (no
    ``allowCredentials``: the authenticator offers the user's passkeys)."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    options = generate_authentication_options(
        rp_id=rp.id, challenge=new_challenge("authenticate"),
        timeout=CEREMONY_TIMEOUT * 1000,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return dict(json.loads(options_to_json(options)))


# --- verification -----------------------------------------------------------------------


def verify_registration(rp: RelyingParty, credential: dict[str, Any], challenge: bytes) -> Any:
    """py_webauthn's ``VerifiedRegistration``, user verification required."""
    from webauthn import verify_registration_response

    try:
        return verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, require_user_verification=True,
        )
    except Exception as exc:  # noqa: BLE001 - hostile input may raise anything below
        logger.info("passkey registration refused: %s", exc)
        raise PasskeyInvalid() from exc


def verify_assertion(rp: RelyingParty, credential: dict[str, Any], challenge: bytes, *,
                     public_key: bytes, sign_count: int) -> Any:
    """py_webauthn's ``VerifiedAuthentication``, user verification required; a sign
    counter that did not grow (a cloned authenticator) is refused by the library."""
    from webauthn import verify_authentication_response

    try:
        return verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=public_key,
            credential_current_sign_count=sign_count, require_user_verification=True,
        )
    except Exception as exc:  # noqa: BLE001
        logger.info("passkey assertion refused: %s", exc)
        raise PasskeyInvalid() from exc


def user_handle_of(credential: dict[str, Any]) -> str | None:
    """The assertion's ``userHandle`` (base64url), if it has one."""
    value = credential["response"].get("userHandle")
    return value if isinstance(value, str) and value else None


def new_user_handle() -> str:
    return b64url(secrets.token_bytes(32))


def decode(value: str) -> bytes:
    return _b64decode(value)
