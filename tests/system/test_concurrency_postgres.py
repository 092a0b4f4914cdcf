"""Concurrency on PostgreSQL, with real threads and repeated trials: the cases of
security-requirements section 4.1 that the flow files' ``*_postgres.py`` tests do not
already cover, or cover in one trial only.

Already elsewhere: C-1 once with 50 racers (``test_register_postgres.py``), C-2 grace and
strict and C-3 (30 trials of logout racing refresh, 10 with a rotated token;
``test_sessions_postgres.py``), C-4 and C-5 once (``test_password_postgres.py``), the C-6
key-count limit at the service level (``test_api_keys_postgres.py``), C-7
(``test_social_postgres.py``), C-8 for one account (``test_register_postgres.py``).

Here: C-1 repeated and its variant (a password signup racing a social signup), C-2's
aftermath (the grace window closes on the whole family), a C-3 kin (a password login
racing a reset or a social claim of the account), C-4 and C-5 repeated, C-6
revoke-during-use and the key limit over HTTP, C-8 per client address, C-9 a bounded hash
storm, and the v2 nonce replay race through the whole request path.

Trials are section 4.1's 50 (``TRIALS``; 100 where a case alternates two variants, 30
for the two slowest, ``FEW``; the hash storm once): the file takes about 90 s on two
cores. Racers are 2 to 40, fewer than section 4.1's 100-200: 40 threads stay well inside
PostgreSQL's 100 connections. Every trial is a real race. ``CONCURRENCY_TRIALS=5`` for a
quick run.

Run with
``DATABASE_URL=postgres://... REDIS_URL=redis://...``
``pytest tests/system/test_concurrency_postgres.py``.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import Argon2PasswordHasher
from rest_framework.test import APIClient

from ainative_auth.credentials.email_tokens import reset_password_tokens, verify_email_tokens
from ainative_auth.models import AccountEmail, APIKey, RefreshSession
from tests.concurrency import run_together
from tests.conftest import PASSWORD, assert_error
from tests.oauth_standins import FakeGitHub, callback, github_user, serving_github
from tests.signing import ORIGIN, as_meta, sign_v2

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

User = get_user_model()
ME = "/api/v1/users/me"
# Section 4.1's count; CONCURRENCY_TRIALS=5 for a quick run.
TRIALS = int(os.environ.get("CONCURRENCY_TRIALS", "50"))
FEW = max(3, TRIALS * 3 // 5)  # for the two slowest cases: 30 by default


def client(index: int = 0, credentials: dict[str, str] | None = None) -> APIClient:
    """A client of its own address (so per-IP limits do not mix the racers up)."""
    api = APIClient(REMOTE_ADDR=f"10.{20 + index // 250}.{index % 250}.1")
    api.credentials(**(credentials or {}))
    return api


def log_in(email: str = "alice@example.com", password: str = PASSWORD) -> dict[str, Any]:
    response = client().post("/api/v1/auth/login", {"email": email, "password": password},
                             format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def bearer(access: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


# --- C-1 ------------------------------------------------------------------------------


def test_c1_parallel_signups_of_one_address_make_one_account_every_time(
    mailoutbox: list[Any]
) -> None:
    racers = 12
    for trial in range(TRIALS):
        spellings = [f"racer{trial}@x.co", f"Racer{trial}@x.co", f"racer{trial}@X.CO"]

        def register(i: int, spellings: list[str] = spellings) -> Any:
            return client(i).post("/api/v1/auth/register",
                                  {"email": spellings[i % 3], "password": PASSWORD},
                                  format="json")

        responses = run_together([partial(register, i) for i in range(racers)])

        assert Counter(r.status_code for r in responses) == {201: 1, 409: racers - 1}
        conflicts = {r.content for r in responses if r.status_code == 409}
        assert len(conflicts) == 1
        assert_error(next(r for r in responses if r.status_code == 409), 409, "email_taken")
        email = f"racer{trial}@x.co"
        assert User.objects.filter(email=email).count() == 1
        assert AccountEmail.objects.filter(email=email).count() == 1
        assert EmailAddress.objects.filter(email=email).count() == 1
        verification = [m for m in mailoutbox if m.to == [email] and "/verify-email" in m.body]
        assert len(verification) == 1


@pytest.fixture
def github(settings: Any) -> Any:
    with serving_github(settings) as server:
        yield server


@pytest.mark.parametrize("provider_verified", [True, False])
def test_c1_a_password_signup_racing_a_social_signup_never_makes_two_accounts(
    github: FakeGitHub, provider_verified: bool
) -> None:
    """Whoever wins, one account. A provider-verified address may claim the account the
    password signup just made (both succeed, one user, the password made unusable); an
    unverified one never does (the later one is refused)."""
    outcomes: Counter[tuple[int, int]] = Counter()
    for trial in range(2 * TRIALS):
        email = f"both{trial}@example.com"
        code = github.grant_code(github_user(uid=7000 + trial, email=email,
                                             verified=provider_verified))

        def by_password(email: str = email) -> Any:
            return client(1).post("/api/v1/auth/register",
                                  {"email": email, "password": PASSWORD}, format="json")

        def by_github(code: str = code) -> Any:
            return callback(client(2), "github", code=code)

        signup, social = run_together([by_password, by_github])

        outcomes[(signup.status_code, social.status_code)] += 1
        assert signup.status_code in (201, 409), signup.content
        assert social.status_code in (200, 409), social.content
        assert signup.status_code == 201 or social.status_code == 200
        if signup.status_code == 409:
            assert_error(signup, 409, "email_taken")
        if social.status_code == 409:
            assert_error(social, 409, "account_exists")
        users = list(User.objects.filter(email=email))
        assert len(users) == 1
        assert AccountEmail.objects.filter(email=email).count() == 1
        assert EmailAddress.objects.filter(email=email).count() == 1
        linked = SocialAccount.objects.filter(provider="github", uid=str(7000 + trial))
        assert linked.count() == (1 if social.status_code == 200 else 0)
        if social.status_code == 200:
            assert social.json()["user"]["id"] == users[0].pk
        if signup.status_code == 201 and social.status_code == 200:
            # Claimed: the registrant keeps nothing (password, sessions).
            assert provider_verified
            assert not users[0].has_usable_password()
            session_id = signup.json()["refresh_token"].split(".")[0]
            assert RefreshSession.objects.get(pk=session_id).revoked_at is not None
        if not provider_verified:
            assert (signup.status_code == 201) != (social.status_code == 200)
    print(f"(signup, social) outcomes: {dict(outcomes)}")


# --- C-2 ------------------------------------------------------------------------------


def test_c2_after_a_refresh_race_the_grace_window_closes_on_the_whole_family(
    make_user: Callable[..., Any], clock: Any
) -> None:
    """All racers get one successor R1; R1 works; R0 after the window is reuse and
    revokes the family, R1's descendants included."""
    make_user()
    for _ in range(TRIALS):
        r0 = log_in()["refresh_token"]

        def refresh(token: str = r0) -> Any:
            return client().post("/api/v1/auth/refresh", {"refresh_token": token},
                                 format="json")

        responses = run_together([refresh] * 10)

        assert [r.status_code for r in responses] == [200] * 10
        (r1,) = {r.json()["refresh_token"] for r in responses}
        r2 = refresh(r1)
        assert r2.status_code == 200
        clock.advance(11)  # past REFRESH_REUSE_INTERVAL (10 s)
        assert_error(refresh(r0), 401, "refresh_token_reused")
        assert refresh(r2.json()["refresh_token"]).status_code == 401
        access = r2.json()["access_token"]
        assert client(0, bearer(access)).get(ME).status_code == 401


