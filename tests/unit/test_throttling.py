"""Rate limits (R10, R26-R30, REL-2): per IP and per email, before hashing, fail closed.

The throttle clock is frozen (``clock`` fixture) so no test can straddle a window
boundary, and "waiting out" a limit is a clock step, not a sleep.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache.backends.base import BaseCache

from ainative_auth.credentials import throttling
from ainative_auth.models import RefreshSession
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
REFRESH = "/api/v1/auth/refresh"
WRONG = "wrong password!"


class BrokenCache(BaseCache):
    """A cache whose server is down: every operation raises."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def _down(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache server unreachable")

    add = get = set = touch = delete = clear = has_key = incr = decr = _down
    get_many = set_many = delete_many = _down


@pytest.fixture
def attempt(api: Any) -> Any:
    """POST auth/login from ``ip`` (REMOTE_ADDR)."""

    def _attempt(email: str = "alice@example.com", password: str = WRONG,
                 ip: str = "10.0.0.1", **extra: Any) -> Any:
        return api.post(LOGIN, {"email": email, "password": password}, format="json",
                        REMOTE_ADDR=ip, **extra)

    return _attempt


def assert_throttled(response: Any, period: int = 60) -> None:
    body = assert_error(response, 429, "throttled")
    assert set(body) == {"detail", "error_code"}
    assert int(response["Retry-After"]) <= period + 1
    assert response["Cache-Control"] == "no-store"


# --- login, per IP -------------------------------------------------------------------


def test_login_is_limited_per_ip_with_an_integer_retry_after(attempt, auth_settings, clock):
    auth_settings.rates(login="3/minute")

    for n in range(3):
        assert attempt(email=f"user{n}@example.com").status_code == 401

    assert_throttled(attempt(email="user9@example.com"))
    assert attempt(email="user9@example.com", ip="10.0.0.2").status_code == 401


