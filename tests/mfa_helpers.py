"""Test helpers for MFA: a TOTP device turned on for a user, codes at any moment, and a
software WebAuthn authenticator (ES256, "none" attestation) that answers the options the
server hands out with the JSON a browser's ``credential.toJSON()`` gives."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ainative_auth import clock
from ainative_auth.mfa import totp

ORIGIN = "http://localhost:8000"
RP_ID = "localhost"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def code_now(secret: str, offset_steps: int = 0) -> str:
    """The code an authenticator app shows now (``offset_steps`` steps away)."""
    return totp.code_for(secret, clock.time() + offset_steps * totp.STEP_SECONDS)


def enable_totp(user: Any) -> tuple[str, list[str]]:
    """Turn an authenticator app on for ``user`` through the services; (secret, codes)."""
    from ainative_auth.mfa.services import factors
    from ainative_auth.services.verification import mark_email_verified

    mark_email_verified(user)
    setup = factors.begin_totp_setup(user, via=None)
    factors.confirm_totp(user, code_now(setup["secret"]), via=None)
    return setup["secret"], setup["backupCodes"]


@dataclass
class SoftAuthenticator:
    """One authenticator holding discoverable credentials (one per registration)."""

    origin: str = ORIGIN
    rp_id: str = RP_ID
    user_verified: bool = True
    backup_eligible: bool = False
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _flags(self, attested: bool) -> int:
        flags = 0x01 | (0x04 if self.user_verified else 0)
        if self.backup_eligible:
            flags |= 0x08 | 0x10
        return flags | (0x40 if attested else 0)

    def create(self, options: dict[str, Any], *, origin: str | None = None,
               rp_id: str | None = None, client_type: str = "webauthn.create") -> dict[str, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        credential_id = os.urandom(32)
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = (rp_hash + bytes([self._flags(True)]) + (0).to_bytes(4, "big")
                     + bytes(16) + len(credential_id).to_bytes(2, "big") + credential_id + cose)
        client_data = json.dumps({"type": client_type, "challenge": options["challenge"],
                                  "origin": origin or self.origin, "crossOrigin": False}).encode()
        self.credentials[b64url(credential_id)] = {
            "key": key, "user_handle": options["user"]["id"], "count": 0}
        return {
            "id": b64url(credential_id), "rawId": b64url(credential_id), "type": "public-key",
            "authenticatorAttachment": "platform", "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(cbor2.dumps(
                    {"fmt": "none", "attStmt": {}, "authData": auth_data})),
                "transports": ["internal"],
            },
        }

    def get(self, options: dict[str, Any], credential_id: str | None = None, *,
            origin: str | None = None, rp_id: str | None = None,
            count_step: int = 1) -> dict[str, Any]:
        credential_id = credential_id or next(iter(self.credentials))
        held = self.credentials[credential_id]
        held["count"] += count_step
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = (rp_hash + bytes([self._flags(False)])
                     + max(held["count"], 0).to_bytes(4, "big"))
        client_data = json.dumps({"type": "webauthn.get", "challenge": options["challenge"],
                                  "origin": origin or self.origin, "crossOrigin": False}).encode()
        signature = held["key"].sign(auth_data + hashlib.sha256(client_data).digest(),
                                     ec.ECDSA(hashes.SHA256()))
        return {
            "id": credential_id, "rawId": credential_id, "type": "public-key",
            "authenticatorAttachment": "platform", "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                "signature": b64url(signature), "userHandle": held["user_handle"],
            },
        }
