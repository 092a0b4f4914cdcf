"""REL-2, Redis goes away under a running server, and comes back.

Redis holds what must be shared by every process and must never be guessed: the throttle
counters (``THROTTLE_CACHE``), the single-use v2 signature nonces, and the OAuth state.
Without it the server does not run without limits: every request that would count
against a limit, spend a nonce or keep an OAuth state answers 503
(``service_unavailable``, ``Retry-After``), and everything else works, because sessions,
keys and accounts live in the database. The "Redis down" section of docs/reliability.md
has the same list; this test is what keeps it true.

A real gunicorn server talks to Redis through a TCP proxy the test cuts (the port is
closed, as for a stopped Redis) and hangs (connections accepted and never answered, as
for a partition: ``REDIS_TIMEOUT``, 1 s here, ends each wait).

Run with ``DATABASE_URL=postgres://... REDIS_URL=redis://...``
``pytest tests/system/test_outages_redis.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.outages import (
    EXPECTED_UP,
    SERVER_ENV,
    Account,
    assert_all_answer_normally,
    assert_all_unavailable,
    assert_unavailable,
    call,
    representative_requests,
    restore_and_assert_recovered,
    run_all,
    sign_up,
)
from tests.servers import Server, TCPProxy, start_servers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# What needs Redis: each answers 503 without it. Everything else in
# ``representative_requests`` answers as usual.
NEEDS_REDIS = {
    # The throttled endpoints (each counts per IP, per address or per account first).
    "login", "wrong password", "register", "refresh", "forgot-password",
    "resend-verification", "verify-email (stale token)", "reset-password (stale token)",
    "change-password (wrong current)", "signed in (page)",
    # Every API-key request: a valid key is counted against its own rate, a wrong one
    # against the caller's IP; a v2 signature also spends its nonce.
    "me (API key)", "me (signed v2)", "unknown API key", "credits (API key)",
    # The OAuth state (and its PKCE verifier) is kept in the cache.
    "github authorize",
    # The admin's login form counts against the API's login limits.
    "admin login (wrong password)",
}
WORKS_WITHOUT_REDIS = {
    "health", "me (Bearer)", "me PATCH (Bearer)", "sessions (Bearer)", "api-keys (Bearer)",
    "credits (Bearer)", "protected view (Bearer)", "dashboard (browser)", "login page",
    "schema", "providers",
}
# Pages answer their 503 as HTML, signing nobody in.
HTML_503 = {"signed in (page)": "temporarily unavailable",
            "admin login (wrong password)": "unavailable right now"}


def probes_for(server: Server, account: Account) -> dict[str, Callable[[], requests.Response]]:
    """The shared representative requests, and a few more whose Redis use is to be told."""

    def admin_login() -> requests.Response:
        with requests.Session() as browser:
            csrf = account.browser.cookies["csrftoken"]
            browser.cookies.set("csrftoken", csrf)
            return call(server, "POST", "/admin/login/", session=browser,
                        data={"username": account.email, "password": "not it at all",
                              "csrfmiddlewaretoken": csrf})

    return {
        **representative_requests(server, account),
        "admin login (wrong password)": admin_login,
        "schema": lambda: call(server, "GET", "/api/v1/schema"),
        "providers": lambda: call(server, "GET", "/api/v1/auth/providers"),
    }


@pytest.fixture
def redis_proxy() -> Iterator[TCPProxy]:
    with TCPProxy(urlsplit(os.environ["REDIS_URL"]).port or 6379) as proxy:
        yield proxy


@pytest.fixture
def server(redis_proxy: TCPProxy) -> Iterator[Server]:
    database = urlsplit(os.environ["REDIS_URL"]).path or "/0"
    env = {**SERVER_ENV, "REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}{database}",
           "REDIS_TIMEOUT": "1"}
    with start_servers(1, env) as (base,):
        yield base


@pytest.fixture
def account(server: Server) -> Iterator[Account]:
    signed_up = sign_up(server, "outage@example.com")
    yield signed_up
    signed_up.browser.close()  # before the server stops: kept alive, it would delay that


def assert_redis_outage_answers(answers: dict[str, requests.Response]) -> None:
    assert set(answers) == NEEDS_REDIS | WORKS_WITHOUT_REDIS
    for name in NEEDS_REDIS & set(HTML_503):
        # The login pages show the error as a 503, and sign nobody in.
        response = answers[name]
        assert response.status_code == 503, (name, response.text[:300])
        assert response.headers["Content-Type"].startswith("text/html")
        assert HTML_503[name] in response.text
        assert "Location" not in response.headers
        assert "sessionid" not in response.cookies
    assert_all_unavailable({name: answers[name] for name in NEEDS_REDIS - set(HTML_503)})
    for name in WORKS_WITHOUT_REDIS:
        response = answers[name]
        assert response.status_code == EXPECTED_UP.get(name, 200), (name, response.text[:200])


def test_without_redis_what_counts_against_a_limit_answers_503_and_the_rest_works(
    server: Server, redis_proxy: TCPProxy, account: Account
) -> None:
    probes = probes_for(server, account)
    assert_all_answer_normally(run_all(probes))
    workers = server.worker_pids()

    redis_proxy.cut()
    assert_redis_outage_answers(run_all(probes))
    # Throttling is not silently off: no password is checked while the counters are out
    # of reach, however many attempts come.
    for _ in range(5):
        assert_unavailable(probes["wrong password"]())

    restore_and_assert_recovered(redis_proxy, server, probes, workers)

    redis_proxy.hang()
    assert_redis_outage_answers(run_all(probes))
    restore_and_assert_recovered(redis_proxy, server, probes, workers)


def test_key_management_and_logout_work_during_a_redis_outage(
    server: Server, redis_proxy: TCPProxy, account: Account
) -> None:
    bearer = {"Authorization": f"Bearer {account.access}"}
    redis_proxy.cut()
    created = call(server, "POST", "/api/v1/api-keys", json={"name": "new"}, headers=bearer)
    assert created.status_code == 201, created.text
    key_id = created.json()["id"]
    rotated = call(server, "POST", f"/api/v1/api-keys/{key_id}/rotate", headers=bearer)
    assert rotated.status_code == 200, rotated.text
    # The new key exists, but using it needs Redis (its rate).
    assert_unavailable(call(server, "GET", "/api/v1/users/me",
                            headers={"X-API-Key": rotated.json()["key"]}))
    revoked = call(server, "DELETE", f"/api/v1/api-keys/{key_id}", headers=bearer)
    assert revoked.status_code == 204, revoked.text
    assert call(server, "POST", "/api/v1/auth/logout", headers=bearer).status_code == 200
    assert call(server, "GET", "/api/v1/users/me", headers=bearer).status_code == 401
    redis_proxy.restore()
    assert call(server, "GET", "/api/v1/users/me", headers=bearer).status_code == 401
    assert call(server, "GET", "/api/v1/users/me",
                headers={"X-API-Key": rotated.json()["key"]}).status_code == 401
    refreshed = call(server, "POST", "/api/v1/auth/refresh",
                     json={"refresh_token": account.refresh})
    assert refreshed.status_code == 401, refreshed.text
