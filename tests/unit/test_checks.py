"""System checks for what used to fail late (a 500 at a request, after a row was written) or
silently (lost mail, an unguarded admin login, a login page nobody serves): each says what
is wrong and names the fix, at start-up."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.contrib import admin
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from ainative_auth import checks
from ainative_auth.checks import (
    check_admin_login,
    check_frontend_url,
    check_login_path,
    check_mail,
    check_mail_deploy,
    check_password_hashers,
    check_secure_cookies,
    check_settings,
)
from ainative_auth.conf import DEFAULTS

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def found(problems: list[Any], check_id: str) -> list[Any]:
    return [problem for problem in problems if problem.id == check_id]


def the_one(problems: list[Any], check_id: str, kind: type) -> Any:
    """The single problem with ``check_id``: of ``kind``, and naming a fix."""
    matching = found(problems, check_id)
    assert len(matching) == 1, problems
    assert isinstance(matching[0], kind)
    assert matching[0].hint, "every check names the fix"
    return matching[0]


# --- E008: values of the wrong type -------------------------------------------------------

@pytest.mark.parametrize(("key", "value"), [
    ("ACCESS_TOKEN_LIFETIME", "30m"),
    ("ACCESS_TOKEN_LIFETIME", True),
    ("REFRESH_TOKEN_LIFETIME", -1),
    ("TRUSTED_PROXY_COUNT", 1.5),
    ("SEND_MAIL_IN_BACKGROUND", "no"),
    ("API_KEY_DEFAULT_SCOPES", "*"),
    ("API_KEY_DEFAULT_SCOPES", [1]),
    ("SIGNING_KEY", 12345),
    ("THROTTLE_RATES", ["login", "10/minute"]),
    ("THROTTLE_RATES", {"login": 10}),
    ("LOGIN_LOCKOUT_RATE", 100),
    ("VERIFY_EMAIL_PATH", "/verify-email"),
    ("FRONTEND_URL", None),
])
def test_a_value_of_the_wrong_type_is_check_error_e008(auth_settings, key, value):
    auth_settings(**{key: value})

    problem = the_one(check_settings(), "ainative_auth.E008", Error)
    assert key in problem.hint or key in problem.msg


def test_every_default_value_passes_the_type_check(settings):
    settings.AINATIVE_AUTH = dict(DEFAULTS)

    assert found(check_settings(), "ainative_auth.E008") == []


@pytest.mark.parametrize(("key", "value"), [
    ("ACCESS_TOKEN_LIFETIME", 600), ("OAUTH_TIMEOUT", 2.5), ("SIGNING_KEY", "k" * 40),
    ("LOGIN_LOCKOUT_RATE", None), ("API_KEY_DEFAULT_SCOPES", ["credits:read"]),
    ("THROTTLE_RATES", {"login": None}), ("RESET_PASSWORD_PATH", "/reset/{token}"),
])
def test_well_typed_values_pass(auth_settings, key, value):
    auth_settings(**{key: value})

    assert found(check_settings(), "ainative_auth.E008") == []


@pytest.mark.django_db  # Django 6.1's check command also runs the database checks
def test_a_lifetime_written_as_text_stops_the_project_at_start_up(auth_settings):
    auth_settings(ACCESS_TOKEN_LIFETIME="30m")

    with pytest.raises(SystemCheckError, match=r"ainative_auth\.E008"):
        call_command("check")


# --- E009, E010, E011: what the settings name must exist ----------------------------------

@pytest.mark.parametrize("key", ["THROTTLE_CACHE", "OAUTH_CACHE"])
def test_an_unknown_cache_alias_is_check_error_e009(auth_settings, key):
    auth_settings(**{key: "redis"})

    problem = the_one(check_settings(), "ainative_auth.E009", Error)
    assert "'default'" in problem.hint


def test_a_known_cache_alias_passes(settings, auth_settings):
    settings.CACHES = {**settings.CACHES, "redis": settings.CACHES["default"]}
    auth_settings(THROTTLE_CACHE="redis")

    assert found(check_settings(), "ainative_auth.E009") == []


@pytest.mark.parametrize("path", ["myproject.nowhere.Adapter", "ainative_auth.adapter.Nope",
                                  "not a path"])
def test_an_adapter_that_does_not_import_is_check_error_e010(auth_settings, path):
    auth_settings(ADAPTER=path)

    the_one(check_settings(), "ainative_auth.E010", Error)


def test_the_default_adapter_passes(auth_settings):
    auth_settings(ADAPTER="ainative_auth.adapter.DefaultAdapter")

    assert found(check_settings(), "ainative_auth.E010") == []


@pytest.mark.parametrize("url", ["app.example.com", "localhost:3000", "ftp://app.example.com",
                                 "https://", "/frontend"])
def test_a_frontend_url_without_scheme_or_host_is_check_error_e011(auth_settings, url):
    auth_settings(FRONTEND_URL=url)

    problem = the_one(check_settings(), "ainative_auth.E011", Error)
    assert "https://" in problem.hint


@pytest.mark.parametrize("url", ["https://app.example.com", "http://localhost:3000",
                                 "https://example.com/app/"])
def test_an_absolute_frontend_url_passes(auth_settings, url):
    auth_settings(FRONTEND_URL=url)

    assert found(check_settings(), "ainative_auth.E011") == []


# --- W006, W007: argon2id hashes and verifies ---------------------------------------------

def test_the_test_settings_hash_with_argon2id():
    assert check_password_hashers() == []


def test_argon2id_not_first_is_warning_w006(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "ainative_auth.hashers.Argon2idPasswordHasher"]

    problem = the_one(check_password_hashers(), "ainative_auth.W006", Warning)
    assert "ainative_auth.hashers.Argon2idPasswordHasher" in problem.hint


def test_djangos_argon2_hasher_after_ours_is_warning_w007(settings):
    # What the README used to recommend: Django's hasher, listed after ours, verifies
    # every argon2 hash itself.
    settings.PASSWORD_HASHERS = ["ainative_auth.hashers.Argon2idPasswordHasher",
                                 "django.contrib.auth.hashers.Argon2PasswordHasher",
                                 "django.contrib.auth.hashers.PBKDF2PasswordHasher"]

    problem = the_one(check_password_hashers(), "ainative_auth.W007", Warning)
    assert "Argon2PasswordHasher" in problem.hint


def test_configures_hashers_pass(settings):
    from ainative_auth.setup import PASSWORD_HASHERS

    settings.PASSWORD_HASHERS = list(PASSWORD_HASHERS)

    assert check_password_hashers() == []


# --- W008: a production project whose mail links point at localhost --------------------

@pytest.mark.parametrize("hosts", [["api.example.com"], ["*"], [".example.com"]])
def test_debug_off_with_a_localhost_frontend_served_elsewhere_is_warning_w008(
        settings, auth_settings, hosts):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["localhost", *hosts]
    auth_settings(FRONTEND_URL="http://localhost:3000")

    problem = the_one(check_frontend_url(), "ainative_auth.W008", Warning)
    assert "FRONTEND_URL" in problem.hint


@pytest.mark.parametrize(("debug", "hosts", "url"), [
    (True, ["api.example.com"], "http://localhost:3000"),      # developing
    (False, ["127.0.0.1", "localhost", "[::1]"], "http://localhost:3000"),  # make run
    (False, ["api.example.com"], "https://app.example.com"),   # deployed, set
])
def test_a_localhost_frontend_is_fine_while_developing_or_serving_only_this_machine(
        settings, auth_settings, debug, hosts, url):
    settings.DEBUG = debug
    settings.ALLOWED_HOSTS = hosts
    auth_settings(FRONTEND_URL=url)

    assert check_frontend_url() == []


def test_the_default_frontend_url_counts_as_localhost(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.AINATIVE_AUTH = {}

    the_one(check_frontend_url(), "ainative_auth.W008", Warning)


# --- W009, W012: the login page and the middleware behind PROTECTED_PATHS ---------------

def test_a_login_path_no_url_serves_is_warning_w009(auth_settings):
    auth_settings(PROTECTED_PATHS=["/dashboard"], LOGIN_PATH="/signin")

    problem = the_one(check_login_path(), "ainative_auth.W009", Warning)
    assert "ainative_auth.urls_pages" in problem.hint


def test_a_served_login_path_passes(auth_settings):
    auth_settings(PROTECTED_PATHS=["/dashboard"], LOGIN_PATH="/login")

    assert check_login_path() == []


def test_an_unused_login_path_is_not_checked(auth_settings):
    # Nothing is protected, so no browser is ever sent to LOGIN_PATH (an API-only project).
    auth_settings(PROTECTED_PATHS=[], LOGIN_PATH="/signin")

    assert check_login_path() == []


def test_protected_paths_without_the_middleware_is_warning_w012(settings, auth_settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE
                           if m != "ainative_auth.middleware.AuthRequiredMiddleware"]
    auth_settings(PROTECTED_PATHS=["/dashboard"])

    the_one(check_login_path(), "ainative_auth.W012", Warning)


# --- W016: session and CSRF cookies Secure over HTTPS ------------------------------------

SECURE_COOKIES = "ainative_auth.middleware.SecureCookiesMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"


def test_the_example_project_marks_its_cookies_secure_over_https(settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False

    assert SECURE_COOKIES in settings.MIDDLEWARE
    assert check_secure_cookies() == []


@pytest.mark.parametrize("where", ["missing", "after the session middleware", "last"])
def test_cookies_that_could_go_out_without_secure_are_warning_w016(settings, where):
    settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE = True, False
    middleware = [m for m in settings.MIDDLEWARE if m != SECURE_COOKIES]
    if where == "after the session middleware":
        middleware.insert(middleware.index(SESSION) + 1, SECURE_COOKIES)
    elif where == "last":
        middleware.append(SECURE_COOKIES)
    settings.MIDDLEWARE = middleware

    problem = the_one(check_secure_cookies(), "ainative_auth.W016", Warning)
    assert SECURE_COOKIES in problem.hint


def test_cookie_settings_that_are_on_or_no_sessions_need_no_middleware(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != SECURE_COOKIES]
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    assert check_secure_cookies() == []

    settings.SESSION_COOKIE_SECURE = False
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != SESSION]
    assert check_secure_cookies() == []


# --- W010: the admin's login behind the API's limits -------------------------------------

def test_the_example_projects_admin_is_throttled():
    assert check_admin_login() == []


def test_an_admin_whose_login_is_not_throttled_is_warning_w010(monkeypatch):
    monkeypatch.setattr(admin, "site", admin.AdminSite())

    problem = the_one(check_admin_login(), "ainative_auth.W010", Warning)
    assert "ainative_auth.apps.AdminConfig" in problem.hint


# --- W011: mail that cannot leave ---------------------------------------------------------

@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def use_smtp(settings: Any, host: str, port: int) -> None:
    """Mail through Django's SMTP backend at ``host:port`` (MAILERS on Django 6.1+)."""
    if django.VERSION >= (6, 1):
        settings.MAILERS = {"default": {"BACKEND": SMTP,
                                        "OPTIONS": {"host": host, "port": port}}}
    else:
        settings.EMAIL_BACKEND = SMTP
        settings.EMAIL_HOST = host
        settings.EMAIL_PORT = port


