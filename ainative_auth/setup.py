"""``configure(globals())``: what ainative_auth needs in a project's settings, in one call.

The last lines of a project's settings module::

    from ainative_auth.setup import configure
    configure(globals())

``configure`` only adds: it never removes an entry nor changes a value the settings
already define (one entry is swapped for its throttled twin, below), and calling it twice
changes nothing more. What it adds:

- ``INSTALLED_APPS``: ``rest_framework``, ``drf_spectacular`` (the schema and its docs
  page), ``allauth``, ``allauth.account``, ``allauth.socialaccount``, the GitHub and OpenID
  Connect (LinkedIn) providers (a provider can be configured in the admin at run time, so
  both are always there) and ``ainative_auth``, each unless it is listed already (also as
  an ``AppConfig`` path). ``django.contrib.admin`` becomes ``ainative_auth.apps.AdminConfig``:
  the same admin, whose login counts against the API's login limits.
- ``MIDDLEWARE``: ``SecureCookiesMiddleware`` right before Django's ``SessionMiddleware``
  and ``AuthRequiredMiddleware`` right after its ``AuthenticationMiddleware`` (each when
  that one is there), and allauth's ``AccountMiddleware`` at the end.
- ``PASSWORD_HASHERS`` (when not set): argon2id first, then Django's other defaults so that
  older hashes still verify (and are upgraded). Django's own ``Argon2PasswordHasher`` is
  left out: listed after ours it would verify every argon2 hash itself.
- ``AUTHENTICATION_BACKENDS``: ``EmailBackend`` first (login by email), Django's
  ``ModelBackend`` when the setting was not set (the admin's username login).
- ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` (when not set): ``ainative_auth.schema.AutoSchema``,
  so the project's own API views can be in the served schema too.
- allauth's settings this app relies on (login by email, unique addresses, its own rate
  limits off), each unless set.
- With ``DEBUG`` on and no mail setting at all, mail goes to the console (``MAILERS`` on
  Django 6.1 and later, ``EMAIL_BACKEND`` before), so the verification and reset links
  appear in ``runserver``'s output.
- ``AINATIVE_AUTH = {}`` and ``SOCIALACCOUNT_PROVIDERS = {}`` when not set, so later lines
  add to them (``AINATIVE_AUTH["FRONTEND_URL"] = ...``) rather than replace them.

It runs while the settings module is imported, before Django is set up: it imports nothing
from the app and reads only the namespace it is given.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

import django

__all__ = ["configure"]

APPS = (
    "rest_framework",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.openid_connect",
    "ainative_auth",
)
DJANGO_ADMIN = "django.contrib.admin"
THROTTLED_ADMIN = "ainative_auth.apps.AdminConfig"

AUTHENTICATION_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
AUTH_REQUIRED_MIDDLEWARE = "ainative_auth.middleware.AuthRequiredMiddleware"
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
SECURE_COOKIES_MIDDLEWARE = "ainative_auth.middleware.SecureCookiesMiddleware"
ACCOUNT_MIDDLEWARE = "allauth.account.middleware.AccountMiddleware"

ARGON2ID_HASHER = "ainative_auth.hashers.Argon2idPasswordHasher"
PASSWORD_HASHERS = (
    ARGON2ID_HASHER,
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
)

EMAIL_BACKEND = "ainative_auth.backends.EmailBackend"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

SCHEMA_CLASS = "ainative_auth.schema.AutoSchema"

# allauth keeps the verified-address records and the social accounts; the flows are this
# app's, so allauth's own rate limits are off (the app's throttles cover every endpoint).
ALLAUTH_SETTINGS: dict[str, Any] = {
    "ACCOUNT_LOGIN_METHODS": {"email"},
    "ACCOUNT_SIGNUP_FIELDS": ["email*", "password1*"],
    "ACCOUNT_UNIQUE_EMAIL": True,
    "ACCOUNT_EMAIL_VERIFICATION": "optional",
    "ACCOUNT_RATE_LIMITS": False,
    "SOCIALACCOUNT_STORE_TOKENS": False,
}

CONSOLE_MAIL = "django.core.mail.backends.console.EmailBackend"
# Any of these means the project chose where its mail goes.
MAIL_SETTINGS = ("MAILERS", "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER",
                 "EMAIL_FILE_PATH")


def configure(namespace: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Add to a settings module's ``globals()`` what ainative_auth needs; see the module."""
    _add_apps(namespace)
    _add_middleware(namespace)
    _add_hashers(namespace)
    _add_backends(namespace)
    _add_schema_class(namespace)
    for name, value in ALLAUTH_SETTINGS.items():
        namespace.setdefault(name, value)
    _add_mail(namespace)
    namespace.setdefault("AINATIVE_AUTH", {})
    namespace.setdefault("SOCIALACCOUNT_PROVIDERS", {})
    return namespace


