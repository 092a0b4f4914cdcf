"""The client side of the outage tests: an account on a running server (tokens, an API
key and its signing secret, a signed-in browser), one request per kind of endpoint, and
what a 503 must look like."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from django.utils.http import urlsafe_base64_encode

from ainative_auth.credentials.keys import new_api_key

from .conftest import assert_error
from .servers import Server, TCPProxy
from .signing import sign_v2

PASSWORD = "the outage will be over"


class Answer:
    """A ``requests`` response read the way ``conftest.assert_error`` reads Django's."""

    def __init__(self, response: requests.Response) -> None:
        self.raw = response
        self.status_code = response.status_code
        self.content = response.content

    def __getitem__(self, name: str) -> str:
        return self.raw.headers[name]

    def __contains__(self, name: str) -> bool:
        return name in self.raw.headers


def assert_unavailable(response: requests.Response) -> None:
    assert_error(Answer(response), 503, "service_unavailable")
    assert response.headers["Retry-After"].isdigit(), response.headers
    assert int(response.headers["Retry-After"]) > 0


@dataclass
class Account:
    """What a client of the server holds: tokens, a key and its signing secret, a browser."""

    email: str
    user_id: int
    access: str
    refresh: str
    key: str
    signing_secret: str
    browser: requests.Session


def call(base: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 20)
    kwargs.setdefault("allow_redirects", False)
    session = kwargs.pop("session", None) or requests
    return session.request(method, f"{base}{path}", **kwargs)


def verify_address(email: str) -> None:
    """Mark ``email`` verified in the database the servers share with the test (the link
    went to their console): a user creates API keys only with a verified address."""
    from allauth.account.models import EmailAddress

    assert EmailAddress.objects.filter(email=email).update(verified=True) == 1


def sign_up(base: str, email: str) -> Account:
    registered = call(base, "POST", "/api/v1/auth/register",
                      json={"email": email, "password": PASSWORD, "name": "Outage"})
    assert registered.status_code == 201, registered.text
    tokens = registered.json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    verify_address(email)
    created = call(base, "POST", "/api/v1/api-keys", json={"name": "agent"}, headers=bearer)
    assert created.status_code == 201, created.text
    browser = requests.Session()
    page = call(base, "GET", "/login", session=browser)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf, page.text[:300]
    signed_in = call(base, "POST", "/login", session=browser,
                     data={"email": email, "password": PASSWORD,
                           "csrfmiddlewaretoken": csrf.group(1)})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/dashboard"
    return Account(email, tokens["user"]["id"], tokens["access_token"], tokens["refresh_token"],
                   created.json()["key"], created.json()["signing_secret"], browser)


# What each request answers while every service is up (200 when not listed).
EXPECTED_UP = {
    "register": 201,
    "wrong password": 401,
    "unknown API key": 401,
    "change-password (wrong current)": 400,
    "verify-email (stale token)": 400,
    "reset-password (stale token)": 400,
    "signed in (page)": 303,
}


