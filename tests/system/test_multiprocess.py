"""Several processes, one truth (PostgreSQL + Redis): two gunicorn servers of the example
project share the database and the cache, and what one does the other honours on its next
request."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.outages import verify_address
from tests.servers import Server, api, start_servers
from tests.signing import sign_v2

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PASSWORD = "two servers, one truth"


@pytest.fixture(scope="module")
def servers(django_db_setup: Any) -> Iterator[list[Server]]:
    """Two servers for the whole module (each test registers its own account; the test
    database is emptied and the cache cleared after each test, under the servers' feet).

    A login limit small enough to reach: the two processes must share one budget."""
    with start_servers(2, {"AINATIVE_AUTH_THROTTLE_RATES": "login=4/minute"}) as urls:
        yield urls


def register(base: str, email: str = "multi@example.com") -> dict[str, Any]:
    response = api(base, "POST", "auth/register",
                   json={"email": email, "password": PASSWORD, "name": "Multi"})
    assert response.status_code == 201, response.text
    return response.json()


def me(base: str, **headers: str) -> int:
    return api(base, "GET", "users/me", headers=headers).status_code


def test_a_logout_on_one_process_is_honoured_by_the_other(servers: list[str]) -> None:
    a, b = servers
    access = register(a)["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert me(a, **bearer) == 200 and me(b, **bearer) == 200  # both have seen (cached) it
    assert api(b, "POST", "auth/logout", headers=bearer).status_code == 200
    assert me(a, **bearer) == 401
    assert me(b, **bearer) == 401


def test_a_key_revoked_on_one_process_is_refused_by_the_other(servers: list[str]) -> None:
    a, b = servers
    bearer = {"Authorization": f"Bearer {register(a)['access_token']}"}
    verify_address("multi@example.com")
    created = api(a, "POST", "api-keys", json={"name": "agent"}, headers=bearer)
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    assert me(a, **key) == 200 and me(b, **key) == 200
    assert api(b, "DELETE", f"api-keys/{created.json()['id']}", headers=bearer).status_code == 204
    assert me(a, **key) == 401
    assert me(b, **key) == 401


def test_refresh_rotation_and_reuse_detection_span_processes(servers: list[str]) -> None:
    a, b = servers
    first = register(a)
    r0 = first["refresh_token"]
    second = api(a, "POST", "auth/refresh", json={"refresh_token": r0})
    assert second.status_code == 200
    r1 = second.json()["refresh_token"]
    # Inside the grace window the other process hands back the same successor ...
    again = api(b, "POST", "auth/refresh", json={"refresh_token": r0})
    assert again.status_code == 200 and again.json()["refresh_token"] == r1
    third = api(b, "POST", "auth/refresh", json={"refresh_token": r1})
    assert third.status_code == 200
    # ... and a token two generations old is theft, wherever it is replayed.
    replay = api(a, "POST", "auth/refresh", json={"refresh_token": r0})
    assert replay.status_code == 401 and replay.json()["error_code"] == "refresh_token_reused"
    current = api(b, "POST", "auth/refresh", json={"refresh_token": third.json()["refresh_token"]})
    assert current.status_code == 401
    bearer = {"Authorization": f"Bearer {third.json()['access_token']}"}
    assert me(a, **bearer) == 401 and me(b, **bearer) == 401


def test_throttle_counters_are_one_budget_across_processes(servers: list[str]) -> None:
    a, b = servers
    # The servers' windows are fixed minutes on the real clock: start early in one, so the
    # six attempts below cannot straddle two.
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)
    wrong = {"email": "nobody@example.com", "password": "not the password at all"}
    codes = [api(base, "POST", "auth/login", json=wrong).status_code for base in (a, b, a, b)]
    assert codes == [401, 401, 401, 401]
    fifth = api(b, "POST", "auth/login", json=wrong)
    assert fifth.status_code == 429
    assert int(fifth.headers["Retry-After"]) > 0
    assert api(a, "POST", "auth/login", json=wrong).status_code == 429


def test_a_v2_nonce_spent_on_one_process_is_refused_by_the_other(servers: list[str]) -> None:
    a, b = servers
    bearer = {"Authorization": f"Bearer {register(a)['access_token']}"}
    verify_address("multi@example.com")
    created = api(a, "POST", "api-keys", json={"name": "signer"}, headers=bearer)
    assert created.status_code == 201, created.text
    key_id, secret = created.json()["prefix"], created.json()["signing_secret"]
    # Both processes are asked for the same URL (process a's): the signature covers the
    # target URI, so only the nonce can tell one request from its replay.
    url = f"{a}/api/v1/users/me"
    host = {"Host": urlsplit(a).netloc}

    def signed(nonce: str) -> dict[str, str]:
        return {**host, **sign_v2("GET", url, key_id=key_id, secret=secret, nonce=nonce)}

    first = signed(secrets.token_urlsafe(16))
    assert api(a, "GET", "users/me", headers=first).status_code == 200
    replayed = api(b, "GET", "users/me", headers=first)
    assert replayed.status_code == 401, replayed.text
    assert replayed.json()["error_code"] == "signature_invalid"
    # The same request with a fresh nonce is accepted there: the nonce was the reason.
    assert api(b, "GET", "users/me", headers=signed(secrets.token_urlsafe(16))).status_code == 200
    # And the other way round.
    second = signed(secrets.token_urlsafe(16))
    assert api(b, "GET", "users/me", headers=second).status_code == 200
    assert api(a, "GET", "users/me", headers=second).status_code == 401