# --- C-4, C-5 -------------------------------------------------------------------------


def test_c4_parallel_resets_with_one_token_succeed_once_every_time(
    make_user: Callable[..., Any]
) -> None:
    racers = 8
    for trial in range(TRIALS):
        user = make_user(email=f"reset{trial}@example.com")
        token = reset_password_tokens.make_email_token(user)
        passwords = [f"new passphrase {trial} number {i}" for i in range(racers)]

        def reset(i: int, token: str = token, passwords: list[str] = passwords) -> Any:
            return client(i).post("/api/v1/auth/reset-password",
                                  {"token": token, "new_password": passwords[i]},
                                  format="json")

        responses = run_together([partial(reset, i) for i in range(racers)])

        winners = [i for i, r in enumerate(responses) if r.status_code == 200]
        assert len(winners) == 1, [r.status_code for r in responses]
        for i, response in enumerate(responses):
            if i != winners[0]:
                assert_error(response, 400, "token_invalid")
        user.refresh_from_db()
        assert user.check_password(passwords[winners[0]])


def test_c5_parallel_verifications_with_one_token_verify_once_every_time(
    make_user: Callable[..., Any]
) -> None:
    from ainative_auth.signals import email_verified

    events: list[str] = []
    lock = threading.Lock()

    def on_verified(sender: Any, email: str, **kwargs: Any) -> None:
        with lock:
            events.append(email)

    email_verified.connect(on_verified)
    try:
        for trial in range(TRIALS):
            user = make_user(email=f"verify{trial}@example.com")
            token = verify_email_tokens.make_email_token(user)

            def verify(i: int, token: str = token) -> Any:
                return client(i).post("/api/v1/auth/verify-email", {"token": token},
                                      format="json")

            responses = run_together([partial(verify, i) for i in range(8)])

            statuses = Counter(r.status_code for r in responses)
            assert 500 not in statuses and statuses[200] >= 1, statuses
            assert set(statuses) <= {200, 400}
            assert EmailAddress.objects.get(user=user).verified is True
            assert events.count(f"verify{trial}@example.com") == 1
    finally:
        email_verified.disconnect(on_verified)


