"""``ainative_auth.setup.configure(globals())``: it adds what the app needs to a project's
settings, never replaces what the project set, never lists an app twice, and a second call
changes nothing."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import django
import pytest

from ainative_auth.setup import APPS, PASSWORD_HASHERS, THROTTLED_ADMIN, configure

# What `django-admin startproject` writes (the lists this app cares about).
STARTPROJECT: dict[str, Any] = {
    "DEBUG": True,
    "INSTALLED_APPS": [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
    ],
    "MIDDLEWARE": [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    "AUTH_PASSWORD_VALIDATORS": [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    ],
}


def new_project(**overrides: Any) -> dict[str, Any]:
    return {**copy.deepcopy(STARTPROJECT), **overrides}


def in_order(part: list, whole: list) -> bool:
    """Every entry of ``part`` is in ``whole``, in the same order."""
    rest = iter(whole)
    return all(entry in rest for entry in part)


# --- a new project --------------------------------------------------------------------------

def test_a_new_project_gets_every_app_once_after_its_own():
    settings = configure(new_project())

    apps = settings["INSTALLED_APPS"]
    assert apps[:6] == [THROTTLED_ADMIN, *STARTPROJECT["INSTALLED_APPS"][1:]]
    assert apps[6:] == list(APPS)
    assert len(set(apps)) == len(apps)


def test_the_admin_becomes_the_same_admin_with_a_throttled_login():
    apps = configure(new_project())["INSTALLED_APPS"]

    assert "django.contrib.admin" not in apps
    assert apps[0] == "ainative_auth.apps.AdminConfig"


def test_the_middleware_goes_where_it_must():
    middleware = configure(new_project())["MIDDLEWARE"]

    auth = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert middleware[auth + 1] == "ainative_auth.middleware.AuthRequiredMiddleware"
    session = middleware.index("django.contrib.sessions.middleware.SessionMiddleware")
    assert middleware[session - 1] == "ainative_auth.middleware.SecureCookiesMiddleware"
    assert middleware[-1] == "allauth.account.middleware.AccountMiddleware"
    assert in_order(STARTPROJECT["MIDDLEWARE"], middleware)
    assert len(middleware) == len(STARTPROJECT["MIDDLEWARE"]) + 3


def test_argon2id_hashes_and_older_hashes_still_verify():
    hashers = configure(new_project())["PASSWORD_HASHERS"]

    assert hashers == list(PASSWORD_HASHERS)
    assert hashers[0] == "ainative_auth.hashers.Argon2idPasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in hashers
    # Listed after ours, Django's argon2 hasher would verify every argon2 hash itself.
    assert "django.contrib.auth.hashers.Argon2PasswordHasher" not in hashers


def test_login_by_email_and_the_admins_username_login():
    assert configure(new_project())["AUTHENTICATION_BACKENDS"] == [
        "ainative_auth.backends.EmailBackend", "django.contrib.auth.backends.ModelBackend"]


def test_the_projects_own_api_views_get_the_schema_class():
    assert configure(new_project())["REST_FRAMEWORK"] == {
        "DEFAULT_SCHEMA_CLASS": "ainative_auth.schema.AutoSchema"}


def test_allauths_settings_are_the_ones_the_app_relies_on():
    settings = configure(new_project())

    assert settings["ACCOUNT_LOGIN_METHODS"] == {"email"}
    assert settings["ACCOUNT_RATE_LIMITS"] is False
    assert settings["ACCOUNT_UNIQUE_EMAIL"] is True


def test_the_settings_dicts_exist_for_later_lines_to_add_to():
    settings = configure(new_project())

    settings["AINATIVE_AUTH"]["FRONTEND_URL"] = "https://app.example.com"  # no NameError
    settings["SOCIALACCOUNT_PROVIDERS"]["github"] = {"APPS": []}
    assert settings["AINATIVE_AUTH"] == {"FRONTEND_URL": "https://app.example.com"}
    assert settings["SOCIALACCOUNT_PROVIDERS"] == {"github": {"APPS": []}}


# --- mail -------------------------------------------------------------------------------------

def test_with_debug_on_and_no_mail_setting_mail_goes_to_the_console():
    settings = configure(new_project())

    console = "django.core.mail.backends.console.EmailBackend"
    if django.VERSION >= (6, 1):
        assert settings["MAILERS"] == {"default": {"BACKEND": console}}
        assert "EMAIL_BACKEND" not in settings  # refused beside MAILERS
    else:
        assert settings["EMAIL_BACKEND"] == console
        assert "MAILERS" not in settings


@pytest.mark.parametrize("chosen", [
    {"DEBUG": False},
    {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"},
    {"EMAIL_HOST": "smtp.example.com"},
    {"MAILERS": {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}},
])
def test_mail_the_project_configured_or_production_mail_is_left_alone(chosen):
    settings = configure(new_project(**chosen))

    added = {"EMAIL_BACKEND", "MAILERS"} - set(chosen)
    assert added & set(settings) == set()


# --- what the project set stays as it was -------------------------------------------------

PROJECT_SET: dict[str, Any] = {
    "INSTALLED_APPS": ["myapp", "rest_framework", "django.contrib.auth"],
    "MIDDLEWARE": ["myproject.middleware.First",
                   "allauth.account.middleware.AccountMiddleware",
                   "myproject.middleware.Last"],
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.ScryptPasswordHasher"],
    "AUTHENTICATION_BACKENDS": ["myproject.backends.SSO"],
    "REST_FRAMEWORK": {"DEFAULT_SCHEMA_CLASS": "myproject.Schema", "PAGE_SIZE": 10},
    "ACCOUNT_LOGIN_METHODS": {"username"},
    "ACCOUNT_RATE_LIMITS": {"login": "5/m"},
    "ACCOUNT_UNIQUE_EMAIL": False,
    "ACCOUNT_EMAIL_VERIFICATION": "mandatory",
    "ACCOUNT_SIGNUP_FIELDS": ["username*"],
    "SOCIALACCOUNT_STORE_TOKENS": True,
    "EMAIL_BACKEND": "myproject.mail.Backend",
    "AINATIVE_AUTH": {"FRONTEND_URL": "https://app.example.com"},
    "DEBUG": True,
}


def test_no_value_the_project_set_is_replaced():
    before = copy.deepcopy(PROJECT_SET)

    settings = configure(copy.deepcopy(PROJECT_SET))

    for name, value in before.items():
        if isinstance(value, list):
            assert in_order(value, settings[name]), name  # kept, in its order
        elif isinstance(value, dict) and name == "REST_FRAMEWORK":
            assert settings[name] == value  # the project's schema class stays
        else:
            assert settings[name] == value, name
    assert settings["PASSWORD_HASHERS"] == before["PASSWORD_HASHERS"]  # its choice
    assert settings["AINATIVE_AUTH"] == {"FRONTEND_URL": "https://app.example.com"}
    assert "MAILERS" not in settings


def test_lists_the_project_set_get_only_what_is_missing():
    settings = configure(copy.deepcopy(PROJECT_SET))

    assert settings["INSTALLED_APPS"].count("rest_framework") == 1
    assert settings["MIDDLEWARE"].count("allauth.account.middleware.AccountMiddleware") == 1
    assert settings["AUTHENTICATION_BACKENDS"] == ["ainative_auth.backends.EmailBackend",
                                                   "myproject.backends.SSO"]
    # No AuthenticationMiddleware (an API-only project): no AuthRequiredMiddleware either.
    assert "ainative_auth.middleware.AuthRequiredMiddleware" not in settings["MIDDLEWARE"]


def test_the_projects_list_objects_are_not_mutated():
    project = copy.deepcopy(PROJECT_SET)
    apps = project["INSTALLED_APPS"]

    configure(project)

    assert apps == PROJECT_SET["INSTALLED_APPS"]  # a settings module it came from is intact


@pytest.mark.parametrize("listed", [
    "ainative_auth.apps.AINativeAuthConfig",
    "allauth.account.apps.AccountConfig",
    "rest_framework.apps.RestFrameworkConfig",
])
def test_an_app_listed_by_its_app_config_is_not_added_again(listed):
    apps = configure(new_project(INSTALLED_APPS=[*STARTPROJECT["INSTALLED_APPS"], listed]))[
        "INSTALLED_APPS"]

    app = listed.split(".apps.")[0]
    assert app not in apps
    assert apps.count(listed) == 1


def test_a_tuple_of_apps_works_too():
    settings = configure(new_project(INSTALLED_APPS=tuple(STARTPROJECT["INSTALLED_APPS"])))

    assert "ainative_auth" in settings["INSTALLED_APPS"]


def test_a_second_call_changes_nothing():
    once = configure(new_project())
    twice = configure(copy.deepcopy(once))

    assert twice == once


def test_it_runs_before_django_is_set_up_and_reads_no_setting():
    code = (
        "import django.conf\n"
        "from ainative_auth.setup import configure\n"
        "configure({'DEBUG': True})\n"
        "assert not django.conf.settings.configured\n"
        "import sys; assert 'ainative_auth.models' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"}, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