def representative_requests(base: str, account: Account,
                            ) -> dict[str, Callable[[], requests.Response]]:
    """One request per kind of endpoint, each made afresh when called (a new nonce, a new
    address); the refresh keeps the client's latest refresh token, as a client does.

    None of them ends the account's session or changes its password, so the set can be
    run again and again."""
    bearer = {"Authorization": f"Bearer {account.access}"}
    numbers = itertools.count()

    def refresh() -> requests.Response:
        response = call(base, "POST", "/api/v1/auth/refresh",
                        json={"refresh_token": account.refresh})
        if response.status_code == 200:
            account.refresh = response.json()["refresh_token"]
        return response

    def signed() -> requests.Response:
        # keyid is the key's prefix: "ak_" and its 12-character public id.
        headers = sign_v2("GET", f"{base}/api/v1/users/me", key_id=account.key[:15],
                          secret=account.signing_secret)
        return call(base, "GET", "/api/v1/users/me", headers=headers)

    def sign_in_page() -> requests.Response:
        # Another browser (only the CSRF cookie is shared): signing in on top of the
        # account's browser session would end that one.
        with requests.Session() as browser:
            csrf = account.browser.cookies["csrftoken"]
            browser.cookies.set("csrftoken", csrf)
            return call(base, "POST", "/login", session=browser,
                        data={"email": account.email, "password": PASSWORD,
                              "csrfmiddlewaretoken": csrf})

    def post(path: str, body: dict[str, Any], **headers: str) -> requests.Response:
        return call(base, "POST", path, json=body, headers=headers)

    def get(path: str, **headers: str) -> requests.Response:
        return call(base, "GET", path, headers=headers)

    key = {"X-API-Key": account.key}
    # Well formed, so only the database can say it is unknown.
    unknown_key = {"X-API-Key": new_api_key()[2]}
    # A mail token of the account's form whose HMAC does not match (a link from an older
    # state, say): only the account's row can tell, so it needs the database.
    stale = f"{urlsafe_base64_encode(str(account.user_id).encode())}.cxp3yw-{'0' * 32}"
    return {
        "health": lambda: get("/api/v1/health"),
        "login": lambda: post("/api/v1/auth/login",
                              {"email": account.email, "password": PASSWORD}),
        "wrong password": lambda: post("/api/v1/auth/login",
                                       {"email": account.email, "password": "not it at all"}),
        "register": lambda: post("/api/v1/auth/register",
                                 {"email": f"new-{next(numbers)}-{account.email}",
                                  "password": PASSWORD}),
        "refresh": refresh,
        "forgot-password": lambda: post("/api/v1/auth/forgot-password",
                                        {"email": account.email}),
        "resend-verification": lambda: post("/api/v1/auth/resend-verification",
                                            {"email": account.email}),
        "verify-email (stale token)": lambda: post("/api/v1/auth/verify-email",
                                                   {"token": stale}),
        "reset-password (stale token)": lambda: post(
            "/api/v1/auth/reset-password", {"token": stale, "new_password": PASSWORD + "!"}),
        "change-password (wrong current)": lambda: post(
            "/api/v1/auth/change-password",
            {"current_password": "not it at all", "new_password": PASSWORD + "!"}, **bearer),
        "me (Bearer)": lambda: get("/api/v1/users/me", **bearer),
        "me PATCH (Bearer)": lambda: call(base, "PATCH", "/api/v1/users/me",
                                          json={"name": "Still here"}, headers=bearer),
        "sessions (Bearer)": lambda: get("/api/v1/auth/sessions", **bearer),
        "api-keys (Bearer)": lambda: get("/api/v1/api-keys", **bearer),
        "me (API key)": lambda: get("/api/v1/users/me", **key),
        "me (signed v2)": signed,
        "unknown API key": lambda: get("/api/v1/users/me", **unknown_key),
        "credits (API key)": lambda: get("/api/v1/public/credits/balance", **key),
        "credits (Bearer)": lambda: get("/api/v1/public/credits/balance", **bearer),
        "protected view (Bearer)": lambda: get("/api/protected/whoami", **bearer),
        "github authorize": lambda: get(
            "/api/v1/auth/github/authorize?redirect_uri=" + SOCIAL_REDIRECT),
        "dashboard (browser)": lambda: call(base, "GET", "/dashboard", session=account.browser),
        "login page": lambda: get("/login"),
        "signed in (page)": sign_in_page,
    }


# The servers of the outage tests configure GitHub login (never called: only the
# authorize endpoint is used) and allow this redirect.
SOCIAL_REDIRECT = "http://localhost:3000/auth/callback"
SERVER_ENV = {
    "GITHUB_CLIENT_ID": "outage-test-client",
    "OAUTH_REDIRECT_URIS": SOCIAL_REDIRECT,
    # The test's requests all come from 127.0.0.1: keep the limits out of their way.
    "AINATIVE_AUTH_THROTTLE_RATES": "login=1000/minute,register=1000/minute,"
                                    "forgot_password=1000/minute,"
                                    "resend_verification=1000/minute",
    "GUNICORN_THREADS": "8",
}


def run_all(probes: dict[str, Callable[[], requests.Response]]) -> dict[str, requests.Response]:
    # In parallel, as clients would come: each may wait out a connect timeout.
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {name: pool.submit(make) for name, make in probes.items()}
        return {name: future.result() for name, future in futures.items()}


def assert_all_answer_normally(answers: dict[str, requests.Response]) -> None:
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {name: EXPECTED_UP.get(name, 200) for name in answers}, {
        name: (r.status_code, r.text[:200]) for name, r in answers.items()
        if r.status_code != EXPECTED_UP.get(name, 200)}


def restore_and_assert_recovered(proxy: TCPProxy, server: Server,
                                 probes: dict[str, Callable[[], requests.Response]],
                                 workers: set[int]) -> None:
    """Bring the service back: every probe answers normally at once, from the very
    processes that served through the outage (no restart)."""
    proxy.restore()
    assert_all_answer_normally(run_all(probes))
    assert server.worker_pids() == workers


def assert_all_unavailable(answers: dict[str, requests.Response]) -> None:
    for name, response in answers.items():
        try:
            assert_unavailable(response)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {response.status_code} {response.text[:200]}") from exc


