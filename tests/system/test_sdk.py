"""The published SDK (``ainative-python``) against the example project over a real socket.

The example project is served from a thread of this process on a free loopback port, on
the test database; ``AINativeClient`` talks to it exactly as it talks to the hosted
service (it signs v1 when given ``api_secret``). RFC 9421 requests go over the same
socket with httpx, signed by http-message-signatures' own signer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ainative import AINativeClient, AuthenticationError, RateLimitError

from tests.signing import new_ed25519, sign_v2

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def _server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """The example project on 127.0.0.1:<free port> (Django's LiveServerThread, on the
    test database); stops after this module."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("127.0.0.1:0")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def base_url(_server: str, transactional_db: Any) -> str:
    # The trailing slash matters: the SDK joins paths with urljoin.
    return f"{_server}/api/v1/"


@pytest.fixture
def sdk(base_url: str) -> Iterator[Any]:
    """``sdk(api_key, api_secret=None)``: an ``AINativeClient`` on the local server."""
    clients: list[AINativeClient] = []

    def _make(api_key: str, api_secret: str | None = None) -> AINativeClient:
        client = AINativeClient(api_key=api_key, api_secret=api_secret, base_url=base_url)
        client.config.max_retries = 1
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.close()


def test_health(sdk: Any, make_api_key: Any) -> None:
    issued = make_api_key()
    assert sdk(issued.plaintext, issued.signing_secret).health_check() == {"status": "ok"}


def test_credits_balance_and_users_me_with_a_signed_key(sdk: Any, make_api_key: Any) -> None:
    issued = make_api_key(scopes=["credits:read"], require_signature=True)
    client = sdk(issued.plaintext, issued.signing_secret)
    balance = client.get("public/credits/balance")
    assert balance == {"balance": 0, "currency": "credits", "user_id": issued.key.user_id}
    me = client.get("users/me")
    assert me["email"] == "alice@example.com" and me["id"] == issued.key.user_id


def test_an_unsigned_sdk_works_unless_the_key_requires_signatures(
    sdk: Any, make_api_key: Any
) -> None:
    plain = make_api_key(name="plain")
    assert sdk(plain.plaintext).get("users/me")["email"] == "alice@example.com"
    strict = make_api_key(name="strict", require_signature=True)
    with pytest.raises(AuthenticationError):
        sdk(strict.plaintext).get("users/me")


def test_a_wrong_secret_is_an_authentication_error(sdk: Any, make_api_key: Any) -> None:
    issued = make_api_key()
    other = make_api_key(name="other")
    with pytest.raises(AuthenticationError):
        sdk(issued.plaintext, other.signing_secret).get("users/me")
    with pytest.raises(AuthenticationError):
        sdk(issued.plaintext, "not-the-secret").get("users/me")


def test_a_throttled_key_is_a_rate_limit_error_with_the_servers_retry_after(
    sdk: Any, make_api_key: Any, auth_settings: Any, clock: Any, base_url: str
) -> None:
    # The app's clock is frozen 20 s into the current real minute: the SDK's timestamps
    # (the real clock) stay inside the window, and the throttle window has 40 s to run.
    clock.now = float(int(time.time()) // 60 * 60 + 20)
    auth_settings.rates(api_key="2/minute")
    issued = make_api_key()
    client = sdk(issued.plaintext, issued.signing_secret)
    client.get("users/me")
    client.get("users/me")
    with pytest.raises(RateLimitError) as caught:
        client.get("users/me")
    retry_after = caught.value.retry_after
    # Until the end of the minute window (40 s, plus the server's one-second margin)...
    assert retry_after in (40, 41)
    # ...and exactly what the server says in Retry-After.
    response = httpx.get(base_url + "users/me", headers=client.auth.get_headers())
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == retry_after
    assert response.json()["error_code"] == "throttled"


def test_what_the_sdk_sends_is_what_the_server_checks(sdk: Any, make_api_key: Any) -> None:
    issued = make_api_key()
    client = sdk(issued.plaintext, issued.signing_secret)
    headers = client.auth.get_headers()
    assert headers["X-API-Key"] == issued.plaintext
    assert headers["X-Timestamp"].isdigit() and len(headers["X-Timestamp"]) == 10
    assert len(headers["X-Signature"]) == 44


# --- RFC 9421 over the socket -------------------------------------------------------------


def test_v2_hmac_and_ed25519_over_the_socket(base_url: str, make_api_key: Any) -> None:
    issued = make_api_key(scopes=["credits:read"], require_signature=True)
    url = base_url + "public/credits/balance"
    headers = sign_v2("GET", url, key_id=issued.key.prefix, secret=issued.signing_secret)
    response = httpx.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == issued.key.user_id
    # The same signature again: its nonce is spent.
    replay = httpx.get(url, headers=headers)
    assert replay.status_code == 401 and replay.json()["error_code"] == "signature_invalid"

    private, pem = new_ed25519()
    agent = make_api_key(name="agent", public_key=pem, require_signature=True)
    me = base_url + "users/me"
    body = json.dumps({"name": "Agent Smith"}).encode()
    headers = sign_v2("PATCH", me, key_id=agent.key.prefix, private_key=private, body=body,
                      headers={"Content-Type": "application/json"})
    response = httpx.patch(me, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Agent Smith"
    tampered = sign_v2("PATCH", me, key_id=agent.key.prefix, private_key=private,
                       body=body, headers={"Content-Type": "application/json"})
    response = httpx.patch(me, content=b'{"name": "Mallory"}', headers=tampered)
    assert response.status_code == 401
    assert response.json()["error_code"] == "signature_invalid"