def _listed(entries: Iterable[str], app: str) -> bool:
    """``app`` is in ``entries`` by its module path or by an ``AppConfig`` path of it
    (``ainative_auth.apps.AdminConfig`` is the admin's, not ainative_auth's)."""
    return any(entry == app or (entry.startswith(f"{app}.apps.") and entry != THROTTLED_ADMIN)
               for entry in entries)


def _add_apps(namespace: MutableMapping[str, Any]) -> None:
    apps = list(namespace.get("INSTALLED_APPS", []))
    apps = [THROTTLED_ADMIN if entry == DJANGO_ADMIN else entry for entry in apps]
    apps += [app for app in APPS if not _listed(apps, app)]
    namespace["INSTALLED_APPS"] = apps


def _add_middleware(namespace: MutableMapping[str, Any]) -> None:
    middleware = list(namespace.get("MIDDLEWARE", []))
    if SESSION_MIDDLEWARE in middleware and SECURE_COOKIES_MIDDLEWARE not in middleware:
        middleware.insert(middleware.index(SESSION_MIDDLEWARE), SECURE_COOKIES_MIDDLEWARE)
    if AUTHENTICATION_MIDDLEWARE in middleware and AUTH_REQUIRED_MIDDLEWARE not in middleware:
        middleware.insert(middleware.index(AUTHENTICATION_MIDDLEWARE) + 1,
                          AUTH_REQUIRED_MIDDLEWARE)
    if ACCOUNT_MIDDLEWARE not in middleware:
        middleware.append(ACCOUNT_MIDDLEWARE)
    namespace["MIDDLEWARE"] = middleware


def _add_hashers(namespace: MutableMapping[str, Any]) -> None:
    # A list the project wrote is its choice (the check ainative_auth.W006 says when
    # argon2id is not first in it).
    namespace.setdefault("PASSWORD_HASHERS", list(PASSWORD_HASHERS))


def _add_backends(namespace: MutableMapping[str, Any]) -> None:
    backends = list(namespace.get("AUTHENTICATION_BACKENDS", [MODEL_BACKEND]))
    if EMAIL_BACKEND not in backends:
        backends.insert(0, EMAIL_BACKEND)
    namespace["AUTHENTICATION_BACKENDS"] = backends


def _add_schema_class(namespace: MutableMapping[str, Any]) -> None:
    rest_framework = dict(namespace.get("REST_FRAMEWORK", {}))
    rest_framework.setdefault("DEFAULT_SCHEMA_CLASS", SCHEMA_CLASS)
    namespace["REST_FRAMEWORK"] = rest_framework


def _add_mail(namespace: MutableMapping[str, Any]) -> None:
    if not namespace.get("DEBUG") or any(name in namespace for name in MAIL_SETTINGS):
        return
    if django.VERSION >= (6, 1):
        # Django 6.1 configures mail with MAILERS (EMAIL_BACKEND & co. are deprecated, and
        # refused beside it).
        namespace["MAILERS"] = {"default": {"BACKEND": CONSOLE_MAIL}}
    else:
        namespace["EMAIL_BACKEND"] = CONSOLE_MAIL