# --- C-6 ------------------------------------------------------------------------------


def test_c6_every_request_that_starts_after_the_revoke_answer_is_refused(
    make_user: Callable[..., Any], make_api_key: Callable[..., Any]
) -> None:
    """Eight threads use the key in a loop while a ninth revokes it: whatever was in
    flight may have passed, but no request that started after the DELETE answered
    passes (no cache of a key anywhere)."""
    make_user()
    for _ in range(FEW):
        issued = make_api_key()
        results, revoked_at = revoke_during_use(issued.plaintext, issued.key.public_id,
                                                log_in()["access_token"])

        after = [status for started, status in results if started > revoked_at]
        before = [status for started, status in results if started <= revoked_at]
        assert len(after) >= 40 and set(after) == {401}, Counter(after)
        assert set(before) <= {200, 401} and before.count(200) >= 40


def revoke_during_use(key: str, key_id: str, access: str) -> tuple[list[tuple[float, int]],
                                                                    float]:
    """(start time, status) of every request made with ``key`` by eight threads, and the
    moment the DELETE that revoked it (after 40 successes) answered."""
    results: list[tuple[float, int]] = []
    lock = threading.Lock()
    stop = threading.Event()
    revoked: list[float] = []

    def use_key(index: int) -> None:
        api = client(index, {"HTTP_X_API_KEY": key})
        while not stop.is_set():
            started = time.monotonic()
            status = api.get(ME).status_code
            with lock:
                results.append((started, status))

    def revoke() -> None:
        try:
            wait_for(lambda: sum(s == 200 for _, s in results) >= 40)
            response = client(99, bearer(access)).delete(f"/api/v1/api-keys/{key_id}")
            revoked.append(time.monotonic())
            assert response.status_code == 204
            wait_for(lambda: sum(t > revoked[0] for t, _ in results) >= 40)
        finally:
            stop.set()

    run_together([partial(use_key, i) for i in range(8)] + [revoke], timeout=60)
    return results, revoked[0]


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_c6_parallel_key_creation_over_http_stops_at_the_limit(
    make_user: Callable[..., Any], make_api_key: Callable[..., Any], auth_settings: Any,
    verify: Callable[..., Any],
) -> None:
    auth_settings(API_KEY_MAX_PER_USER=3)
    for trial in range(TRIALS):
        user = verify(make_user(email=f"keys{trial}@example.com"))
        make_api_key(user)
        make_api_key(user)  # one slot left
        access = log_in(f"keys{trial}@example.com")["access_token"]

        def create(i: int, access: str = access) -> Any:
            return client(i, bearer(access)).post("/api/v1/api-keys", {"name": f"k{i}"},
                                                    format="json")

        responses = run_together([partial(create, i) for i in range(10)])

        assert Counter(r.status_code for r in responses) == {201: 1, 409: 9}
        assert_error(next(r for r in responses if r.status_code == 409), 409,
                     "api_key_limit_reached")
        assert APIKey.objects.live().filter(user=user).count() == 3


# --- C-8 ------------------------------------------------------------------------------


def test_c8_parallel_wrong_passwords_from_one_address_stop_at_the_per_ip_limit(
    make_user: Callable[..., Any], auth_settings: Any, clock: Any
) -> None:
    """One address, forty accounts (so only the per-IP counter can stop them): exactly
    the limit gets through to the password check, the rest are 429s."""
    auth_settings.rates(login="5/minute")
    for trial in range(FEW):
        ip = f"10.99.{trial}.1"

        def attempt(i: int, ip: str = ip, trial: int = trial) -> Any:
            return APIClient(REMOTE_ADDR=ip).post(
                "/api/v1/auth/login",
                {"email": f"target{trial}-{i}@example.com", "password": "wrong password"},
                format="json")

        responses = run_together([partial(attempt, i) for i in range(30)])

        assert Counter(r.status_code for r in responses) == {401: 5, 429: 25}
        assert_error(next(r for r in responses if r.status_code == 429), 429, "throttled")


# --- C-9 ------------------------------------------------------------------------------


