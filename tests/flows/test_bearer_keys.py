"""``Authorization: Bearer ak_...`` is the same credential as ``X-API-Key``, and no
credential is ever accepted in a URL.

Agent packages that only know Bearer (``ainative-social-mcp``, ``ainative-openai``) send
the key that way; ``ainative-opencode-memory`` sends both headers. Whatever the header,
one key has one set of scopes, one throttle, one expiry and one signature rule.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth import authentication
from ainative_auth.authentication import (
    JWTAuthentication,
    api_key_value,
    authenticate_access_token,
)
from ainative_auth.credentials import tokens as token_module
from ainative_auth.exceptions import TokenInvalid
from ainative_auth.models import APIKey
from tests.conftest import assert_error
from tests.signing import ORIGIN, as_meta, sign_v2, v1_signature

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"
BALANCE = "/api/v1/public/credits/balance"
WHOAMI = "/api/protected/whoami"


def bearer(value: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


def keys_url() -> str:
    return reverse("ainative_auth:api-keys")


# --- the same credential -------------------------------------------------------------------


def test_a_bearer_key_authenticates_as_its_owner(api: APIClient, api_key: Any) -> None:
    key, plaintext = api_key
    response = api.get(ME, **bearer(plaintext))
    assert response.status_code == 200, response.content
    assert response.json()["id"] == key.user_id
    # Also with the scheme in another case and extra spaces, as RFC 9110 allows.
    assert api.get(ME, HTTP_AUTHORIZATION=f"bearer   {plaintext}").status_code == 200


def test_a_bearer_key_has_the_keys_scopes(api: APIClient, make_api_key: Any) -> None:
    _, reader = make_api_key(name="reader", scopes=["credits:read"])
    _, other = make_api_key(name="other", scopes=["profile:write"])
    assert api.get(BALANCE, **bearer(reader)).status_code == 200
    response = api.get(BALANCE, **bearer(other))
    assert_error(response, 403, "insufficient_scope")
    assert response["WWW-Authenticate"].startswith(
        'Bearer error="insufficient_scope", scope="credits:read"')
    response = api.patch(ME, {"name": "x"}, format="json", **bearer(reader))
    assert_error(response, 403, "insufficient_scope")
    assert 'scope="profile:write"' in response["WWW-Authenticate"]
    # Session-only endpoints refuse it, like X-API-Key.
    assert_error(api.get(reverse("ainative_auth:sessions"), **bearer(reader)), 403,
                 "session_required")


def test_both_header_forms_spend_one_throttle(
    api: APIClient, api_key: Any, auth_settings: Any, clock: Any
) -> None:
    auth_settings.rates(api_key="2/minute")
    _, plaintext = api_key
    assert api.get(ME, HTTP_X_API_KEY=plaintext).status_code == 200
    assert api.get(ME, **bearer(plaintext)).status_code == 200
    assert_error(api.get(ME, **bearer(plaintext)), 429, "throttled")
    assert_error(api.get(ME, HTTP_X_API_KEY=plaintext), 429, "throttled")


@pytest.mark.parametrize("state", ["revoked", "expired", "inactive owner"])
def test_a_dead_bearer_key_is_401_invalid_token(api: APIClient, api_key: Any,
                                                 state: str) -> None:
    key, plaintext = api_key
    assert api.get(ME, **bearer(plaintext)).status_code == 200
    if state == "revoked":
        APIKey.objects.filter(pk=key.pk).update(revoked_at=key.created_at)
    elif state == "expired":
        APIKey.objects.filter(pk=key.pk).update(expires_at=key.created_at - timedelta(days=1))
    else:
        key.user.is_active = False
        key.user.save()
    response = api.get(ME, **bearer(plaintext))
    assert_error(response, 401, "api_key_invalid", challenge='Bearer realm="api"')
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    # The same answer as the same key in X-API-Key.
    assert api.get(ME, HTTP_X_API_KEY=plaintext).json() == response.json()


@pytest.mark.parametrize("value", [
    "ak_", "ak_short", "ak_" + "A" * 200, "ak_AAAAAAAAAAAA_BBB", "ak_x ak_y",
])
def test_a_malformed_bearer_key_is_401_invalid_token(api: APIClient, value: str) -> None:
    response = api.get(ME, **bearer(value))
    assert_error(response, 401, "api_key_invalid")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_bearer_key_follows_require_signature(api: APIClient, make_api_key: Any,
                                                clock: Any) -> None:
    issued = make_api_key(require_signature=True)
    assert_error(api.get(ME, **bearer(issued.plaintext)), 401, "signature_required")
    stamp = str(int(clock.now))
    signed = {**bearer(issued.plaintext), "HTTP_X_TIMESTAMP": stamp,
              "HTTP_X_SIGNATURE": v1_signature(issued.plaintext, issued.signing_secret, stamp)}
    assert api.get(ME, **signed).status_code == 200
    wrong = {**signed, "HTTP_X_SIGNATURE": v1_signature(issued.plaintext, "aks_wrong", stamp)}
    assert_error(api.get(ME, **wrong), 401, "signature_invalid")


def test_a_bearer_key_beside_an_rfc_9421_signature_must_name_the_same_key(
    api: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    other = make_api_key(name="other")
    signed = as_meta(sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix,
                             secret=issued.signing_secret))
    assert api.get(ME, **signed, **bearer(issued.plaintext)).status_code == 200
    signed = as_meta(sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix,
                             secret=issued.signing_secret))
    assert_error(api.get(ME, **signed, **bearer(other.plaintext)), 401, "signature_invalid")


def test_x_api_key_decides_when_both_headers_are_sent(api: APIClient, make_api_key: Any) -> None:
    good = make_api_key(name="good")
    other = make_api_key(name="other", scopes=[])
    # A good X-API-Key wins over a broken Bearer key, and a broken X-API-Key is a 401
    # even beside a good Bearer key: one request, one identity.
    assert api.get(BALANCE, HTTP_X_API_KEY=good.plaintext, **bearer("ak_broken")).status_code \
        == 200
    assert_error(api.get(ME, HTTP_X_API_KEY="ak_broken", **bearer(good.plaintext)), 401,
                 "api_key_invalid")
    # The X-API-Key's scopes apply, not the Bearer key's.
    assert_error(api.get(BALANCE, HTTP_X_API_KEY=other.plaintext, **bearer(good.plaintext)),
                 403, "insufficient_scope")
    assert api_key_value({"HTTP_X_API_KEY": "a", "HTTP_AUTHORIZATION": "Bearer ak_b"}) == "a"


def test_a_bearer_key_opens_a_middleware_protected_path(make_api_key: Any) -> None:
    issued = make_api_key(scopes=["profile:read"])
    response = Client().get(WHOAMI, **bearer(issued.plaintext))
    assert response.status_code == 200, response.content
    assert response.json()["id"] == issued.key.user_id
    assert_error(Client().get(WHOAMI, **bearer("ak_broken")), 401, "api_key_invalid")


def test_a_bearer_key_never_reaches_the_jwt_decoder(
    api: APIClient, api_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, plaintext = api_key
    before = token_module._verified_claims.cache_info()

    def decoder(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a Bearer API key was handed to the JWT decoder")

    monkeypatch.setattr(authentication, "decode_access_token", decoder)
    monkeypatch.setattr(token_module, "decode_access_token", decoder)
    assert api.get(ME, **bearer(plaintext)).status_code == 200
    assert_error(api.get(ME, **bearer("ak_broken")), 401, "api_key_invalid")
    # Not the JWT class's scheme: it leaves the key to the API-key class.
    request = APIClient().get(ME, **bearer(plaintext)).wsgi_request
    assert JWTAuthentication().authenticate(request) is None  # type: ignore[arg-type]
    with pytest.raises(TokenInvalid):
        authenticate_access_token(plaintext)
    after = token_module._verified_claims.cache_info()
    assert (after.hits, after.misses, after.currsize) == \
        (before.hits, before.misses, before.currsize)


# --- no credentials in URLs ----------------------------------------------------------------


@pytest.mark.parametrize("build", [
    lambda key, jwt: f"api_key={key}",
    lambda key, jwt: f"token={key}",  # a WebSocket-style ?token=
    lambda key, jwt: f"X-API-Key={key}",
    lambda key, jwt: f"access_token={jwt}",
    lambda key, jwt: f"q={jwt}",
    lambda key, jwt: f"x=%61k_{key[3:]}",  # percent-encoded, decoded before it is judged
], ids=["api_key", "token", "X-API-Key", "access_token", "jwt-anywhere", "encoded"])
def test_a_credential_in_the_query_string_is_refused_and_never_logged(
    tokens: dict[str, Any], api_key: Any, build: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    _, plaintext = api_key
    query = build(plaintext, tokens["access_token"])
    caplog.set_level(logging.DEBUG)
    for path in (ME, BALANCE, WHOAMI, reverse("ainative_auth:login")):
        # With the key in the header too: the URL alone is enough to refuse.
        response = Client().get(f"{path}?{query}", HTTP_X_API_KEY=plaintext)
        assert_error(response, 400, "credentials_in_query")
        response = Client().get(f"{path}?{query}")
        assert response.status_code in (400, 405), (path, response.content)
    logged = "\n".join(f"{record.getMessage()} {record.args!r}" for record in caplog.records)
    assert plaintext not in logged and plaintext[3:] not in logged
    assert tokens["access_token"] not in logged


def test_ordinary_query_strings_still_work(api: APIClient, api_key: Any) -> None:
    _, plaintext = api_key
    for query in ("page=2", "access_token=", "token=abc", "name=ak_is_a_prefix"):
        assert api.get(f"{ME}?{query}", HTTP_X_API_KEY=plaintext).status_code == 200, query
