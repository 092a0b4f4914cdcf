"""TOTP (RFC 6238 on pyotp) and recovery codes: the primitives, no database.

A TOTP code is judged by its **time step**, not by its text: ``matching_step`` answers
which of the steps now-1, now, now+1 (one step of clock drift each way) the code is for,
and the caller accepts it only for a step later than the last one accepted (stored on
the device), so a code works once, and so does every other spelling of it. Only exactly
six ASCII digits are a code ("１２３４５６", "+123456", "0123456" or "123 456" are not):
allauth accepted other representations of a used code (65.20.1) and reused codes inside
the window (65.22.0).

Recovery codes have 60 random bits (12 characters of a 32-letter alphabet without 0, 1,
i, l, o, u), are shown once, and are stored as an HMAC keyed with the app's signing key
and bound to the user, so a leaked table is no list of working codes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

import pyotp

from ..credentials.keys import signing_key, verification_keys

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
_CODE_RE = re.compile(r"[0-9]{6}", re.ASCII)


def new_secret() -> str:
    """A new 160-bit secret, base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI authenticator apps scan (account = the email)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer or None)


def qr_code_data_uri(text: str) -> str:
    """``text`` as a QR code, an SVG ``data:`` URI (segno: pure Python, no system library)."""
    import segno

    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))


def clean_code(code: Any) -> str | None:
    """``code`` as six ASCII digits (surrounding whitespace dropped), or None."""
    if not isinstance(code, str):
        return None
    code = code.strip()
    return code if _CODE_RE.fullmatch(code) else None


def matching_step(secret: str, code: Any, at: float) -> int | None:
    """The time step (now ± ``DRIFT_STEPS``) whose code is ``code``, or None. Every
    candidate is compared (constant time), so timing does not tell which one matched."""
    cleaned = clean_code(code)
    if cleaned is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(at // STEP_SECONDS)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), cleaned.encode()):
            found = step
    return found


def code_for(secret: str, at: float) -> str:
    """The code of the step holding ``at`` (what an authenticator app shows then)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(
        int(at // STEP_SECONDS))


# --- recovery codes --------------------------------------------------------------------

RECOVERY_CODE_COUNT = 10
_ALPHABET = "23456789abcdefghjkmnpqrstvwxyz"  # 30 letters, none to misread
_RECOVERY_LENGTH = 12  # 12 * log2(30) = 58.9 bits
_RECOVERY_RE = re.compile(rf"[{_ALPHABET}]{{{_RECOVERY_LENGTH}}}", re.ASCII)


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``count`` new codes, shown as ``xxxx-xxxx-xxxx``."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def clean_recovery_code(code: Any) -> str | None:
    """A typed recovery code without its hyphens and spaces, lower-cased; None if it
    cannot be one."""
    if not isinstance(code, str) or len(code) > 64:
        return None
    cleaned = code.strip().lower().replace("-", "").replace(" ", "")
    return cleaned if _RECOVERY_RE.fullmatch(cleaned) else None


def _recovery_hash(user_pk: Any, cleaned: str, key: str) -> str:
    mac_key = hashlib.sha256(f"ainative-mfa-recovery|{key}".encode()).digest()
    return hmac.new(mac_key, f"{user_pk}|{cleaned}".encode(), hashlib.sha256).hexdigest()


def recovery_code_hash(user_pk: Any, code: str) -> str:
    """What is stored for ``code`` (already cleaned or as shown)."""
    cleaned = clean_recovery_code(code)
    if cleaned is None:  # pragma: no cover - only our own codes are hashed
        raise ValueError("not a recovery code")
    return _recovery_hash(user_pk, cleaned, signing_key())


def recovery_code_candidates(user_pk: Any, code: Any) -> list[str]:
    """The hashes ``code`` may be stored as (one per signing key still accepted, so a key
    rotation keeps the codes working); [] for what cannot be a code."""
    cleaned = clean_recovery_code(code)
    if cleaned is None:
        return []
    return [_recovery_hash(user_pk, cleaned, key) for key in verification_keys()]
