"""Signed API-key requests: v1, the published SDK's HMAC, and v2, RFC 9421.

**v1** (``ainative-python``'s scheme): ``X-API-Key``, ``X-Timestamp`` (Unix seconds) and
``X-Signature = base64(HMAC-SHA256(signing secret, api_key + timestamp))``. It proves that
the caller holds the signing secret, within ``SIGNATURE_MAX_AGE`` of the server's clock,
and nothing more: it covers no part of the request (method, path, query, body), so a
captured request can be replayed, with any other method, path or body, for the rest of its
window. A replay cache cannot fix that: the SDK sends the same signature for every request
in one second. The message is unambiguous only because keys have one fixed length
(``keys.API_KEY_LENGTH``, enforced by ``parse_api_key``) and the timestamp exactly 10 digits.

**v2** (RFC 9421 HTTP Message Signatures): ``Signature-Input`` and ``Signature``, verified by
http-message-signatures over a view of the Django request (``DjangoRequestMessage``). The
signature must cover the method and the target URI, and the body through
``Content-Digest`` (RFC 9530) whenever there is one; ``created`` must be inside the window
and ``nonce`` is single use (remembered in the ``THROTTLE_CACHE`` cache). ``keyid`` is the
key's prefix ``ak_<public id>``, so the signature alone is the credential.

Nothing here touches the database: ``authentication.py`` fetches the key and calls in.
The checks that do not depend on the key (header syntax, parameters, window, coverage)
run before the key is fetched and may say what is wrong; every failure after it (unknown
key, wrong algorithm for the key, bad signature, body digest) has the one same message,
so a prober learns nothing about which keys exist.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any

import http_sf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.cache import caches
from django.http import HttpRequest
from django.http.request import RawPostDataException
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageVerifier,
    HTTPSignatureAlgorithm,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from .. import clock
from ..conf import auth_settings
from ..exceptions import ServiceUnavailable, SignatureInvalid, SignatureRequired
from ..models import APIKey
from .keys import API_KEY_PREFIX, is_api_key_public_id, signing_secret_candidates

logger = logging.getLogger("ainative_auth")

V1_SIGNATURE_HEADER = "HTTP_X_SIGNATURE"  # X-Signature
V1_TIMESTAMP_HEADER = "HTTP_X_TIMESTAMP"  # X-Timestamp
V2_INPUT_HEADER = "HTTP_SIGNATURE_INPUT"  # Signature-Input
V2_SIGNATURE_HEADER = "HTTP_SIGNATURE"  # Signature

# What a failure after the key lookup says, whatever failed (see the module docstring).
DOES_NOT_VERIFY = "The request signature does not verify."


def is_v2(meta: dict[str, Any]) -> bool:
    """Whether the request carries RFC 9421 signature fields (then they decide)."""
    return V2_INPUT_HEADER in meta or V2_SIGNATURE_HEADER in meta


def is_v1(meta: dict[str, Any]) -> bool:
    return V1_SIGNATURE_HEADER in meta


def _http_request(request: Any) -> HttpRequest:
    """The Django request under a DRF ``Request`` (or the request itself)."""
    return getattr(request, "_request", request)


def _check_window(moment: int, what: str) -> None:
    max_age = int(auth_settings.SIGNATURE_MAX_AGE)
    if abs(clock.time() - moment) > max_age:
        raise SignatureInvalid(
            f"{what} is more than {max_age} seconds away from the server's clock."
        )


# --- v1: the SDK's HMAC -------------------------------------------------------------------

# Exactly 10 ASCII digits (R83): no sign, space, decimal point, exponent, Unicode digit or
# leading zero padding, and no value that could overflow anything. Valid until 2286.
_TIMESTAMP_RE = re.compile(r"[0-9]{10}")
# Standard base64 of 32 bytes with its padding: 43 characters and "=" (R84).
_V1_SIGNATURE_RE = re.compile(r"[A-Za-z0-9+/]{43}=")


def _v1_mac(value: str | None) -> bytes:
    if value is None or len(value) != 44 or _V1_SIGNATURE_RE.fullmatch(value) is None:
        raise SignatureInvalid("X-Signature must be the base64 of a 32-byte HMAC-SHA256.")
    mac = base64.b64decode(value, validate=True)
    # Only the canonical spelling: the last character's unused bits must be zero.
    if base64.b64encode(mac).decode("ascii") != value:
        raise SignatureInvalid("X-Signature is not canonical base64.")
    return mac


# Methods a v1 signature may be used for on a key with ``require_signature`` (RFC 9110's
# safe methods: they change nothing, so a captured request replayed in its window can
# read, but never write, create or rotate a key).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_v1_allowed(request: Any, key: APIKey) -> None:
    """Refuse (401 ``signature_required``) a v1-signed request that needs an RFC 9421
    signature: every one when ``SIGNATURE_V1_ENABLED`` is off, and, for a key with
    ``require_signature``, a write (any method but GET, HEAD, OPTIONS) unless
    ``SIGNATURE_V1_ALLOW_WRITES`` is on.

    v1 signs no method, path or body: one captured request of such a key would otherwise
    be replayable as any request for ``SIGNATURE_MAX_AGE`` seconds, including ``POST
    api-keys``, which answers with a new key and its signing secret.
    """
    if not auth_settings.SIGNATURE_V1_ENABLED:
        raise SignatureRequired(
            "v1 signatures (X-Signature) are turned off here: sign the request with "
            "RFC 9421 (Signature-Input and Signature)."
        )
    if (key.require_signature and _http_request(request).method not in SAFE_METHODS
            and not auth_settings.SIGNATURE_V1_ALLOW_WRITES):
        raise SignatureRequired(V2_NEEDED_TO_WRITE)


V2_NEEDED_TO_WRITE = (
    "This API key requires signatures and a v1 signature (X-Signature) signs no method, "
    "path or body: sign this request with RFC 9421 (Signature-Input and Signature)."
)


def verify_v1(request: Any, raw: str, key: APIKey, secret_hash: str) -> None:
    """Check the SDK's ``X-Timestamp``/``X-Signature`` for ``key``, whose ``X-API-Key``
    (``raw``) already matched ``secret_hash``; raise ``SignatureInvalid``.

    The signing secret checked is the one that goes with that hash: after a rotation, the
    old key signs with the old secret and the new key with the new one.
    """
    if key.public_key:
        raise SignatureInvalid("This API key only accepts Ed25519 (RFC 9421) signatures.")
    meta = request.META
    timestamp = meta.get(V1_TIMESTAMP_HEADER)
    if timestamp is None or len(timestamp) != 10 or _TIMESTAMP_RE.fullmatch(timestamp) is None:
        raise SignatureInvalid("X-Timestamp must be the Unix time in seconds (10 digits).")
    _check_window(int(timestamp), "X-Timestamp")
    mac = _v1_mac(meta.get(V1_SIGNATURE_HEADER))
    message = (raw + timestamp).encode("ascii")  # both are ASCII-only by now
    for secret in signing_secret_candidates(key.public_id, [secret_hash]):
        expected = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
        if hmac.compare_digest(mac, expected):
            return
    raise SignatureInvalid(DOES_NOT_VERIFY)


# --- v2: RFC 9421 -------------------------------------------------------------------------

# Headers longer than this are refused before parsing (a real one is ~250 characters).
_V2_HEADER_MAX_LENGTH = 4096
# `nonce`: at least 96 bits' worth of characters (R85), and a sane upper bound.
NONCE_MIN_LENGTH, NONCE_MAX_LENGTH = 16, 256
# RFC 9421 section 2.3's signature parameters; anything else is refused.
_PARAMETERS = frozenset({"alg", "created", "expires", "keyid", "nonce", "tag"})
_ALGORITHMS = {
    algorithms.HMAC_SHA256.algorithm_id: algorithms.HMAC_SHA256,
    algorithms.ED25519.algorithm_id: algorithms.ED25519,
}


class DjangoRequestMessage:
    """A Django request as http-message-signatures' message interface: ``method``,
    ``url`` (absolute and encoded) and ``headers`` (``items()`` of name/value strings).

    The URL is ``request.build_absolute_uri()``: the scheme and host as Django sees them,
    i.e. after ``SECURE_PROXY_SSL_HEADER``, ``USE_X_FORWARDED_HOST``/``_PORT`` and
    ``ALLOWED_HOSTS``, with the path re-encoded by Django. A proxy in front must keep the
    Host (or forward it the way those settings say), the scheme, the path and query as
    sent, the body and the signature fields.
    """

    def __init__(self, request: HttpRequest) -> None:
        self.method = request.method or ""
        self.url = request.build_absolute_uri()
        self.headers = request.headers


@dataclass(frozen=True)
class SignedRequest:
    """What ``read_v2`` found in a request's signature fields: well formed, inside the
    window, covering what it must. Not yet verified."""

    public_id: str
    key_id: str
    algorithm: str | None  # the `alg` parameter, when given
    nonce: str
    message: DjangoRequestMessage
    body: bytes


def _reject_duplicates(name: str, context: str) -> None:
    raise ValueError(f"duplicate {context} key {name!r}")


def _parse_dictionary(meta: dict[str, Any], header: str, field: str) -> dict[str, Any]:
    value = meta.get(header)
    if value is None:
        raise SignatureInvalid(f"{field} is missing: send both Signature-Input and Signature.")
    if len(value) > _V2_HEADER_MAX_LENGTH:
        raise SignatureInvalid(f"{field} is too long.")
    try:
        parsed = http_sf.parse(value.encode("latin-1"), tltype="dictionary",
                               on_duplicate_key=_reject_duplicates)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise SignatureInvalid(f"{field} is not a valid structured field dictionary.") from exc
    if not isinstance(parsed, dict):  # pragma: no cover - tltype="dictionary" returns one
        raise SignatureInvalid(f"{field} is not a dictionary.")
    return parsed


def _body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RawPostDataException as exc:
        # Something read the stream before authentication: the body cannot be checked.
        logger.error("signed request: the body was consumed before authentication")
        raise SignatureInvalid("The request body could not be checked.") from exc


def _check_coverage(components: list[tuple[Any, dict]], has_query: bool, has_body: bool) -> None:
    names: set[str] = set()
    digest = False
    for name, params in components:
        if not isinstance(name, str):
            raise SignatureInvalid("Covered components must be strings.")
        if name == "content-digest" and not set(params) - {"key", "sf"}:
            digest = True
        if not params:
            names.add(name)
    if "@method" not in names:
        raise SignatureInvalid('The signature must cover "@method".')
    if "@target-uri" not in names and not (
        {"@authority", "@path"} <= names and (not has_query or "@query" in names)
    ):
        raise SignatureInvalid(
            'The signature must cover "@target-uri" (or "@authority", "@path" and, with a '
            'query, "@query").'
        )
    if has_body and not digest:
        raise SignatureInvalid('A request with a body must sign its "content-digest".')


def _check_times(created: Any, expires: Any) -> None:
    if type(created) is not int:
        raise SignatureInvalid('The signature needs an integer "created" parameter.')
    _check_window(created, '"created"')
    if expires is not None and (type(expires) is not int or expires < clock.time()):
        raise SignatureInvalid('The signature has expired ("expires").')


def read_v2(request: Any) -> SignedRequest:
    """Parse and check the signature fields of ``request`` without any key: one
    signature, its parameters, the window and the covered components.
    Raise ``SignatureInvalid`` saying what is wrong."""
    http_request = _http_request(request)
    meta = http_request.META
    inputs = _parse_dictionary(meta, V2_INPUT_HEADER, "Signature-Input")
    signatures = _parse_dictionary(meta, V2_SIGNATURE_HEADER, "Signature")
    if len(inputs) != 1 or len(signatures) != 1:
        raise SignatureInvalid("Send exactly one signature (one label).")
    (label, (components, params)), = inputs.items()
    if label not in signatures:
        raise SignatureInvalid("Signature-Input and Signature name different labels.")
    if not isinstance(components, list):
        raise SignatureInvalid("The Signature-Input member must be an inner list.")
    if not isinstance(signatures[label][0], bytes):
        raise SignatureInvalid("The Signature member must be a byte sequence.")
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id.startswith(API_KEY_PREFIX) or \
            not is_api_key_public_id(key_id[len(API_KEY_PREFIX):]):
        raise SignatureInvalid('"keyid" must be the key\'s prefix, ak_<id>.')
    unknown = set(params) - _PARAMETERS
    if unknown:
        raise SignatureInvalid(f"Unknown signature parameter {sorted(unknown)[0]!r}.")
    algorithm = params.get("alg")
    if algorithm is not None and (not isinstance(algorithm, str)
                                  or algorithm not in _ALGORITHMS):
        raise SignatureInvalid('"alg" must be the string "hmac-sha256" or "ed25519".')
    _check_times(params.get("created"), params.get("expires"))
    nonce = params.get("nonce")
    if not isinstance(nonce, str) or not NONCE_MIN_LENGTH <= len(nonce) <= NONCE_MAX_LENGTH:
        raise SignatureInvalid(
            f'The signature needs a "nonce" of {NONCE_MIN_LENGTH} to {NONCE_MAX_LENGTH} '
            "characters, new for every request."
        )
    body = _body(http_request)
    _check_coverage(components, bool(meta.get("QUERY_STRING")), bool(body))
    return SignedRequest(
        public_id=key_id[len(API_KEY_PREFIX):],
        key_id=key_id,
        algorithm=algorithm,
        nonce=nonce,
        message=DjangoRequestMessage(http_request),
        body=body,
    )


class _Verifier(HTTPMessageVerifier):
    """The library's verifier, judging ``created``/``expires`` by the app's clock and
    ``SIGNATURE_MAX_AGE`` (either way), like v1, instead of the wall clock and 5 s."""

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        try:
            _check_times(sig_input.params.get("created"), sig_input.params.get("expires"))
        except SignatureInvalid as exc:
            raise InvalidSignature(str(exc.detail)) from exc


class _OneKey(HTTPSignatureKeyResolver):
    """Resolves the one key this request named; verification only."""

    def __init__(self, key_id: str, material: Any) -> None:
        self.key_id, self.material = key_id, material

    def resolve_public_key(self, key_id: str) -> Any:
        return self.material if key_id == self.key_id else None

    def resolve_private_key(self, key_id: str) -> Any:  # pragma: no cover - never signs
        raise KeyError(key_id)


@functools.lru_cache(maxsize=256)
def _ed25519_key(pem: str) -> Ed25519PublicKey:
    key = load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):  # pragma: no cover - validated on input
        raise ValueError("not an Ed25519 key")
    return key


def verify_v2(signed: SignedRequest, key: APIKey, secret_hashes: list[str]) -> None:
    """Verify ``signed`` (from ``read_v2``) as a signature by ``key``, then spend its
    nonce; raise ``SignatureInvalid``.

    A key with a public key accepts ``ed25519`` only; any other key ``hmac-sha256`` with
    its signing secret (the current one, or during a rotation overlap the previous one:
    ``secret_hashes`` are the live hashes).
    """
    materials: list[Any]
    algorithm: type[HTTPSignatureAlgorithm]
    if key.public_key:
        algorithm = algorithms.ED25519
        materials = [_ed25519_key(key.public_key)]
    else:
        algorithm = algorithms.HMAC_SHA256
        materials = [secret.encode("utf-8")
                     for secret in signing_secret_candidates(key.public_id, secret_hashes)]
    if signed.algorithm is not None and signed.algorithm != algorithm.algorithm_id:
        raise SignatureInvalid(DOES_NOT_VERIFY)
    for material in materials:
        verifier = _Verifier(signature_algorithm=algorithm,
                             key_resolver=_OneKey(signed.key_id, material))
        try:
            # `body` makes the library check Content-Digest against these exact bytes.
            verifier.verify(signed.message, max_age=None, body=signed.body)
        except (HTTPMessageSignaturesException, ValueError, TypeError):
            continue
        break
    else:
        raise SignatureInvalid(DOES_NOT_VERIFY)
    _spend_nonce(key.public_id, signed.nonce)


def _spend_nonce(public_id: str, nonce: str) -> None:
    """Remember ``nonce`` for this key until no signature carrying it can be inside the
    window any more (2 × ``SIGNATURE_MAX_AGE``); refuse it if it is already there.

    ``cache.add`` is atomic on Redis and on the local-memory cache, so of two concurrent
    requests with one nonce exactly one passes. Across processes only a shared cache
    (Redis) remembers; the local-memory cache also forgets under memory pressure.
    """
    digest = hashlib.sha256(nonce.encode("utf-8")).hexdigest()[:32]
    cache_key = f"ainative_auth:signature-nonce:{public_id}:{digest}"
    timeout = 2 * int(auth_settings.SIGNATURE_MAX_AGE) + 1
    try:
        fresh = caches[auth_settings.THROTTLE_CACHE].add(cache_key, 1, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        logger.error("signature nonce cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable() from exc
    if not fresh:
        raise SignatureInvalid("This nonce was already used: sign every request anew.")
