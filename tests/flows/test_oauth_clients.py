"""Clients: dynamic registration (public, loopback, throttled, application_type),
metadata documents (https, size, time, private addresses), client_credentials with a
secret or private_key_jwt, for a client owned by a user."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.exceptions import TokenInvalid
from ainative_auth.oauth_server import cimd
from ainative_auth.oauth_server.authentication import authenticate_oauth_token
from tests.oauth import MCP, SITE, make_client

pytestmark = pytest.mark.django_db
TOKEN_URL = f"{SITE}/oauth/token"


def register(api: APIClient, **metadata: Any) -> Any:
    return api.post(reverse("ainative_oauth:register"), json.dumps(metadata),
                    content_type="application/json")


# --- dynamic registration ----------------------------------------------------------------


def test_a_public_loopback_client_registers_and_may_ask_every_scope(api: APIClient) -> None:
    response = register(api, client_name="CLI", redirect_uris=["http://127.0.0.1:9999/cb"],
                        token_endpoint_auth_method="none", application_type="native")
    assert response.status_code == 201, response.content
    body = response.json()
    assert "client_secret" not in body
    assert {"mcp", "credits:read"} <= set(body["scope"].split())


def test_a_client_naming_no_auth_method_is_registered_public(api: APIClient) -> None:
    response = register(api, redirect_uris=["http://127.0.0.1:9999/cb"])
    assert response.status_code == 201, response.content
    assert response.json()["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in response.json()


@pytest.mark.parametrize("metadata", [
    {"redirect_uris": ["https://app.example.com/cb"], "token_endpoint_auth_method": "none"},
    {"redirect_uris": ["http://127.0.0.1/cb"],
     "token_endpoint_auth_method": "client_secret_basic"},
    {"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none",
     "application_type": "web"},
    {"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none",
     "grant_types": ["client_credentials"]},
    {"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none",
     "scope": "admin"},
    {"redirect_uris": "http://127.0.0.1/cb", "token_endpoint_auth_method": "none"},
])
def test_registration_refuses_what_the_policy_does_not_admit(api: APIClient,
                                                             metadata: dict) -> None:
    from allauth.idp.oidc.models import Client

    response = register(api, **metadata)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    assert not Client.objects.exclude(pk="ainative-cli").exists()  # the built-in CLI only


def test_registration_is_off_unless_turned_on(api: APIClient, auth_settings: Any) -> None:
    auth_settings(OAUTH_SERVER_DYNAMIC_REGISTRATION=False)
    response = register(api, redirect_uris=["http://127.0.0.1/cb"],
                        token_endpoint_auth_method="none")
    assert response.status_code == 404 and response.json()["error_code"] == "not_found"
    assert "registration_endpoint" not in api.get(
        reverse("ainative_oauth:metadata")).json()


def test_registration_is_throttled(api: APIClient, auth_settings: Any) -> None:
    auth_settings.rates(oauth="2/minute")
    for _ in range(2):
        assert register(api, redirect_uris=["http://127.0.0.1/cb"],
                        token_endpoint_auth_method="none").status_code == 201
    again = register(api, redirect_uris=["http://127.0.0.1/cb"],
                     token_endpoint_auth_method="none")
    assert again.status_code == 429 and int(again["Retry-After"]) > 0


def test_malformed_registration_bodies_are_400(api: APIClient) -> None:
    for body in ("not json", "[]", "{}"):
        response = api.post(reverse("ainative_oauth:register"), body,
                            content_type="application/json")
        assert response.status_code == 400


# --- client ID metadata documents --------------------------------------------------------


class FakeResponse:
    def __init__(self, chunks: list[bytes], status: int = 200, delay: float = 0.0,
                 headers: dict[str, str] | None = None) -> None:
        self.chunks, self.status_code, self.delay = chunks, status, delay
        self.headers = headers or {}

    def iter_content(self, chunk_size: int) -> Any:
        for chunk in self.chunks:
            time.sleep(self.delay)
            yield chunk

    def close(self) -> None:
        pass


def test_metadata_documents_are_https_only_and_public_addresses_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests, "get", lambda *a, **k: pytest.fail("fetched"))
    for url in ("http://example.com/client.json", "https://127.0.0.1/client.json",
                "https://localhost/client.json", "https://10.0.0.1/client.json",
                "https://[::1]/client.json", "https://169.254.169.254/latest",
                "https://[::ffff:127.0.0.1]/client.json", "https://[64:ff9b::a00:1]/x.json",
                "https://[2002:a00:1::]/client.json"):
        with pytest.raises(ValidationError):
            cimd.fetch_metadata(url)


def test_huge_or_slow_metadata_documents_are_refused(monkeypatch: pytest.MonkeyPatch,
                                                     auth_settings: Any) -> None:
    auth_settings(OAUTH_SERVER_CIMD_ALLOW_PRIVATE_ADDRESSES=True, OAUTH_SERVER_CIMD_TIMEOUT=0.3)
    url = "https://client.example/app.json"
    served: list[FakeResponse] = []
    monkeypatch.setattr(requests, "get", lambda *a, **k: served.pop())
    served.append(FakeResponse([b"x" * 512] * 20))  # 10 KiB, no Content-Length
    with pytest.raises(ValidationError):
        cimd.fetch_metadata(url)
    served.append(FakeResponse([b"{"] * 10, delay=0.1))  # a byte at a time
    started = time.monotonic()
    with pytest.raises(ValidationError):
        cimd.fetch_metadata(url)
    assert time.monotonic() - started < 1
    served.append(FakeResponse([b"{}"], headers={"Content-Length": "999999"}))
    with pytest.raises(ValidationError):
        cimd.fetch_metadata(url)
    served.append(FakeResponse([b'{"client_id": "x"}']))
    assert cimd.fetch_metadata(url) == {"client_id": "x"}


def test_a_metadata_document_client_is_used_at_authorize(
        monkeypatch: pytest.MonkeyPatch, auth_settings: Any, make_user: Any) -> None:
    from tests.oauth import authorize_url, pkce, signed_in_browser

    auth_settings(OAUTH_SERVER_CIMD_ALLOW_PRIVATE_ADDRESSES=True)
    make_user("alice@example.com")
    url = "https://client.example/app.json"
    document = json.dumps({"client_id": url, "client_name": "Doc app",
                           "redirect_uris": ["http://127.0.0.1/cb"],
                           "scope": "mcp"}).encode()
    monkeypatch.setattr(requests, "get", lambda *a, **k: FakeResponse([document]))
    page = signed_in_browser().get(authorize_url(url, pkce()[1]))
    assert page.status_code == 200 and "Doc app" in page.content.decode()


# --- client_credentials -----------------------------------------------------------------


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_client_credentials_with_a_secret_acts_for_the_owner(
        make_user: Any, api: APIClient) -> None:
    owner = make_user("owner@example.com")
    machine, secret = make_client(name="Cron", public=False, owner=owner,
                                  grant_types=["client_credentials"], redirect_uris=[])
    response = api.post(reverse("ainative_oauth:token"),
                        {"grant_type": "client_credentials", "scope": "mcp", "resource": MCP},
                        HTTP_AUTHORIZATION=basic(machine.id, secret))
    assert response.status_code == 200, response.content
    access = response.json()["access_token"]
    assert authenticate_oauth_token(access, "/mcp")[0] == owner
    wrong = api.post(reverse("ainative_oauth:token"), {"grant_type": "client_credentials"},
                     HTTP_AUTHORIZATION=basic(machine.id, secret + "x"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_client_credentials_refused_without_an_owner_or_for_an_inactive_one(
        make_user: Any, api: APIClient) -> None:
    orphan, secret = make_client(public=False, grant_types=["client_credentials"])
    response = api.post(reverse("ainative_oauth:token"), {"grant_type": "client_credentials"},
                        HTTP_AUTHORIZATION=basic(orphan.id, secret))
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
    owner = make_user("gone@example.com", is_active=False)
    owned, secret = make_client(public=False, grant_types=["client_credentials"], owner=owner)
    response = api.post(reverse("ainative_oauth:token"), {"grant_type": "client_credentials"},
                        HTTP_AUTHORIZATION=basic(owned.id, secret))
    assert response.status_code == 400


def test_a_machine_token_ends_when_its_owner_is_deactivated(make_user: Any,
                                                           api: APIClient) -> None:
    owner = make_user("owner@example.com")
    machine, secret = make_client(public=False, owner=owner, grant_types=["client_credentials"])
    access = api.post(reverse("ainative_oauth:token"),
                      {"grant_type": "client_credentials", "resource": MCP},
                      HTTP_AUTHORIZATION=basic(machine.id, secret)).json()["access_token"]
    owner.is_active = False
    owner.save()
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(access, "/mcp")


@pytest.fixture
def keyed_machine(make_user: Any) -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = "k1"
    machine, _ = make_client(public=False, owner=make_user("owner@example.com"),
                             grant_types=["client_credentials"],
                             metadata={"token_endpoint_auth_method": "private_key_jwt",
                                       "jwks": {"keys": [jwk]}})
    return machine, key


def assertion(client_id: str, key: Any, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "iat": now,
            "exp": now + 60, "jti": uuid.uuid4().hex, **claims}
    return jwt.encode(body, key, algorithm="ES256", headers={"kid": "k1"})


def jwt_grant(api: APIClient, signed: str) -> Any:
    return api.post(reverse("ainative_oauth:token"), {
        "grant_type": "client_credentials", "resource": MCP,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed})


def test_private_key_jwt_gets_a_token(keyed_machine: tuple[Any, Any],
                                      api: APIClient) -> None:
    machine, key = keyed_machine
    response = jwt_grant(api, assertion(machine.id, key))
    assert response.status_code == 200, response.content
    user, auth = authenticate_oauth_token(response.json()["access_token"], "/mcp")
    assert user.email == "owner@example.com" and auth.client_id == machine.id


def test_private_key_jwt_refuses_replays_and_bad_assertions(
        keyed_machine: tuple[Any, Any], api: APIClient) -> None:
    machine, key = keyed_machine
    signed = assertion(machine.id, key)
    assert jwt_grant(api, signed).status_code == 200
    assert jwt_grant(api, signed).status_code == 401  # the same jti again
    other = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    for bad in (assertion(machine.id, other),                       # not its key
                assertion(machine.id, key, aud="https://elsewhere.example/token"),
                assertion(machine.id, key, exp=now - 120),          # expired
                assertion(machine.id, key, exp=now + 3600),         # too long-lived
                assertion(machine.id, key, sub="someone-else"),
                jwt.encode({"iss": machine.id, "sub": machine.id, "aud": TOKEN_URL,
                            "exp": now + 60, "jti": "x"}, None, algorithm="none"),
                "garbage"):
        response = jwt_grant(api, bad)
        assert response.status_code == 401, bad
        assert response.json()["error"] == "invalid_client"
