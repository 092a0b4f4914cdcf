"""v1 signed requests, the published SDK's scheme: ``X-Timestamp`` and
``X-Signature = base64(HMAC-SHA256(signing secret, api_key + timestamp))`` beside
``X-API-Key`` (R82-R87, the F24 fuzz list)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from ainative_auth.authentication import authenticate_api_key
from ainative_auth.credentials import keys
from ainative_auth.exceptions import SignatureInvalid
from ainative_auth.models import APIKey
from ainative_auth.services import api_keys
from tests.conftest import error_code
from tests.signing import new_ed25519, now, v1_headers, v1_signature

ME = "/api/v1/users/me"
BALANCE = "/api/v1/public/credits/balance"

pytestmark = pytest.mark.django_db


def test_a_valid_signature_authenticates_as_the_owner(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key(scopes=["credits:read"])
    for path in (ME, BALANCE):
        response = api.get(path, **v1_headers(issued.plaintext, issued.signing_secret))
        assert response.status_code == 200, response.content
    assert api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret)).json()[
        "email"] == "alice@example.com"


def test_a_signed_request_costs_the_same_one_query(
    api: APIClient, make_api_key: Any, django_assert_num_queries: Any
) -> None:
    issued = make_api_key(scopes=["credits:read"])
    assert api.get(BALANCE, HTTP_X_API_KEY=issued.plaintext).status_code == 200  # last_used
    with django_assert_num_queries(1):
        response = api.get(BALANCE, **v1_headers(issued.plaintext, issued.signing_secret))
    assert response.status_code == 200


def test_a_wrong_signature_is_401_signature_invalid(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    other = make_api_key(name="other")
    for secret in (other.signing_secret, "aks_" + "A" * 43, issued.plaintext):
        response = api.get(ME, **v1_headers(issued.plaintext, secret))
        assert response.status_code == 401
        assert error_code(response) == "signature_invalid"
        assert response["WWW-Authenticate"]


def test_the_signature_binds_the_key_and_the_timestamp(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    stamp = str(now())
    good = v1_signature(issued.plaintext, issued.signing_secret, stamp)
    moved = api.get(ME, HTTP_X_API_KEY=issued.plaintext, HTTP_X_TIMESTAMP=str(now() - 1),
                    HTTP_X_SIGNATURE=good)
    assert moved.status_code == 401 and error_code(moved) == "signature_invalid"
    assert api.get(ME, HTTP_X_API_KEY=issued.plaintext, HTTP_X_TIMESTAMP=stamp,
                   HTTP_X_SIGNATURE=good).status_code == 200


def test_failures_before_the_key_check_look_like_an_unknown_key(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    public_id, _ = keys.parse_api_key(issued.plaintext)
    wrong_secret = keys.api_key_plaintext(public_id, "q" * 32)
    unknown = keys.api_key_plaintext("Z" * 12, "q" * 32)
    bodies = set()
    for raw in (wrong_secret, unknown, "garbage"):
        for headers in ({"HTTP_X_API_KEY": raw}, v1_headers(raw, issued.signing_secret),
                        {**v1_headers(raw, issued.signing_secret), "HTTP_X_SIGNATURE": "x"}):
            response = api.get(ME, **headers)
            assert response.status_code == 401
            bodies.add(response.content)
    assert len(bodies) == 1
    assert b"api_key_invalid" in bodies.pop()


def test_a_revoked_key_with_a_valid_signature_is_still_401(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    api_keys.revoke_key(issued.key)
    response = api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret))
    assert response.status_code == 401 and error_code(response) == "api_key_invalid"


# --- the window (R83) ---------------------------------------------------------------------


@pytest.mark.parametrize("offset, ok", [
    (0, True), (-300, True), (300, True), (-301, False), (301, False), (-86400, False),
])
def test_the_timestamp_must_be_within_the_window_either_way(
    api: APIClient, make_api_key: Any, clock: Any, offset: int, ok: bool
) -> None:
    issued = make_api_key()
    stamp = int(clock.now) + offset
    response = api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret, stamp))
    assert response.status_code == (200 if ok else 401), response.content
    if not ok:
        assert error_code(response) == "signature_invalid"


def test_the_window_is_the_setting(
    api: APIClient, make_api_key: Any, clock: Any, auth_settings: Any,
) -> None:
    auth_settings(SIGNATURE_MAX_AGE=30)
    issued = make_api_key()
    assert api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret,
                                    int(clock.now) - 30)).status_code == 200
    assert api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret,
                                    int(clock.now) - 31)).status_code == 401


def test_a_signature_expires_with_its_window(
    api: APIClient, make_api_key: Any, clock: Any
) -> None:
    issued = make_api_key()
    headers = v1_headers(issued.plaintext, issued.signing_secret, int(clock.now))
    assert api.get(ME, **headers).status_code == 200
    # v1 cannot stop a replay inside the window (documented): the same headers work again...
    assert api.get(ME, **headers).status_code == 200
    clock.advance(301)
    # ...until the window is over.
    assert error_code(api.get(ME, **headers)) == "signature_invalid"


# --- strict parsing (R83, R84, F24) -------------------------------------------------------


BAD_TIMESTAMPS = {
    "empty": "",
    "letters": "abcdefghij",
    "fullwidth digits": "\uff11" * 10,
    "arabic-indic digits": "\u0661" * 10,
    "plus sign": "+{now}",
    "minus sign": "-{now}",
    "leading space": " {now}",
    "trailing space": "{now} ",
    "trailing newline": "{now}\n",
    "float": "{now}.0",
    "exponent": "1.7e9",
    "hex": "0x6553F100",
    "milliseconds": "{now}000",
    "40 digits": "9" * 40,
    "9 digits": "999999999",
    "leading zero": "0{now}",
    "NUL": "{now}\x00",
    "64 KB": "1" * 65536,
}


@pytest.mark.parametrize("label", sorted(BAD_TIMESTAMPS))
def test_malformed_timestamps_are_401_signature_invalid(
    api: APIClient, make_api_key: Any, label: str
) -> None:
    issued = make_api_key()
    stamp = BAD_TIMESTAMPS[label].format(now=now())
    # Signed over the exact malformed string: only its form is wrong.
    response = api.get(ME, HTTP_X_API_KEY=issued.plaintext, HTTP_X_TIMESTAMP=stamp,
                       HTTP_X_SIGNATURE=v1_signature(issued.plaintext, issued.signing_secret,
                                                     stamp))
    assert response.status_code == 401, (label, response.content)
    assert error_code(response) == "signature_invalid"


def _mac(issued: Any, stamp: str) -> bytes:
    return hmac.new(issued.signing_secret.encode(), f"{issued.plaintext}{stamp}".encode(),
                    hashlib.sha256).digest()


def _bad_signatures(issued: Any, stamp: str) -> dict[str, str]:
    mac = _mac(issued, stamp)
    good = base64.b64encode(mac).decode()
    # The last base64 character carries 2 unused bits: set one for a non-canonical twin.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(good[42]) | 1]
    return {
        "hex": mac.hex(),
        "no padding": good.rstrip("="),
        "extra padding": good + "=",
        "non-canonical last character": good[:42] + last + "=",
        "31 bytes": base64.b64encode(mac[:31]).decode(),
        "33 bytes": base64.b64encode(mac + b"\x00").decode(),
        "64 KB": "A" * 65536,
        "empty": "",
        "whitespace around": f" {good} ",
        "line break inside": good[:20] + "\n" + good[20:],
        "non-ASCII": good[:42] + "\u00e9=",
        "garbage": "!" * 44,
    }


def test_url_safe_base64_is_refused(api: APIClient, make_api_key: Any, clock: Any) -> None:
    issued = make_api_key()
    # Find a second whose signature has "+" or "/", so the URL-safe spelling differs.
    for offset in range(200):
        stamp = str(int(clock.now) - offset)
        good = base64.b64encode(_mac(issued, stamp)).decode()
        if "+" in good or "/" in good:
            break
    else:  # pragma: no cover - (62/64)**43 per try, 200 tries
        raise AssertionError("no signature with + or /")
    urlsafe = base64.urlsafe_b64encode(_mac(issued, stamp)).decode()
    response = api.get(ME, HTTP_X_API_KEY=issued.plaintext, HTTP_X_TIMESTAMP=stamp,
                       HTTP_X_SIGNATURE=urlsafe)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"
    assert api.get(ME, HTTP_X_API_KEY=issued.plaintext, HTTP_X_TIMESTAMP=stamp,
                   HTTP_X_SIGNATURE=good).status_code == 200


def test_malformed_signatures_are_401_signature_invalid(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    stamp = str(now())
    bad = _bad_signatures(issued, stamp)
    for label, value in bad.items():
        response = api.get(ME, HTTP_X_API_KEY=issued.plaintext, HTTP_X_TIMESTAMP=stamp,
                           HTTP_X_SIGNATURE=value)
        assert response.status_code == 401, (label, response.content)
        assert error_code(response) == "signature_invalid", label
    # The well-formed one, for contrast.
    assert api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret, stamp)
                   ).status_code == 200


def test_a_signature_without_a_timestamp_is_401(api: APIClient, make_api_key: Any) -> None:
    issued = make_api_key()
    headers = v1_headers(issued.plaintext, issued.signing_secret)
    del headers["HTTP_X_TIMESTAMP"]
    response = api.get(ME, **headers)
    assert response.status_code == 401 and error_code(response) == "signature_invalid"


def test_signature_failures_count_as_failed_keys_per_ip(
    api: APIClient, make_api_key: Any,
    auth_settings: Any,
) -> None:
    auth_settings.rates(api_key="3/minute")
    issued = make_api_key()
    codes = [
        api.get(ME, HTTP_X_API_KEY=issued.plaintext, HTTP_X_TIMESTAMP=str(now()),
                HTTP_X_SIGNATURE="x", REMOTE_ADDR="10.1.2.3").status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]


# --- require_signature --------------------------------------------------------------------


def test_a_key_that_requires_signatures_refuses_unsigned_requests(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key(require_signature=True)
    unsigned = api.get(ME, HTTP_X_API_KEY=issued.plaintext)
    assert unsigned.status_code == 401
    assert error_code(unsigned) == "signature_required"
    assert unsigned["WWW-Authenticate"]
    # A timestamp alone is not a signature.
    stamped = api.get(ME, HTTP_X_API_KEY=issued.plaintext, HTTP_X_TIMESTAMP=str(now()))
    assert error_code(stamped) == "signature_required"
    signed = api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret))
    assert signed.status_code == 200


def test_without_require_signature_unsigned_requests_still_work(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    assert api.get(ME, HTTP_X_API_KEY=issued.plaintext).status_code == 200
    assert api.get(ME, HTTP_X_API_KEY=issued.plaintext,
                   HTTP_X_TIMESTAMP="garbage").status_code == 200


def test_a_key_with_a_public_key_refuses_hmac_signatures(
    api: APIClient, make_api_key: Any
) -> None:
    _, pem = new_ed25519()
    issued = make_api_key(public_key=pem)
    response = api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret))
    assert response.status_code == 401 and error_code(response) == "signature_invalid"


# --- rotation and server keys -------------------------------------------------------------


def test_during_a_rotation_overlap_each_key_signs_with_its_own_secret(
    api: APIClient, make_api_key: Any, clock: Any,
    auth_settings: Any,
) -> None:
    auth_settings(API_KEY_ROTATION_OVERLAP=600)
    old = make_api_key()
    new = api_keys.rotate_key(old.key)
    assert api.get(ME, **v1_headers(old.plaintext, old.signing_secret)).status_code == 200
    assert api.get(ME, **v1_headers(new.plaintext, new.signing_secret)).status_code == 200
    for plaintext, secret in ((old.plaintext, new.signing_secret),
                              (new.plaintext, old.signing_secret)):
        assert error_code(api.get(ME, **v1_headers(plaintext, secret))) == "signature_invalid"
    clock.advance(601)
    assert error_code(api.get(ME, **v1_headers(old.plaintext, old.signing_secret))) == (
        "api_key_invalid")
    assert api.get(ME, **v1_headers(new.plaintext, new.signing_secret)).status_code == 200


def test_secret_key_rotation_keeps_signing_secrets_while_the_old_key_is_a_fallback(
    api: APIClient, make_api_key: Any, settings: Any
) -> None:
    old_secret_key = settings.SECRET_KEY
    issued = make_api_key()
    settings.SECRET_KEY = "a brand new secret key " + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_secret_key]
    assert api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret)).status_code == 200
    # A key rotated now gets a secret derived under the new SECRET_KEY.
    rotated = api_keys.rotate_key(issued.key)
    settings.SECRET_KEY_FALLBACKS = []
    assert api.get(ME, **v1_headers(rotated.plaintext, rotated.signing_secret)
                   ).status_code == 200


def test_rotating_the_jwt_signing_key_leaves_signing_secrets_alone(
    api: APIClient, make_api_key: Any, auth_settings: Any,
) -> None:
    issued = make_api_key()
    auth_settings(SIGNING_KEY="a new JWT signing key")
    assert api.get(ME, **v1_headers(issued.plaintext, issued.signing_secret)).status_code == 200


# --- the function the middleware calls ----------------------------------------------------


def test_authenticate_api_key_judges_a_plain_django_request(make_api_key: Any) -> None:
    issued = make_api_key()
    factory = RequestFactory()
    request = factory.get(ME, **v1_headers(issued.plaintext, issued.signing_secret))
    user, key = authenticate_api_key(request, issued.plaintext)
    assert key.pk == issued.key.pk and user.pk == issued.key.user_id
    bad = factory.get(ME, **v1_headers(issued.plaintext, "aks_wrong"))
    with pytest.raises(SignatureInvalid):
        authenticate_api_key(bad, issued.plaintext)
    assert APIKey.objects.get(pk=issued.key.pk).revoked_at is None


def test_the_docs_worked_example_is_the_sdks_signature() -> None:
    from pathlib import Path

    from ainative.auth import APIKeyAuth, AuthConfig

    signing_page = (Path(__file__).resolve().parents[2] / "docs" / "signing.md").read_text()
    api_key = keys.api_key_plaintext("Xq3fT9bLm2Pz", "h7GkQ2wRt5yUi8oP1aSdF4gJ6kL9zXcV")
    assert keys.parse_api_key(api_key) is not None
    secret, stamp = "aks_2kq7yJ0m4Zb9TQ1xVt8WnR3cLp6HsD5fGa0eUi7oYwE", "1767225600"
    # The SDK's own code makes the signature the signing page shows.
    sdk = APIKeyAuth(AuthConfig(api_key=api_key, api_secret=secret))
    signature = sdk._generate_signature(stamp)
    assert signature == v1_signature(api_key, secret, stamp)
    for line in (f"api_key        = {api_key}", f"signing secret = {secret}",
                 f"X-Timestamp    = {stamp}", f"message        = {api_key}{stamp}",
                 f"X-Signature    = {signature}"):
        assert line in signing_page, line
