"""Per-IP limits count a client's network, not its exact address (security review F8).

One IPv6 host usually holds a whole /64 (what an ISP or a cloud VM hands one customer), so
a limit keyed on the exact address gives it 2**64 budgets. Every per-IP counter (the
``ip`` and ``ip_failures`` kinds, whatever the scope) counts the client's address masked
to ``THROTTLE_IPV6_PREFIX`` bits (64) or ``THROTTLE_IPV4_PREFIX`` bits (32, the address
itself); what sessions and keys record stays the full address.

The attack is replayed as the review ran it: through the API, behind one trusted proxy
(``TRUSTED_PROXY_COUNT=1``, the proxy at ``REMOTE_ADDR``) whose ``X-Forwarded-For`` carries
addresses that rotate inside one /64, at the shipped default rates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.checks import check_settings
from ainative_auth.conf import DEFAULTS
from ainative_auth.credentials import throttling
from ainative_auth.models import APIKey, RefreshSession
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"
WRONG = "wrong password!"
LOGIN_LIMIT = throttling.Rate.parse(DEFAULTS["THROTTLE_RATES"]["login"]).limit  # 10
REGISTER_LIMIT = throttling.Rate.parse(DEFAULTS["THROTTLE_RATES"]["register"]).limit  # 20


def in_64(n: int, network: str = "2001:db8:1:2") -> str:
    """The n-th address (n >= 1) of ``network``::/64, as a client would rotate them."""
    return f"{network}::{n:x}"


@pytest.fixture
def behind_proxy(auth_settings: Any, clock: Any) -> None:
    """One trusted proxy, the shipped per-IP rates for login and register, time frozen."""
    auth_settings(TRUSTED_PROXY_COUNT=1)
    auth_settings.rates(login=DEFAULTS["THROTTLE_RATES"]["login"],
                        register=DEFAULTS["THROTTLE_RATES"]["register"])


@pytest.fixture
def wrong_login(api: APIClient) -> Callable[..., Any]:
    """A wrong password for a fresh address each time (so only the per-IP counter adds up),
    from ``client`` as the proxy's X-Forwarded-For reports it."""
    counter = iter(range(10**6))

    def _attempt(client: str) -> Any:
        email = f"user{next(counter)}@example.com"
        return api.post(reverse("ainative_auth:login"), {"email": email, "password": WRONG},
                        format="json", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client)

    return _attempt


def spend_login_budget(wrong_login: Callable[..., Any], clients: list[str]) -> None:
    assert len(clients) == LOGIN_LIMIT
    for client in clients:
        assert_error(wrong_login(client), 401, "invalid_credentials")


# --- the attack: rotating inside one /64 -------------------------------------------------


def test_wrong_logins_from_rotating_addresses_of_one_ipv6_64_share_the_login_limit(
    behind_proxy, wrong_login
):
    spend_login_budget(wrong_login, [in_64(n) for n in range(1, LOGIN_LIMIT + 1)])

    # A new address of the same /64, and the /64's last address, are the same client.
    assert_error(wrong_login(in_64(LOGIN_LIMIT + 1)), 429, "throttled")
    assert_error(wrong_login("2001:db8:1:2:ffff:ffff:ffff:ffff"), 429, "throttled")


def test_registrations_from_rotating_addresses_of_one_ipv6_64_share_the_register_limit(
    behind_proxy, api
):
    def register(n: int) -> Any:
        return api.post(reverse("ainative_auth:register"),
                        {"email": f"new{n}@example.com", "password": PASSWORD},
                        format="json", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=in_64(n))

    for n in range(1, REGISTER_LIMIT + 1):
        assert register(n).status_code == 201

    assert_error(register(REGISTER_LIMIT + 1), 429, "throttled")


def test_another_ipv6_64_has_its_own_budget(behind_proxy, wrong_login):
    spend_login_budget(wrong_login, [in_64(n) for n in range(1, LOGIN_LIMIT + 1)])
    assert_error(wrong_login(in_64(99)), 429, "throttled")

    # The neighbouring /64 (2001:db8:1:3::/64) is another customer.
    assert_error(wrong_login(in_64(1, "2001:db8:1:3")), 401, "invalid_credentials")


def test_ipv4_is_still_limited_per_address(behind_proxy, wrong_login):
    spend_login_budget(wrong_login, ["198.51.100.7"] * LOGIN_LIMIT)
    assert_error(wrong_login("198.51.100.7"), 429, "throttled")

    assert_error(wrong_login("198.51.100.8"), 401, "invalid_credentials")