def test_a_spoofed_x_forwarded_for_is_ignored_without_trusted_proxies(
    attempt, auth_settings, clock, make_user
):
    auth_settings.rates(login="3/minute")

    for n in range(3):
        response = attempt(email=f"user{n}@example.com", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert response.status_code == 401

    assert_throttled(attempt(email="user9@example.com", HTTP_X_FORWARDED_FOR="203.0.113.99"))


def test_the_session_records_remote_addr_not_a_client_sent_forwarded_for(attempt, make_user):
    make_user()

    response = attempt(password=PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert response.status_code == 200
    assert RefreshSession.objects.get().ip_address == "10.0.0.1"


def test_with_one_trusted_proxy_the_forwarded_client_ip_is_limited(
    auth_settings, attempt, clock, make_user
):
    auth_settings.rates(login="3/minute")
    auth_settings(TRUSTED_PROXY_COUNT=1)
    proxy = "10.0.0.1"

    # Different clients behind the same proxy each get their own budget...
    for n in range(5):
        response = attempt(email=f"user{n}@example.com", ip=proxy,
                           HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert response.status_code == 401
    # ...and a client cannot escape its own by prepending addresses the proxy passes on.
    for n in range(3):
        response = attempt(email=f"other{n}@example.com", ip=proxy,
                           HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 198.51.100.77")
        assert response.status_code == 401
    assert_throttled(attempt(email="other9@example.com", ip=proxy,
                             HTTP_X_FORWARDED_FOR="6.6.6.99, 198.51.100.77"))

    make_user()
    ok = attempt(password=PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.200")
    assert ok.status_code == 200
    assert RefreshSession.objects.get().ip_address == "198.51.100.200"


# --- login, per email ----------------------------------------------------------------


def test_login_is_limited_per_email_across_ips(attempt, auth_settings, clock, make_user):
    auth_settings.rates(login="3/minute")
    make_user()

    for n in range(3):
        assert attempt(ip=f"10.0.0.{n + 1}").status_code == 401

    assert_throttled(attempt(ip="10.0.0.50"))


def test_the_correct_password_during_a_lockout_is_throttled_too(
    attempt, auth_settings, clock, make_user, hash_ops
):
    auth_settings.rates(login="3/minute")
    make_user()
    for n in range(3):
        attempt(ip=f"10.0.0.{n + 1}")
    hash_ops.clear()

    response = attempt(password=PASSWORD, ip="10.0.0.60")

    assert_throttled(response)
    assert hash_ops == []
    assert not RefreshSession.objects.exists()


def test_an_unknown_email_is_locked_out_with_the_same_answer(
    attempt, auth_settings, clock, make_user
):
    auth_settings.rates(login="3/minute")
    make_user(email="alice@example.com")
    for n in range(3):
        attempt(email="alice@example.com", ip=f"10.0.1.{n + 1}")
        attempt(email="nobody@example.com", ip=f"10.0.2.{n + 1}")

    known = attempt(email="alice@example.com", ip="10.0.1.99")
    unknown = attempt(email="nobody@example.com", ip="10.0.2.99")

    assert_throttled(known)
    assert_throttled(unknown)
    assert known.content == unknown.content
    assert sorted(known.headers.items()) == sorted(unknown.headers.items())


def test_the_per_email_counter_ignores_case_and_spaces(attempt, auth_settings, clock, make_user):
    auth_settings.rates(login="3/minute")
    make_user()

    for n, spelling in enumerate(["alice@example.com", "ALICE@EXAMPLE.COM", " Alice@Example.com "]):
        assert attempt(email=spelling, ip=f"10.0.0.{n + 1}").status_code == 401

    assert_throttled(attempt(email="aLiCe@example.COM", ip="10.0.0.9"))


def test_a_lockout_ends_with_its_window(attempt, auth_settings, clock, make_user):
    auth_settings.rates(login="3/minute")
    make_user()
    for n in range(3):
        attempt(ip=f"10.0.0.{n + 1}")
    locked = attempt(password=PASSWORD, ip="10.0.0.9")
    assert_throttled(locked)

    clock.advance(int(locked["Retry-After"]))

    assert attempt(password=PASSWORD, ip="10.0.0.9").status_code == 200


def test_a_locked_account_can_still_reset_its_password_and_then_log_in(
    attempt, api, auth_settings, clock, make_user
):
    # R27: a lockout cannot be weaponised to keep the owner out; recovery works through it.
    from ainative_auth.credentials.email_tokens import reset_password_tokens

    auth_settings.rates(login="3/minute")
    user = make_user()
    for n in range(3):
        attempt(ip=f"10.0.0.{n + 1}")
    assert_throttled(attempt(password=PASSWORD, ip="10.0.0.9"))

    forgot = api.post("/api/v1/auth/forgot-password", {"email": "alice@example.com"},
                      format="json")
    reset = api.post("/api/v1/auth/reset-password",
                     {"token": reset_password_tokens.make_email_token(user),
                      "new_password": "a brand new passphrase"}, format="json")

    assert forgot.status_code == 200
    assert reset.status_code == 200, reset.content
    assert attempt(password="a brand new passphrase", ip="10.0.0.9").status_code == 200


def test_a_successful_login_resets_the_email_counter(attempt, auth_settings, clock, make_user):
    auth_settings.rates(login="3/minute")
    make_user()
    assert attempt(ip="10.0.0.1").status_code == 401
    assert attempt(ip="10.0.0.2").status_code == 401
    assert attempt(password=PASSWORD, ip="10.0.0.3").status_code == 200

    # Without the reset the next failure would be the 4th of the window.
    for n in range(3):
        assert attempt(ip=f"10.0.0.{10 + n}").status_code == 401
    assert_throttled(attempt(ip="10.0.0.20"))


def test_a_successful_login_does_not_reset_the_ip_counter(attempt, auth_settings, clock, make_user):
    # R28: 9 failures from one IP on 9 accounts, one success there, then the 11th -> 429.
    auth_settings.rates(login="10/minute")
    make_user(email="x@example.com")
    for n in range(9):
        assert attempt(email=f"victim{n}@example.com").status_code == 401
    assert attempt(email="x@example.com", password=PASSWORD).status_code == 200

    assert_throttled(attempt(email="victim99@example.com"))


# --- login, consecutive-failure ceiling per account (R26) ----------------------------


def test_consecutive_failures_past_the_lockout_ceiling_are_throttled_for_the_day(
    auth_settings, attempt, clock, make_user
):
    auth_settings.rates(login="100/minute")
    auth_settings(LOGIN_LOCKOUT_RATE="5/day")
    make_user()
    for n in range(5):
        # Spread over minutes and addresses: the per-minute limits never trigger.
        clock.advance(61)
        assert attempt(ip=f"10.0.1.{n}").status_code == 401

    clock.advance(61)
    assert_throttled(attempt(password=PASSWORD, ip="10.0.1.99"), period=86400)


def test_a_successful_login_clears_the_lockout_count(
    auth_settings, attempt, clock, make_user
):
    auth_settings.rates(login="100/minute")
    auth_settings(LOGIN_LOCKOUT_RATE="3/day")
    make_user()
    assert attempt(ip="10.0.2.1").status_code == 401
    assert attempt(ip="10.0.2.2").status_code == 401
    assert attempt(password=PASSWORD, ip="10.0.2.3").status_code == 200

    assert attempt(ip="10.0.2.4").status_code == 401
    assert attempt(ip="10.0.2.5").status_code == 401
    assert attempt(password=PASSWORD, ip="10.0.2.6").status_code == 200


def test_a_password_reset_lifts_the_lockout(auth_settings, api, attempt, clock, make_user):
    from ainative_auth.credentials.email_tokens import reset_password_tokens

    auth_settings.rates(login="100/minute")
    auth_settings(LOGIN_LOCKOUT_RATE="2/day")
    user = make_user()
    attempt(ip="10.0.3.1")
    attempt(ip="10.0.3.2")
    assert_throttled(attempt(password=PASSWORD, ip="10.0.3.3"), period=86400)

    reset = api.post("/api/v1/auth/reset-password",
                     {"token": reset_password_tokens.make_email_token(user),
                      "new_password": "a brand new passphrase"}, format="json")

    assert reset.status_code == 200, reset.content
    assert attempt(password="a brand new passphrase", ip="10.0.3.4").status_code == 200


def test_the_lockout_ceiling_can_be_switched_off(auth_settings, attempt, clock, make_user):
    auth_settings.rates(login="100/minute")
    auth_settings(LOGIN_LOCKOUT_RATE=None)
    make_user()
    for n in range(12):
        assert attempt(ip=f"10.0.4.{n}").status_code == 401
    assert attempt(password=PASSWORD, ip="10.0.4.99").status_code == 200


def test_login_throttling_runs_before_any_hashing(attempt, auth_settings, clock, hash_ops):
    auth_settings.rates(login="2/minute")
    attempt(email="a@example.com")
    attempt(email="b@example.com")
    hash_ops.clear()

    response = attempt(email="c@example.com")

    assert_throttled(response)
    assert hash_ops == []


def test_a_scope_set_to_none_is_not_limited(attempt, auth_settings, clock):
    auth_settings.rates(login=None)

    statuses = {attempt().status_code for _ in range(15)}

    assert statuses == {401}


# --- register and refresh --------------------------------------------------------------


def test_register_is_limited_per_ip(api, auth_settings, clock, hash_ops):
    auth_settings.rates(register="3/hour")

    def register(n: int, ip: str = "10.0.0.1") -> Any:
        return api.post(REGISTER, {"email": f"user{n}@example.com", "password": PASSWORD},
                        format="json", REMOTE_ADDR=ip)

    for n in range(3):
        assert register(n).status_code == 201
    hash_ops.clear()

    response = register(3)

    assert_throttled(response, period=3600)
    assert hash_ops == []
    assert get_user_model().objects.count() == 3
    assert register(4, ip="10.0.0.2").status_code == 201


def test_refresh_is_limited_per_ip(api, auth_settings, clock, tokens):
    auth_settings.rates(refresh="3/minute")

    for n in range(3):
        garbage = api.post(REFRESH, {"refresh_token": f"garbage-{n}"}, format="json")
        assert garbage.status_code == 401

    real = api.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")
    assert_throttled(real)
    other_ip = api.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json",
                        REMOTE_ADDR="10.0.0.2")
    assert other_ip.status_code == 200


# --- the throttle store is down ----------------------------------------------------------


@pytest.fixture
def broken_cache(settings: Any, auth_settings: Any) -> None:
    settings.CACHES = {**settings.CACHES,
                       "broken": {"BACKEND": "tests.unit.test_throttling.BrokenCache"}}
    auth_settings(THROTTLE_CACHE="broken")


def test_login_fails_closed_with_503_when_the_throttle_cache_is_down(
    broken_cache, attempt, make_user, hash_ops
):
    make_user()
    hash_ops.clear()

    responses = [attempt(password=PASSWORD) for _ in range(5)] + [attempt() for _ in range(5)]

    for response in responses:
        assert response.status_code == 503, response.content
        assert response.json()["error_code"] == "service_unavailable"
        assert response["Retry-After"].isdigit()
    assert hash_ops == []
    assert not RefreshSession.objects.exists()


def test_register_and_refresh_fail_closed_when_the_throttle_cache_is_down(
    tokens, broken_cache, api
):
    registered = api.post(REGISTER, {"email": "bob@example.com", "password": PASSWORD},
                          format="json")
    refreshed = api.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")

    assert registered.status_code == 503
    assert registered.json()["error_code"] == "service_unavailable"
    assert not get_user_model().objects.filter(email="bob@example.com").exists()
    assert refreshed.status_code == 503
    assert refreshed.json()["error_code"] == "service_unavailable"


# --- shared counters -----------------------------------------------------------------


@pytest.mark.redis
def test_throttle_counters_are_shared_between_workers_through_redis(
    auth_settings, attempt, settings, clock
):
    import redis
    from django.core.cache.backends.redis import RedisCache

    url = os.environ["REDIS_URL"]
    prefix = f"ainative-throttle-test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "shared": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url, "KEY_PREFIX": prefix,
    }}
    auth_settings(THROTTLE_CACHE="shared")
    auth_settings.rates(login="3/minute")
    # Another worker: its own cache object and its own Redis connection pool.
    other_worker = RedisCache(url, {"KEY_PREFIX": prefix})
    window = int(clock.now // 60)
    try:
        for n in range(3):
            assert attempt(email=f"user{n}@example.com", ip="10.0.0.1").status_code == 401
        assert other_worker.get(throttling._key("login", "ip", "10.0.0.1", window)) == 3

        # The other worker counted 10.0.0.7 up to the limit: this worker refuses it at once.
        other_worker.set(throttling._key("login", "ip", "10.0.0.7", window), 3, timeout=120)
        assert_throttled(attempt(email="fresh@example.com", ip="10.0.0.7"))
        # Per-email counters too: three failures elsewhere lock the address here.
        other_worker.set(throttling._key("login", "email", "late@example.com", window), 3,
                         timeout=120)
        assert_throttled(attempt(email="LATE@example.com", ip="10.0.0.8"))
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()
