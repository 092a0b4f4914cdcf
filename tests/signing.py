"""Helpers for the signed-request tests: v1 headers as the SDK makes them, and v2 headers
made by http-message-signatures' own signer (never by hand)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from ainative_auth import clock as app_clock

ORIGIN = "http://testserver"


def now() -> int:
    """The app's clock (frozen or not), in Unix seconds."""
    return int(app_clock.time())


def v1_signature(api_key: str, signing_secret: str, timestamp: str) -> str:
    """What ainative-python's ``APIKeyAuth._generate_signature`` computes."""
    mac = hmac.new(signing_secret.encode(), f"{api_key}{timestamp}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def v1_headers(api_key: str, signing_secret: str, timestamp: int | str | None = None,
               ) -> dict[str, str]:
    """Test-client META for a v1 request, the SDK's way."""
    stamp = str(now() if timestamp is None else timestamp)
    return {"HTTP_X_API_KEY": api_key, "HTTP_X_TIMESTAMP": stamp,
            "HTTP_X_SIGNATURE": v1_signature(api_key, signing_secret, stamp)}


class Message:
    """The smallest request the library's signer accepts: method, URL, a header dict."""

    def __init__(self, method: str, url: str, headers: dict[str, str] | None = None) -> None:
        self.method, self.url, self.headers = method, url, dict(headers or {})


def new_ed25519() -> tuple[Ed25519PrivateKey, str]:
    """A fresh Ed25519 private key and its public key as PEM SubjectPublicKeyInfo."""
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return private, pem.decode()


def sign_v2(
    method: str,
    url: str,
    *,
    key_id: str,
    secret: str | None = None,
    private_key: Ed25519PrivateKey | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    components: Sequence[str] = ("@method", "@target-uri"),
    created: int | None = None,
    nonce: str | None = "",
    label: str | None = None,
    include_alg: bool = True,
    expires: int | None = None,
) -> dict[str, str]:
    """Sign a request with ``HTTPMessageSigner`` (HMAC with ``secret``, or Ed25519 with
    ``private_key``) and return all of its headers by HTTP name.

    ``body`` makes the signer add and cover ``Content-Digest``. ``nonce=""`` (the default)
    draws a fresh one; ``None`` leaves it out.
    """
    algorithm: Any = algorithms.ED25519 if private_key is not None else algorithms.HMAC_SHA256
    material: Any = private_key if private_key is not None else str(secret).encode()
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: material}),
    )
    message = Message(method, url, headers)
    stamp = now() if created is None else created
    signer.sign(
        message,
        key_id=key_id,
        created=datetime.fromtimestamp(stamp, UTC),
        expires=None if expires is None else datetime.fromtimestamp(expires, UTC),
        nonce=secrets.token_urlsafe(16) if nonce == "" else nonce,
        label=label,
        include_alg=include_alg,
        covered_component_ids=components,
        body=body,
        # A Content-Digest the caller made itself (another algorithm, say) is signed as is.
        use_existing_digest="Content-Digest" in (headers or {}),
    )
    return message.headers


def as_meta(headers: dict[str, str]) -> dict[str, str]:
    """HTTP headers as Django test-client META keys (``Content-Digest`` →
    ``HTTP_CONTENT_DIGEST``); Content-Type is passed by the client itself."""
    return {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in headers.items() if name.lower() != "content-type"
    }