def test_an_ipv4_mapped_ipv6_address_counts_as_its_ipv4_address(behind_proxy, wrong_login):
    half = LOGIN_LIMIT // 2
    spend_login_budget(wrong_login, ["198.51.100.7"] * half
                       + ["::ffff:198.51.100.7"] * (LOGIN_LIMIT - half))

    assert_error(wrong_login("::ffff:198.51.100.7"), 429, "throttled")
    assert_error(wrong_login("198.51.100.7"), 429, "throttled")
    assert_error(wrong_login("::ffff:198.51.100.8"), 401, "invalid_credentials")


def test_the_prefixes_are_settings(behind_proxy, auth_settings, wrong_login):
    auth_settings(THROTTLE_IPV6_PREFIX=48, THROTTLE_IPV4_PREFIX=24)
    spend_login_budget(wrong_login, [in_64(1, f"2001:db8:1:{n:x}")
                                     for n in range(1, LOGIN_LIMIT + 1)])
    assert_error(wrong_login("2001:db8:1:ffff::1"), 429, "throttled")  # same /48
    assert_error(wrong_login("2001:db8:2::1"), 401, "invalid_credentials")

    spend_login_budget(wrong_login, [f"198.51.100.{n}" for n in range(1, LOGIN_LIMIT + 1)])
    assert_error(wrong_login("198.51.100.250"), 429, "throttled")  # same /24
    assert_error(wrong_login("198.51.101.1"), 401, "invalid_credentials")


def test_a_128_prefix_counts_every_ipv6_address_alone(behind_proxy, auth_settings, wrong_login):
    auth_settings(THROTTLE_IPV6_PREFIX=128)
    spend_login_budget(wrong_login, [in_64(1)] * LOGIN_LIMIT)
    assert_error(wrong_login(in_64(1)), 429, "throttled")

    assert_error(wrong_login(in_64(2)), 401, "invalid_credentials")


# --- every per-IP counter, not only login's ----------------------------------------------


PER_IP_ENDPOINTS = {
    "register": ("register", lambda n: {"email": f"r{n}@example.com", "password": PASSWORD}),
    "refresh": ("refresh", lambda n: {"refresh_token": f"garbage-{n}"}),
    "forgot_password": ("forgot-password", lambda n: {"email": f"f{n}@example.com"}),
    "resend_verification": ("resend-verification", lambda n: {"email": f"v{n}@example.com"}),
    # Tokens naming a different account each, so the per-account failure counter (same
    # rate) never adds up: only the per-IP one can answer 429.
    "verify_email": ("verify-email", lambda n: {"token": f"u{n}.garbage"}),
    "reset_password": ("reset-password",
                       lambda n: {"token": f"u{n}.garbage", "new_password": PASSWORD}),
}


@pytest.mark.parametrize("scope", sorted(PER_IP_ENDPOINTS))
def test_each_anonymous_per_ip_limit_counts_the_64(scope, auth_settings, api, clock):
    auth_settings(TRUSTED_PROXY_COUNT=1)
    auth_settings.rates(**{scope: "3/hour"})
    name, body = PER_IP_ENDPOINTS[scope]

    def post(n: int) -> Any:
        return api.post(reverse(f"ainative_auth:{name}"), body(n), format="json",
                        REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=in_64(n))

    for n in range(1, 4):
        assert post(n).status_code != 429
    assert_error(post(4), 429, "throttled")


def test_the_oauth_per_ip_limit_counts_the_64(auth_settings, api, clock, github):
    auth_settings(TRUSTED_PROXY_COUNT=1)
    auth_settings.rates(oauth="3/minute")
    url = reverse("ainative_auth:github-authorize")

    def authorize(n: int) -> Any:
        return api.get(url, {"redirect_uri": "https://app.example.com/auth/callback"},
                       REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=in_64(n))

    for n in range(1, 4):
        assert authorize(n).status_code == 200
    assert_error(authorize(4), 429, "throttled")