def test_an_smtp_server_that_refuses_connections_is_warning_w011(settings, closed_port):
    use_smtp(settings, "127.0.0.1", closed_port)

    problem = the_one(check_mail(), "ainative_auth.W011", Warning)
    assert f"127.0.0.1:{closed_port}" in problem.msg
    assert "console.EmailBackend" in problem.hint


def test_an_smtp_server_that_answers_passes(settings, listening_port):
    use_smtp(settings, "127.0.0.1", listening_port)

    assert check_mail() == []


def test_mail_that_is_not_smtp_is_not_probed(settings):
    # The test settings keep mail in memory.
    assert checks.smtp_server() is None
    assert check_mail() == []


def test_a_remote_smtp_server_is_probed_only_by_check_deploy(settings, monkeypatch):
    probed: list[tuple[str, int]] = []
    monkeypatch.setattr(checks.mail, "_refuses",
                        lambda host, port, timeout: probed.append((host, port)) or "refused")
    use_smtp(settings, "smtp.example.com", 587)

    assert check_mail() == []
    assert probed == []
    the_one(check_mail_deploy(), "ainative_auth.W011", Warning)
    assert probed == [("smtp.example.com", 587)]


@pytest.mark.parametrize(("key", "value"), [
    ("DEVICE_CODE_LIFETIME", "10m"), ("DEVICE_POLL_INTERVAL", 5.5),
    ("DEVICE_KEY_LIFETIME", "90d"), ("OAUTH_SERVER_CLI_SCOPES", "mcp"),
    ("TRIAL_KEYS_ENABLED", "yes"), ("TRIAL_KEY_SCOPES", "credits:read"),
    ("TRIAL_KEY_LIFETIME", None), ("TRIAL_KEY_GLOBAL_RATE", 100),
])
def test_device_and_trial_settings_of_the_wrong_type_are_said_at_start_up(
        key: str, value: object) -> None:
    from django.test import override_settings

    from ainative_auth.checks import check_settings

    with override_settings(AINATIVE_AUTH={key: value}):
        assert "ainative_auth.E008" in [problem.id for problem in check_settings()]
