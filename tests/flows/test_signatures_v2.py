"""v2 signed requests: RFC 9421 HTTP Message Signatures, signed here by
http-message-signatures' own ``HTTPMessageSigner`` (``tests/signing.py``)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from ainative_auth.authentication import authenticate_api_key, presents_api_key
from ainative_auth.exceptions import SignatureInvalid
from ainative_auth.models import APIKey
from ainative_auth.services import api_keys
from tests.conftest import error_code
from tests.signing import ORIGIN, as_meta, new_ed25519, now, sign_v2, v1_headers

ME = "/api/v1/users/me"
BALANCE = "/api/v1/public/credits/balance"

pytestmark = pytest.mark.django_db


def send(api: APIClient, method: str, path: str, headers: dict[str, str],
         body: bytes = b"", **extra: Any) -> Any:
    return api.generic(method, path, body, content_type="application/json",
                       **as_meta(headers), **extra)


def hmac_get(issued: Any, path: str = ME, **kwargs: Any) -> dict[str, str]:
    return sign_v2("GET", ORIGIN + path, key_id=issued.key.prefix,
                   secret=issued.signing_secret, **kwargs)


def patch_me(issued: Any, body: bytes, **kwargs: Any) -> dict[str, str]:
    return sign_v2("PATCH", ORIGIN + ME, key_id=issued.key.prefix,
                   secret=issued.signing_secret, body=body,
                   headers={"Content-Type": "application/json"}, **kwargs)


# --- valid signatures -----------------------------------------------------------------------


def test_a_valid_hmac_signature_is_the_whole_credential(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key(scopes=["credits:read"])
    for path in (ME, BALANCE):
        response = send(api, "GET", path, hmac_get(issued, path))
        assert response.status_code == 200, response.content
    response = send(api, "GET", ME, hmac_get(issued))
    assert response.json()["email"] == "alice@example.com"


def test_a_valid_ed25519_signature_authenticates(api: APIClient, make_api_key: Any) -> None:
    private, pem = new_ed25519()
    issued = make_api_key(public_key=pem, require_signature=True)
    headers = sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix, private_key=private)
    response = send(api, "GET", ME, headers)
    assert response.status_code == 200, response.content
    # While a public key is registered, the signing secret no longer signs.
    hmac_signed = send(api, "GET", ME, hmac_get(issued))
    assert hmac_signed.status_code == 401 and error_code(hmac_signed) == "signature_invalid"
    # Another Ed25519 key does not either.
    stranger, _ = new_ed25519()
    other = sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix, private_key=stranger)
    assert error_code(send(api, "GET", ME, other)) == "signature_invalid"


def test_a_signed_body_with_its_content_digest_is_accepted(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    body = json.dumps({"name": "Alice Signed"}).encode()
    response = send(api, "PATCH", ME, patch_me(issued, body), body)
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Alice Signed"


def test_sha512_content_digests_are_accepted(api: APIClient, make_api_key: Any) -> None:
    from http_message_signatures import ContentDigest

    class SHA512(ContentDigest):
        algorithm = "sha-512"

    issued = make_api_key()
    body = b'{"name": "Five Twelve"}'
    headers = {"Content-Type": "application/json", "Content-Digest": SHA512.create(body)}
    signed = sign_v2("PATCH", ORIGIN + ME, key_id=issued.key.prefix,
                     secret=issued.signing_secret, headers=headers,
                     components=("@method", "@target-uri", "content-digest"))
    assert "sha-512=" in signed["Content-Digest"]
    response = send(api, "PATCH", ME, signed, body)
    assert response.status_code == 200, response.content


def test_a_signed_request_costs_one_query(
    api: APIClient, make_api_key: Any, django_assert_num_queries: Any
) -> None:
    issued = make_api_key(scopes=["credits:read"])
    assert send(api, "GET", BALANCE, hmac_get(issued, BALANCE)).status_code == 200
    headers = hmac_get(issued, BALANCE)
    with django_assert_num_queries(1):
        assert send(api, "GET", BALANCE, headers).status_code == 200


def test_authority_path_and_query_may_stand_for_the_target_uri(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    plain = hmac_get(issued, components=("@method", "@authority", "@path"))
    assert send(api, "GET", ME, plain).status_code == 200
    # With a query, "@query" must be covered too.
    url = ME + "?page=2"
    without = hmac_get(issued, url, components=("@method", "@authority", "@path"))
    response = send(api, "GET", url, without)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"
    with_query = hmac_get(issued, url, components=("@method", "@authority", "@path", "@query"))
    assert send(api, "GET", url, with_query).status_code == 200


def test_alg_may_be_left_out_then_the_key_decides(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    assert send(api, "GET", ME, hmac_get(issued, include_alg=False)).status_code == 200


def test_a_matching_x_api_key_may_be_sent_too(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    response = send(api, "GET", ME, hmac_get(issued), HTTP_X_API_KEY=issued.plaintext)
    assert response.status_code == 200


def test_a_signature_satisfies_require_signature(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key(require_signature=True)
    assert error_code(api.get(ME, HTTP_X_API_KEY=issued.plaintext)) == "signature_required"
    assert send(api, "GET", ME, hmac_get(issued)).status_code == 200


# --- replays and the window -----------------------------------------------------------------


def test_a_replayed_nonce_is_401(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    headers = hmac_get(issued)
    assert send(api, "GET", ME, headers).status_code == 200
    replay = send(api, "GET", ME, headers)
    assert replay.status_code == 401 and error_code(replay) == "signature_invalid"
    # The same nonce in a fresh signature (new `created`) is a replay too.
    nonce = "n" * 22
    assert send(api, "GET", ME, hmac_get(issued, nonce=nonce)).status_code == 200
    again = send(api, "GET", ME, hmac_get(issued, nonce=nonce, created=now() - 1))
    assert error_code(again) == "signature_invalid"


def test_nonces_are_per_key(api: APIClient, make_api_key: Any) -> None:
    first, second = make_api_key(name="first"), make_api_key(name="second")
    nonce = "shared-nonce-1234567890"
    assert send(api, "GET", ME, hmac_get(first, nonce=nonce)).status_code == 200
    assert send(api, "GET", ME, hmac_get(second, nonce=nonce)).status_code == 200


def test_a_failed_request_does_not_spend_its_nonce(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    other = make_api_key(name="other")
    nonce = "unspent-nonce-1234567890"
    # Signed with the wrong secret: refused before the nonce is remembered.
    wrong = sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix,
                    secret=other.signing_secret, nonce=nonce)
    assert error_code(send(api, "GET", ME, wrong)) == "signature_invalid"
    assert send(api, "GET", ME, hmac_get(issued, nonce=nonce)).status_code == 200


@pytest.mark.parametrize("offset, ok", [
    (0, True), (-300, True), (300, True), (-301, False), (301, False), (-7200, False),
])
def test_created_must_be_inside_the_window(
    api: APIClient, make_api_key: Any, clock: Any, offset: int, ok: bool
) -> None:
    issued = make_api_key()
    response = send(api, "GET", ME, hmac_get(issued, created=int(clock.now) + offset))
    assert response.status_code == (200 if ok else 401), response.content
    if not ok:
        assert error_code(response) == "signature_invalid"


def test_an_expired_signature_is_401(api: APIClient, make_api_key: Any, clock: Any) -> None:
    issued = make_api_key()
    stale = hmac_get(issued, expires=int(clock.now) - 1)
    assert error_code(send(api, "GET", ME, stale)) == "signature_invalid"
    fresh = hmac_get(issued, expires=int(clock.now) + 60)
    assert send(api, "GET", ME, fresh).status_code == 200


def test_nonce_memory_outlasts_the_window(api: APIClient, make_api_key: Any,
                                          auth_settings: Any,
) -> None:
    from django.core.cache import caches

    auth_settings(SIGNATURE_MAX_AGE=120)
    issued = make_api_key()
    cache = caches["default"]
    seen: list[tuple[str, int]] = []
    original = cache.add

    def spy(key: str, value: Any, timeout: Any = None, version: Any = None) -> bool:
        if "signature-nonce" in key:
            seen.append((key, timeout))
        return original(key, value, timeout=timeout, version=version)

    cache.add = spy  # type: ignore[method-assign]
    try:
        assert send(api, "GET", ME, hmac_get(issued)).status_code == 200
    finally:
        del cache.add
    assert len(seen) == 1
    assert issued.key.public_id in seen[0][0] and seen[0][1] >= 240


# --- tampering --------------------------------------------------------------------------------


def test_a_swapped_path_is_401(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key(scopes=["*"])
    headers = hmac_get(issued, ME)
    response = send(api, "GET", BALANCE, headers)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"
    # Another method on the signed path is refused as well.
    assert error_code(send(api, "DELETE", ME, hmac_get(issued, ME))) == "signature_invalid"


def test_a_tampered_body_is_401_and_changes_nothing(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    signed_body = b'{"name": "Alice"}'
    headers = patch_me(issued, signed_body)
    response = send(api, "PATCH", ME, headers, b'{"name": "Mallory"}')
    assert response.status_code == 401 and error_code(response) == "signature_invalid"
    assert APIClient().get(ME, HTTP_X_API_KEY=issued.plaintext).json()["name"] == "Alice"


def test_a_body_without_a_signed_digest_is_401(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    body = b'{"name": "Unsigned Body"}'
    # Signed without `body`: no Content-Digest at all.
    headers = sign_v2("PATCH", ORIGIN + ME, key_id=issued.key.prefix,
                      secret=issued.signing_secret)
    response = send(api, "PATCH", ME, headers, body)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"
    # A digest header that is present but not covered by the signature is no better.
    from http_message_signatures import ContentDigest

    headers = sign_v2("PATCH", ORIGIN + ME, key_id=issued.key.prefix,
                      secret=issued.signing_secret,
                      headers={"Content-Digest": ContentDigest.create(body)})
    response = send(api, "PATCH", ME, headers, body)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"
    assert APIClient().get(ME, HTTP_X_API_KEY=issued.plaintext).json()["name"] == "Alice"


def test_the_signature_must_cover_method_and_target(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    for components in (("@target-uri",), ("@method",), ("@method", "@path"),
                       ("@method", "@authority"), ("@method", '"@target-uri";bs')):
        try:
            headers = hmac_get(issued, components=components)
        except Exception:  # noqa: BLE001 - the signer itself refuses some
            continue
        response = send(api, "GET", ME, headers)
        assert response.status_code == 401, components
        assert error_code(response) == "signature_invalid"


# --- wrong keys -----------------------------------------------------------------------------


def test_wrong_and_unknown_keys_get_the_same_answer(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    other = make_api_key(name="other")
    revoked = make_api_key(name="revoked")
    api_keys.revoke_key(revoked.key)
    cases = {
        "other key's secret": sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix,
                                      secret=other.signing_secret),
        "unknown keyid": sign_v2("GET", ORIGIN + ME, key_id="ak_" + "Z" * 12,
                                 secret=issued.signing_secret),
        "the API key as secret": sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix,
                                         secret=issued.plaintext),
        "ed25519 on an hmac key": sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix,
                                          private_key=new_ed25519()[0]),
    }
    bodies = set()
    for label, headers in cases.items():
        response = send(api, "GET", ME, headers)
        assert response.status_code == 401, label
        bodies.add(response.content)
    assert len(bodies) == 1 and b"signature_invalid" in bodies.pop()
    # A revoked key's valid signature: the key itself is refused.
    response = send(api, "GET", ME, hmac_get(revoked))
    assert response.status_code == 401 and error_code(response) == "api_key_invalid"


def test_an_x_api_key_naming_another_key_is_401(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    other = make_api_key(name="other")
    response = send(api, "GET", ME, hmac_get(issued), HTTP_X_API_KEY=other.plaintext)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"
    # The right id with a wrong secret is a bad key, even under a good signature.
    public_id = issued.key.public_id
    from ainative_auth.credentials import keys

    forged = keys.api_key_plaintext(public_id, "q" * 32)
    response = send(api, "GET", ME, hmac_get(issued), HTTP_X_API_KEY=forged)
    assert response.status_code == 401 and error_code(response) == "api_key_invalid"
    response = send(api, "GET", ME, hmac_get(issued), HTTP_X_API_KEY="garbage")
    assert response.status_code == 401 and error_code(response) == "api_key_invalid"


def test_v1_and_v2_together_are_refused(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    v1 = v1_headers(issued.plaintext, issued.signing_secret)
    response = send(api, "GET", ME, hmac_get(issued), **v1)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"


def test_during_a_rotation_overlap_both_signing_secrets_sign(
    api: APIClient, make_api_key: Any, clock: Any,
    auth_settings: Any,
) -> None:
    auth_settings(API_KEY_ROTATION_OVERLAP=600)
    old = make_api_key()
    new = api_keys.rotate_key(old.key)
    assert send(api, "GET", ME, hmac_get(old)).status_code == 200
    assert send(api, "GET", ME, hmac_get(new)).status_code == 200
    clock.advance(601)
    assert error_code(send(api, "GET", ME, hmac_get(old))) == "signature_invalid"
    assert send(api, "GET", ME, hmac_get(new)).status_code == 200


# --- malformed headers ------------------------------------------------------------------------


def _malformed(issued: Any) -> dict[str, dict[str, str]]:
    good = hmac_get(issued)
    second = hmac_get(issued, label="two")
    sig_input, signature = good["Signature-Input"], good["Signature"]
    label = sig_input.split("=", 1)[0]
    return {
        "garbage Signature-Input": {**good, "Signature-Input": "(((garbage"},
        "garbage Signature": {**good, "Signature": "not base64 at all"},
        "Signature as a token": {**good, "Signature": f"{label}=abc"},
        "Signature-Input alone": {"Signature-Input": sig_input},
        "Signature alone": {"Signature": signature},
        "empty headers": {"Signature-Input": "", "Signature": ""},
        "labels differ": {**good, "Signature": signature.replace(label + "=", "other=", 1)},
        "two signatures": {
            "Signature-Input": f"{sig_input}, {second['Signature-Input']}",
            "Signature": f"{signature}, {second['Signature']}",
        },
        "duplicate label": {"Signature-Input": f"{sig_input}, {sig_input}",
                            "Signature": f"{signature}, {signature}"},
        "item instead of inner list": {**good, "Signature-Input": f'{label}="@method"'},
        "huge Signature-Input": {**good, "Signature-Input": sig_input + ";x=" + "1" * 9000},
        "non-ASCII": {**good, "Signature-Input": sig_input.replace("@method", "@méthod")},
        "unknown parameter": {**good, "Signature-Input": sig_input + ';extra="1"'},
        "duplicate parameter": {**good, "Signature-Input": sig_input + ";created=1"},
        "keyid not ours": {**good, "Signature-Input": sig_input.replace(
            issued.key.prefix, "someone-else")},
        "keyid is the full key": {**good, "Signature-Input": sig_input.replace(
            issued.key.prefix, issued.plaintext)},
        "unsupported alg": {**good, "Signature-Input": sig_input.replace(
            '"hmac-sha256"', '"rsa-pss-sha512"')},
        "alg as a token": {**good, "Signature-Input": sig_input.replace(
            '"hmac-sha256"', "hmac-sha256")},
        "unknown component": {**good, "Signature-Input": sig_input.replace(
            '"@method"', '"@method" "@nonsense"')},
        "uppercase component": {**good, "Signature-Input": sig_input.replace(
            '"@method"', '"@METHOD"')},
    }


def test_malformed_signature_headers_are_401_never_500(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    for label, headers in _malformed(issued).items():
        response = send(api, "GET", ME, headers)
        assert response.status_code == 401, (label, response.content)
        assert error_code(response) == "signature_invalid", label
        assert response["WWW-Authenticate"]


@pytest.mark.parametrize("kwargs, label", [
    ({"nonce": None}, "no nonce"),
    ({"nonce": "short"}, "short nonce"),
    ({"nonce": "x" * 300}, "huge nonce"),
])
def test_the_nonce_is_required_and_sized(
    api: APIClient, make_api_key: Any, kwargs: dict[str, Any], label: str
) -> None:
    issued = make_api_key()
    response = send(api, "GET", ME, hmac_get(issued, **kwargs))
    assert response.status_code == 401, label
    assert error_code(response) == "signature_invalid"


def test_a_signature_without_created_is_401(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    good = hmac_get(issued)
    # Drop `created` from the parameters: the signature no longer matches either, but the
    # answer says why before any key is looked up.
    import re

    headers = {**good, "Signature-Input": re.sub(r";created=\d+", "", good["Signature-Input"])}
    response = send(api, "GET", ME, headers)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"
    assert "created" in response.json()["detail"]


def test_malformed_signatures_count_as_failed_keys_per_ip(
    api: APIClient, make_api_key: Any,
    auth_settings: Any,
) -> None:
    auth_settings.rates(api_key="3/minute")
    issued = make_api_key()
    other = make_api_key(name="other")
    bad = [{"Signature-Input": "x", "Signature": "y"}, hmac_get(issued, nonce=None),
           sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix, secret=other.signing_secret),
           {"Signature-Input": "x", "Signature": "y"}]
    codes = [send(api, "GET", ME, headers, REMOTE_ADDR="10.9.9.9").status_code
             for headers in bad]
    assert codes == [401, 401, 401, 429]


# --- behind a proxy ---------------------------------------------------------------------------


def test_the_target_uri_is_the_one_django_sees_behind_the_configured_proxy(
    api: APIClient, make_api_key: Any, settings: Any
) -> None:
    issued = make_api_key()
    public = "https://api.example.com"
    settings.ALLOWED_HOSTS = ["api.example.com", "testserver"]
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "api.example.com"}
    headers = sign_v2("GET", public + ME, key_id=issued.key.prefix,
                      secret=issued.signing_secret)
    # Without the proxy settings Django sees http://testserver: the signature does not match.
    response = send(api, "GET", ME, headers, **forwarded)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    headers = sign_v2("GET", public + ME, key_id=issued.key.prefix,
                      secret=issued.signing_secret)
    assert send(api, "GET", ME, headers, **forwarded).status_code == 200
    # A forged Host the project does not allow is a 400, not a signature check.
    headers = sign_v2("GET", "https://evil.example" + ME, key_id=issued.key.prefix,
                      secret=issued.signing_secret)
    response = send(api, "GET", ME, headers, HTTP_X_FORWARDED_PROTO="https",
                    HTTP_X_FORWARDED_HOST="evil.example")
    assert response.status_code == 400


# --- the function the middleware calls --------------------------------------------------------


def test_authenticate_api_key_judges_a_plain_django_request_without_x_api_key(
    make_api_key: Any,
) -> None:
    issued = make_api_key()
    factory = RequestFactory()
    body = b'{"name": "x"}'
    headers = sign_v2("POST", ORIGIN + "/anywhere", key_id=issued.key.prefix,
                      secret=issued.signing_secret, body=body,
                      headers={"Content-Type": "application/json"})
    request = factory.post("/anywhere", body, content_type="application/json",
                           **as_meta(headers))
    assert presents_api_key(request)
    user, key = authenticate_api_key(request, None)
    assert key.pk == issued.key.pk and user.pk == issued.key.user_id
    # The body is still readable afterwards.
    assert request.body == body
    tampered = factory.post("/anywhere", b'{"name": "y"}', content_type="application/json",
                            **as_meta(headers))
    with pytest.raises(SignatureInvalid):
        authenticate_api_key(tampered, None)
    assert not presents_api_key(factory.get("/anywhere"))


# --- Redis: nonces shared across processes ----------------------------------------------------


@pytest.mark.redis
def test_nonces_live_in_the_shared_cache(api: APIClient, make_api_key: Any) -> None:
    import redis

    issued = make_api_key()
    headers = hmac_get(issued)
    assert send(api, "GET", ME, headers).status_code == 200
    # Another process would see the nonce: it is in Redis itself, not in this process.
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    found = [name for name in client.scan_iter(match="*signature-nonce*")
             if issued.key.public_id.encode() in name]
    assert len(found) == 1
    assert 0 < client.ttl(found[0]) <= 601
    assert error_code(send(api, "GET", ME, headers)) == "signature_invalid"


def test_the_signing_secret_is_never_in_the_database(make_api_key: Any) -> None:
    issued = make_api_key()
    dumped = json.dumps(list(APIKey.objects.values()), default=str)
    assert issued.signing_secret[4:20] not in dumped


def test_of_concurrent_requests_with_one_nonce_exactly_one_passes() -> None:
    from ainative_auth.credentials.signatures import _spend_nonce
    from tests.concurrency import run_together

    def spend() -> str:
        try:
            _spend_nonce("Concurrent01", "the-same-nonce-for-all-of-them")
        except SignatureInvalid:
            return "replay"
        return "ok"

    outcomes = run_together([spend] * 8)
    assert sorted(outcomes) == ["ok"] + ["replay"] * 7


def test_the_docs_worked_examples_are_what_the_library_signs() -> None:
    """The signing page's v2 examples, re-made by http-message-signatures with its fixed
    inputs: a client in another language can check its bytes against them."""
    from datetime import UTC, datetime
    from pathlib import Path

    from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

    from tests.signing import Message

    signing_page = (Path(__file__).resolve().parents[2] / "docs" / "signing.md").read_text()
    prefix, secret = "ak_Xq3fT9bLm2Pz", "aks_2kq7yJ0m4Zb9TQ1xVt8WnR3cLp6HsD5fGa0eUi7oYwE"
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={prefix: secret.encode()}),
    )
    created = datetime.fromtimestamp(1767225600, UTC)
    examples = [
        ("GET", "http://127.0.0.1:8000/api/v1/public/credits/balance", None,
         "b3k9Zq1xT7mV2pL8wR4sN6yC"),
        ("PATCH", "http://127.0.0.1:8000/api/v1/users/me", b'{"name": "Alice"}',
         "Q8v2Lm5Xr9Tz1Kc4Wb7Np3Hd"),
    ]
    for method, url, body, nonce in examples:
        options: dict[str, Any] = {
            "key_id": prefix, "created": created, "nonce": nonce, "label": "sig1",
            "covered_component_ids": ("@method", "@target-uri"), "body": body,
        }
        base = signer.prepare(Message(method, url), **options).signature_base.decode()
        assert f"```\n{base}\n```" in signing_page or base in signing_page, method
        message = Message(method, url)
        signer.sign(message, **options)
        for name, value in message.headers.items():
            assert f"{name}: {value}" in signing_page, (method, name)