def test_change_password_per_ip_limit_counts_the_64(auth_settings, api, clock, make_user, login):
    auth_settings(TRUSTED_PROXY_COUNT=1)
    auth_settings.rates(change_password="3/hour")
    url = reverse("ainative_auth:change-password")
    accounts = []
    for n in range(4):
        make_user(email=f"c{n}@example.com")
        accounts.append(login(email=f"c{n}@example.com").json()["access_token"])

    def change(n: int) -> Any:
        # One account each, so the per-user counter never adds up.
        return api.post(url, {"current_password": WRONG, "new_password": PASSWORD + "x"},
                        format="json", HTTP_AUTHORIZATION=f"Bearer {accounts[n]}",
                        REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=in_64(n + 1))

    for n in range(3):
        assert change(n).status_code != 429
    assert_error(change(3), 429, "throttled")


def test_api_key_failures_are_counted_per_64(auth_settings, api, clock):
    auth_settings(TRUSTED_PROXY_COUNT=1)
    auth_settings.rates(api_key="3/minute")

    def guess(n: int) -> Any:
        return api.get(reverse("ainative_auth:me"), HTTP_X_API_KEY=f"ak_guess{n}",
                       REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=in_64(n))

    for n in range(1, 4):
        assert_error(guess(n), 401)
    assert_error(guess(4), 429, "throttled")


# --- what is recorded stays the full address ---------------------------------------------


def test_sessions_and_keys_record_the_full_address(behind_proxy, api, make_user, make_api_key):
    user = make_user()
    client = "2001:db8:1:2:aaaa:bbbb:cccc:dddd"
    response = api.post(reverse("ainative_auth:login"),
                        {"email": "alice@example.com", "password": PASSWORD}, format="json",
                        REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client)
    assert response.status_code == 200
    assert RefreshSession.objects.get().ip_address == client

    key, plaintext = make_api_key(user)
    used = api.get(reverse("ainative_auth:me"), HTTP_X_API_KEY=plaintext,
                   REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client)
    assert used.status_code == 200
    assert APIKey.objects.get(pk=key.pk).last_used_ip == client


# --- the network itself, and the settings ------------------------------------------------


@pytest.mark.parametrize(("address", "network"), [
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("::ffff:1.2.3.4", "1.2.3.4/32"),
    ("1.2.3.4", "1.2.3.4/32"),
    ("0.0.0.0", "0.0.0.0/32"),
    ("not an address", "not an address"),
])
def test_client_network(address, network):
    assert throttling.client_network(address) == network


def test_only_the_ip_kinds_are_counted_per_network():
    assert throttling.IP_KINDS == {"ip", "ip_failures"}
    window = 7
    assert (throttling._key("login", "ip", "2001:db8::1", window)
            == throttling._key("login", "ip", "2001:db8::2", window))
    # Other kinds are not addresses: an email, a key id, a session id are counted as given.
    assert (throttling._key("login", "email", "2001:db8::1", window)
            != throttling._key("login", "email", "2001:db8::2", window))


def prefix_errors() -> list[str]:
    return [p.msg for p in check_settings()
            if isinstance(p, Error) and p.id == "ainative_auth.E012"]


@pytest.mark.parametrize(("key", "value"), [
    ("THROTTLE_IPV6_PREFIX", 129), ("THROTTLE_IPV6_PREFIX", -1), ("THROTTLE_IPV6_PREFIX", "64"),
    ("THROTTLE_IPV6_PREFIX", 64.0), ("THROTTLE_IPV6_PREFIX", True),
    ("THROTTLE_IPV6_PREFIX", None),
    ("THROTTLE_IPV4_PREFIX", 33), ("THROTTLE_IPV4_PREFIX", -1), ("THROTTLE_IPV4_PREFIX", "32"),
    ("THROTTLE_IPV4_PREFIX", 24.0),
])
def test_a_bad_prefix_is_a_system_check_error(auth_settings, key, value):
    auth_settings(**{key: value})
    errors = prefix_errors()
    assert len(errors) == 1 and key in errors[0]


@pytest.mark.parametrize(("v4", "v6"), [(32, 64), (0, 0), (32, 128), (24, 48)])
def test_a_good_prefix_passes_the_checks(auth_settings, v4, v6):
    auth_settings(THROTTLE_IPV4_PREFIX=v4, THROTTLE_IPV6_PREFIX=v6)
    assert prefix_errors() == []


def test_a_bad_prefix_that_skipped_the_checks_refuses_to_count(auth_settings):
    auth_settings(THROTTLE_IPV6_PREFIX=200)
    with pytest.raises(ImproperlyConfigured):
        throttling.client_network("2001:db8::1")
