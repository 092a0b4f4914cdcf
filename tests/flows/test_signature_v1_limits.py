"""A captured v1 signature is not a skeleton key.

v1 (``X-API-Key`` + ``X-Timestamp`` + ``X-Signature``) signs the key and the time, not the
method, path or body: one captured request can be replayed as any other for
``SIGNATURE_MAX_AGE`` seconds. So for a key with ``require_signature`` a v1 signature only
reads (GET, HEAD, OPTIONS); a write needs RFC 9421 (401 ``signature_required``).
``SIGNATURE_V1_ALLOW_WRITES`` re-allows v1 writes except on key management, and
``SIGNATURE_V1_ENABLED = False`` turns v1 off. A key made by a key is never less
protected than its maker (``signature_downgrade``).

The first tests are the security review's reproduction: with the same three headers,
``PATCH users/me`` and ``POST api-keys`` (which answered 201 with a new key and signing
secret).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.adapter import get_adapter
from ainative_auth.credentials import signatures
from ainative_auth.models import APIKey
from tests.conftest import assert_error
from tests.signing import ORIGIN, as_meta, sign_v2, v1_headers

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


def keys_url() -> str:
    return reverse("ainative_auth:api-keys")


def detail_url(key: APIKey) -> str:
    return reverse("ainative_auth:api-key-detail", args=[key.public_id])


def rotate_url(key: APIKey) -> str:
    return reverse("ainative_auth:api-key-rotate", args=[key.public_id])


@pytest.fixture
def strict(make_api_key: Any, verify: Any) -> Any:
    """A key with ``require_signature`` and full scopes (it may manage keys: its owner's
    address is verified)."""
    key = make_api_key(name="strict", require_signature=True)
    verify()
    return key


@pytest.fixture
def captured(strict: Any) -> dict[str, str]:
    """One v1 header set of ``strict``, as a proxy log or an APM trace would show it."""
    return v1_headers(strict.plaintext, strict.signing_secret)


def v2(issued: Any, method: str, path: str, body: dict | None = None) -> dict[str, str]:
    raw = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if raw else {}
    return as_meta(sign_v2(method, ORIGIN + path, key_id=issued.key.prefix,
                           secret=issued.signing_secret, body=raw, headers=headers))


def send(api: APIClient, method: str, path: str, body: dict | None, meta: dict[str, str]) -> Any:
    data = json.dumps(body) if body is not None else None
    return api.generic(method, path, data or "", content_type="application/json", **meta)


# --- the review's reproduction -----------------------------------------------------------


def test_a_captured_v1_request_cannot_write(api: APIClient, strict: Any,
                                            captured: dict[str, str]) -> None:
    response = send(api, "PATCH", ME, {"name": "Mallory"}, captured)
    body = assert_error(response, 401, "signature_required")
    assert body["detail"] == signatures.V2_NEEDED_TO_WRITE
    strict.key.user.refresh_from_db()
    assert get_adapter().get_name(strict.key.user) == "Alice"


def test_a_captured_v1_request_mints_no_key(api: APIClient, strict: Any,
                                            captured: dict[str, str]) -> None:
    before = APIKey.objects.count()
    response = send(api, "POST", keys_url(), {"name": "persist", "require_signature": True},
                    captured)
    body = assert_error(response, 401, "signature_required")
    assert "key" not in body and "signing_secret" not in body
    assert APIKey.objects.count() == before


def test_a_captured_v1_request_rotates_nothing(api: APIClient, strict: Any,
                                               captured: dict[str, str]) -> None:
    secret_hash = strict.key.secret_hash
    response = send(api, "POST", rotate_url(strict.key), None, captured)
    assert_error(response, 401, "signature_required")
    assert APIKey.objects.get(pk=strict.key.pk).secret_hash == secret_hash


def test_a_captured_v1_request_cannot_revoke_or_repoint_the_key(
    api: APIClient, strict: Any, captured: dict[str, str]
) -> None:
    from tests.signing import new_ed25519

    _, pem = new_ed25519()
    assert_error(send(api, "PATCH", detail_url(strict.key), {"public_key": pem}, captured),
                 401, "signature_required")
    assert_error(send(api, "DELETE", detail_url(strict.key), None, captured),
                 401, "signature_required")
    key = APIKey.objects.get(pk=strict.key.pk)
    assert key.public_key == "" and key.revoked_at is None


# --- what v1 still does ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_v1_still_reads(api: APIClient, strict: Any, captured: dict[str, str],
                        method: str) -> None:
    response = send(api, method, ME, None, captured)
    assert response.status_code == 200, response.content
    # The key list is a read too (prefixes only, never a secret).
    assert send(api, "GET", keys_url(), None, captured).status_code == 200


def test_the_sdk_scheme_still_works_for_keys_without_require_signature(
    api: APIClient, make_api_key: Any, verify: Any
) -> None:
    # Without require_signature the key alone is the credential: v1 adds a check and
    # takes nothing away, writes included.
    plain = make_api_key(name="plain")
    verify()
    response = send(api, "POST", keys_url(), {"name": "child"},
                    v1_headers(plain.plaintext, plain.signing_secret))
    assert response.status_code == 201, response.content


def test_writes_work_with_an_rfc_9421_signature(api: APIClient, strict: Any) -> None:
    body = {"name": "child", "require_signature": True}
    response = send(api, "POST", keys_url(), body, v2(strict, "POST", keys_url(), body))
    assert response.status_code == 201, response.content
    response = send(api, "POST", rotate_url(strict.key), None,
                    v2(strict, "POST", rotate_url(strict.key)))
    assert response.status_code == 200, response.content
    # The new signing secret signs the next write.
    rotated = SimpleNamespace(key=strict.key, signing_secret=response.json()["signing_secret"])
    renamed = {"name": "Alice B"}
    assert send(api, "PATCH", ME, renamed, v2(rotated, "PATCH", ME, renamed)).status_code == 200


def test_the_refusal_comes_before_the_hmac(api: APIClient, strict: Any) -> None:
    # Whatever the signature, the answer to a v1 write is "use v2": nothing to probe.
    garbage = {**v1_headers(strict.plaintext, "aks_not-the-secret")}
    assert_error(send(api, "POST", keys_url(), {"name": "x"}, garbage), 401,
                 "signature_required")


# --- the settings -----------------------------------------------------------------------


def test_v1_writes_can_be_re_allowed_but_never_on_key_management(
    api: APIClient, strict: Any, captured: dict[str, str], auth_settings: Any
) -> None:
    auth_settings(SIGNATURE_V1_ALLOW_WRITES=True)
    assert send(api, "PATCH", ME, {"name": "Alice C"}, captured).status_code == 200
    before = APIKey.objects.count()
    for method, url, body in (("POST", keys_url(), {"name": "persist"}),
                              ("POST", rotate_url(strict.key), None),
                              ("PATCH", detail_url(strict.key), {"name": "renamed"}),
                              ("DELETE", detail_url(strict.key), None)):
        response = send(api, method, url, body, captured)
        body_seen = assert_error(response, 401, "signature_required")
        assert body_seen["detail"] == signatures.V2_NEEDED_TO_WRITE, (method, url)
    key = APIKey.objects.get(pk=strict.key.pk)
    assert APIKey.objects.count() == before
    assert (key.name, key.secret_hash, key.revoked_at) == \
        ("strict", strict.key.secret_hash, None)


def test_v1_can_be_turned_off(api: APIClient, strict: Any, make_api_key: Any,
                              auth_settings: Any) -> None:
    auth_settings(SIGNATURE_V1_ENABLED=False)
    plain = make_api_key(name="plain")
    for issued in (strict, plain):
        response = send(api, "GET", ME, None,
                        v1_headers(issued.plaintext, issued.signing_secret))
        assert_error(response, 401, "signature_required")
    # RFC 9421 and unsigned keys (without require_signature) are unaffected.
    assert send(api, "GET", ME, None, v2(strict, "GET", ME)).status_code == 200
    assert api.get(ME, HTTP_X_API_KEY=plain.plaintext).status_code == 200


def test_the_middleware_applies_the_same_rule(client: Any, make_api_key: Any) -> None:
    issued = make_api_key(require_signature=True)
    headers = v1_headers(issued.plaintext, issued.signing_secret)
    assert client.get("/api/protected/whoami", **headers).status_code == 200
    assert_error(client.post("/api/protected/whoami", **headers), 401, "signature_required")


# --- a key made by a key is never less protected -------------------------------------------


def test_a_signing_key_cannot_create_a_key_that_does_not_sign(api: APIClient,
                                                              strict: Any) -> None:
    body = {"name": "weaker"}
    before = APIKey.objects.count()
    response = send(api, "POST", keys_url(), body, v2(strict, "POST", keys_url(), body))
    assert_error(response, 403, "signature_downgrade")
    assert APIKey.objects.count() == before


def test_a_signing_key_cannot_switch_signatures_off(api: APIClient, strict: Any,
                                                    make_api_key: Any) -> None:
    other = make_api_key(name="other", require_signature=True)
    body = {"require_signature": False}
    for target in (strict.key, other.key):
        url = detail_url(target)
        assert_error(send(api, "PATCH", url, body, v2(strict, "PATCH", url, body)), 403,
                     "signature_downgrade")
        assert APIKey.objects.get(pk=target.pk).require_signature is True


def test_a_signing_key_cannot_rotate_a_key_that_does_not_sign(api: APIClient, strict: Any,
                                                              make_api_key: Any) -> None:
    weak = make_api_key(name="weak")
    url = rotate_url(weak.key)
    assert_error(send(api, "POST", url, None, v2(strict, "POST", url)), 403,
                 "signature_downgrade")
    assert APIKey.objects.get(pk=weak.key.pk).secret_hash == weak.key.secret_hash
