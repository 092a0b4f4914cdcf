"""The example project's /admin/login/ is behind the API's login limits (issue 8, item 3).

Accounts made through the API have username = email, so the admin's login form was a
second, unthrottled door to every staff password.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client

from ainative_auth.admin_site import ThrottledLoginMixin
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
STAFF = "staff@example.com"


@pytest.fixture
def staff(make_user):
    return make_user(email=STAFF, is_staff=True, is_superuser=True)


def admin_login(username: str = STAFF, password: str = "wrong password here",
                ip: str = "192.0.2.1"):
    return Client(REMOTE_ADDR=ip).post(LOGIN, {"username": username, "password": password,
                                               "next": "/admin/"})


def api_login(api, email: str = STAFF, password: str = "wrong password here",
              ip: str = "192.0.2.1"):
    return api.post("/api/v1/auth/login", {"email": email, "password": password},
                    format="json", REMOTE_ADDR=ip)


def test_the_example_projects_admin_site_is_throttled():
    from django.contrib.auth import get_user_model

    assert isinstance(admin.site, ThrottledLoginMixin)
    # Every registration lands on it, Django's and the app's own.
    assert admin.site.is_registered(get_user_model())
    assert any(model._meta.app_label == "ainative_auth" for model in admin.site._registry)


def test_a_right_password_logs_in_and_a_wrong_one_re_shows_the_form(staff):
    assert admin_login().status_code == 200
    response = admin_login(password=PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_guesses_from_one_ip_hit_the_login_rate(staff, auth_settings):
    auth_settings.rates(login="3/minute")
    for i in range(3):  # a different account each time: the per-IP limit
        assert admin_login(username=f"user{i}@example.com").status_code == 200
    response = admin_login(password=PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "sessionid" not in response.cookies  # nobody was logged in


def test_guesses_for_one_account_from_many_ips_hit_the_per_address_rate(staff, auth_settings):
    auth_settings.rates(login="3/minute")
    for i in range(3):
        assert admin_login(ip=f"198.51.100.{i}").status_code == 200
    # Even the right password, from a fresh IP, in another spelling of the address.
    response = admin_login(username="Staff@Example.COM", password=PASSWORD, ip="203.0.113.9")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


def test_the_lockout_ceiling_applies_to_the_admin_login(staff, auth_settings):
    auth_settings(LOGIN_LOCKOUT_RATE="3/day")
    for i in range(3):
        assert admin_login(ip=f"198.51.100.{i}").status_code == 200
    assert admin_login(password=PASSWORD, ip="203.0.113.9").status_code == 429


def test_the_admin_and_the_api_share_one_counter_per_account(staff, api, auth_settings):
    auth_settings.rates(login="3/minute")
    assert api_login(api, ip="198.51.100.1").status_code == 401
    assert api_login(api, ip="198.51.100.2").status_code == 401
    assert admin_login(ip="198.51.100.3").status_code == 200
    assert admin_login(password=PASSWORD, ip="198.51.100.4").status_code == 429
    assert api_login(api, password=PASSWORD, ip="198.51.100.5").status_code == 429


def test_a_successful_admin_login_clears_the_accounts_counter(staff, auth_settings):
    auth_settings.rates(login="3/minute")
    assert admin_login(ip="198.51.100.1").status_code == 200
    assert admin_login(ip="198.51.100.2").status_code == 200
    assert admin_login(password=PASSWORD, ip="198.51.100.3").status_code == 302
    # The address starts again (the IPs were each used once).
    assert admin_login(ip="198.51.100.4").status_code == 200
    assert admin_login(ip="198.51.100.5").status_code == 200
    assert admin_login(password=PASSWORD, ip="198.51.100.6").status_code == 302


def test_showing_the_login_form_is_not_counted(staff, auth_settings):
    auth_settings.rates(login="2/minute")
    client = Client(REMOTE_ADDR="192.0.2.1")
    for _ in range(5):
        assert client.get(LOGIN).status_code == 200
    assert admin_login(password=PASSWORD).status_code == 302


def test_a_down_throttle_cache_refuses_the_admin_login(staff, settings, auth_settings):
    settings.CACHES = {**settings.CACHES, "down": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0"}}
    auth_settings(THROTTLE_CACHE="down")
    response = admin_login(password=PASSWORD)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