def test_c9_a_storm_of_logins_for_unknown_addresses_stays_bounded(
    make_user: Callable[..., Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty parallel logins with random addresses, with the real argon2id parameters:
    each answers 401 (never a 500), each still costs one hash (no timing oracle), at most
    four hashes run at once (R30: 64 MiB each), and a real login right after works."""
    make_user()  # hashed with the suite's fast parameters, verified by the real hasher
    settings.PASSWORD_HASHERS = ["ainative_auth.hashers.Argon2idPasswordHasher"]
    running, peak, hashes = 0, 0, 0
    lock = threading.Lock()

    def counted(original: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Any, *args: Any) -> Any:
            nonlocal running, peak, hashes
            with lock:
                running += 1
                hashes += 1
                peak = max(peak, running)
            try:
                return original(self, *args)
            finally:
                with lock:
                    running -= 1
        return run

    monkeypatch.setattr(Argon2PasswordHasher, "encode",
                        counted(Argon2PasswordHasher.encode))
    monkeypatch.setattr(Argon2PasswordHasher, "verify",
                        counted(Argon2PasswordHasher.verify))

    def attempt(i: int) -> Any:
        return client(i).post("/api/v1/auth/login",
                              {"email": f"{secrets.token_hex(6)}@example.com",
                               "password": secrets.token_urlsafe(12)}, format="json")

    responses = run_together([partial(attempt, i) for i in range(40)])

    assert Counter(r.status_code for r in responses) == {401: 40}
    assert_error(responses[0], 401, "invalid_credentials")
    assert hashes == 40
    assert peak <= 4
    assert client(41).post("/api/v1/auth/login",
                           {"email": "alice@example.com", "password": PASSWORD},
                           format="json").status_code == 200


# --- the v2 nonce replay race ---------------------------------------------------------


def test_one_v2_signature_sent_by_many_threads_at_once_passes_once(
    make_api_key: Callable[..., Any]
) -> None:
    issued = make_api_key()
    for _ in range(TRIALS):
        headers: dict[str, Any] = as_meta(sign_v2("GET", ORIGIN + ME, key_id=issued.key.prefix,
                                  secret=issued.signing_secret))

        def send(i: int, headers: dict[str, Any] = headers) -> Any:
            return client(i).get(ME, **headers)

        responses = run_together([partial(send, i) for i in range(10)])

        assert Counter(r.status_code for r in responses) == {200: 1, 401: 9}
        for response in responses:
            if response.status_code == 401:
                assert_error(response, 401, "signature_invalid", challenge="Bearer")



@pytest.mark.parametrize("change", ["social claim", "password reset"])
def test_c3_a_password_login_racing_a_password_change_keeps_no_session(
    github: FakeGitHub, make_user: Callable[..., Any], change: str
) -> None:
    """A login checks the old password while a reset, or a social login claiming the
    unverified account, replaces it and revokes every session. Whichever order they take,
    no session the old password opened outlives the change: the login is refused, or its
    session is revoked with the others."""
    outcomes: Counter[tuple[int, int]] = Counter()
    for trial in range(2 * TRIALS):
        email = f"squat{trial}@example.com"
        user = make_user(email=email)
        if change == "social claim":
            code = github.grant_code(github_user(uid=8000 + trial, email=email))

            def change_it(value: str = code) -> Any:
                return callback(client(2), "github", code=value)
        else:
            token = reset_password_tokens.make_email_token(user)

            def change_it(value: str = token) -> Any:
                return client(2).post("/api/v1/auth/reset-password",
                                      {"token": value, "new_password": "the owner's new one"},
                                      format="json")

        def by_password(email: str = email) -> Any:
            return client(1).post("/api/v1/auth/login",
                                  {"email": email, "password": PASSWORD}, format="json")

        login, changed = run_together([by_password, change_it])

        outcomes[(login.status_code, changed.status_code)] += 1
        assert login.status_code in (200, 401), login.content
        # A reset loses only to a login that committed first: the token is bound to the
        # last login (Django's design), so the reset is refused and nothing changed.
        assert changed.status_code in ((200,) if change == "social claim" else (200, 400))
        if login.status_code == 401:
            assert_error(login, 401, "invalid_credentials")
        if changed.status_code == 200 and login.status_code == 200:
            session_id = login.json()["refresh_token"].split(".")[0]
            assert RefreshSession.objects.get(pk=session_id).revoked_at is not None
            assert client(0, bearer(login.json()["access_token"])).get(ME).status_code == 401
        if changed.status_code == 200:
            assert by_password().status_code == 401
    print(f"(login, {change}) outcomes: {dict(outcomes)}")
