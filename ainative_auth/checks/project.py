"""How the project around the app is wired: the password hashers, the frontend its links
point at, the login path and the middleware the protected paths rely on, secure cookies,
the admin's login."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.utils.module_loading import import_string

from ..conf import DEFAULTS
from ..setup import (
    ARGON2ID_HASHER,
    AUTH_REQUIRED_MIDDLEWARE,
    SECURE_COOKIES_MIDDLEWARE,
    SESSION_MIDDLEWARE,
    THROTTLED_ADMIN,
)
from .common import absolute_http_url, loopback, project_settings

# --- password hashing -----------------------------------------------------------------------

@register(Tags.security)
def check_password_hashers(app_configs: Any = None, **kwargs: Any) -> list:
    """W006: new passwords are not hashed with argon2id. W007: argon2 hashes are verified
    by another hasher than ours (Django keeps the *last* hasher of each algorithm for
    verifying), outside its bound on concurrent hashes."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from ..hashers import Argon2idPasswordHasher

    hashers = []
    for path in getattr(settings, "PASSWORD_HASHERS", []):
        try:
            hashers.append(import_string(path))
        except ImportError:
            return []  # Django reports an unknown hasher itself
    problems = []
    if hashers and not issubclass(hashers[0], Argon2idPasswordHasher):
        problems.append(Warning(
            f"New passwords are hashed with {hashers[0].__name__}, not argon2id: "
            "PASSWORD_HASHERS does not start with ainative_auth's hasher.",
            hint=f"Put {ARGON2ID_HASHER!r} first in PASSWORD_HASHERS (keep the others "
                 "after it so older hashes still verify), or leave PASSWORD_HASHERS unset "
                 "and call ainative_auth.setup.configure(globals()).",
            id="ainative_auth.W006"))
    argon2 = [h for h in hashers if issubclass(h, Argon2PasswordHasher)]
    if argon2 and issubclass(argon2[0], Argon2idPasswordHasher) and not issubclass(
            argon2[-1], Argon2idPasswordHasher):
        problems.append(Warning(
            f"{argon2[-1].__name__} is listed after ainative_auth's argon2id hasher, so it "
            "verifies every argon2 hash (Django uses the last hasher of each algorithm), "
            "outside the bound on concurrent hashes.",
            hint=f"Remove {argon2[-1].__module__}.{argon2[-1].__name__} from "
                 "PASSWORD_HASHERS: ainative_auth's hasher verifies every argon2 hash.",
            id="ainative_auth.W007"))
    return problems


# --- a production project pointing its mail at localhost ------------------------------------

@register(Tags.security)
def check_frontend_url(app_configs: Any = None, **kwargs: Any) -> list:
    """W008: DEBUG off, a host outside this machine allowed, and ``FRONTEND_URL`` on
    loopback: every verification and reset link would point at the user's own machine."""
    configured = project_settings()
    url = (configured.get("FRONTEND_URL", DEFAULTS["FRONTEND_URL"])
           if configured is not None else None)
    if settings.DEBUG or not isinstance(url, str) or not absolute_http_url(url):
        return []
    served_elsewhere = [host for host in getattr(settings, "ALLOWED_HOSTS", [])
                        if not loopback(host.strip("[]").lstrip("."))]
    if not loopback(urlsplit(url).hostname or "") or not served_elsewhere:
        return []
    return [Warning(
        f"FRONTEND_URL is {url!r} while DEBUG is off and ALLOWED_HOSTS allows "
        f"{served_elsewhere[0]!r}: the links in verification and reset mail would point at "
        "the user's own machine.",
        hint="Set AINATIVE_AUTH['FRONTEND_URL'] to the address of your frontend, e.g. "
             "'https://app.example.com'.",
        id="ainative_auth.W008")]


# --- what AuthRequiredMiddleware and the admin rely on ------------------------------------

@register(Tags.urls)
def check_login_path(app_configs: Any = None, **kwargs: Any) -> list:
    """W009: browsers are sent to ``LOGIN_PATH`` and no URL serves it. W012: paths are
    protected and the middleware that protects them is not installed."""
    from django.urls import Resolver404, resolve

    configured = project_settings()
    if configured is None or not configured.get("PROTECTED_PATHS"):
        return []
    if AUTH_REQUIRED_MIDDLEWARE not in (getattr(settings, "MIDDLEWARE", []) or []):
        return [Warning(
            "PROTECTED_PATHS is set but AuthRequiredMiddleware is not in MIDDLEWARE: "
            "nothing protects those paths.",
            hint=f"Add {AUTH_REQUIRED_MIDDLEWARE!r} right after Django's "
                 "AuthenticationMiddleware (configure(globals()) does).",
            id="ainative_auth.W012")]
    login_path = configured.get("LOGIN_PATH", DEFAULTS["LOGIN_PATH"])
    if not isinstance(login_path, str) or not login_path.startswith("/"):
        return []  # E006
    try:
        resolve(login_path)
    except Resolver404:
        return [Warning(
            f"LOGIN_PATH {login_path!r} is served by no URL: browsers sent there to log "
            "in would get a 404.",
            hint="Include the pages (path('', include('ainative_auth.urls_pages')) serves "
                 "/login), or set AINATIVE_AUTH['LOGIN_PATH'] to your own login page.",
            id="ainative_auth.W009")]
    except Exception:  # noqa: BLE001,S110 - a broken URLconf is Django's own check's to report
        pass
    return []


@register(Tags.security)
def check_secure_cookies(app_configs: Any = None, **kwargs: Any) -> list:
    """W016: sessions are in use, a cookie setting leaves ``Secure`` off, and
    ``SecureCookiesMiddleware`` is not before ``SessionMiddleware`` and
    ``CsrfViewMiddleware``: over HTTPS those cookies would go out without ``Secure``."""
    middleware = list(getattr(settings, "MIDDLEWARE", []) or [])
    if SESSION_MIDDLEWARE not in middleware or (
            settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE):
        return []
    csrf = "django.middleware.csrf.CsrfViewMiddleware"
    outer = [m for m in (SESSION_MIDDLEWARE, csrf) if m in middleware]
    if SECURE_COOKIES_MIDDLEWARE in middleware and all(
            middleware.index(SECURE_COOKIES_MIDDLEWARE) < middleware.index(m) for m in outer):
        return []
    return [Warning(
        "SESSION_COOKIE_SECURE or CSRF_COOKIE_SECURE is off and SecureCookiesMiddleware is "
        "not before SessionMiddleware and CsrfViewMiddleware: over HTTPS the session and "
        "CSRF cookies would go out without Secure.",
        hint=f"Put {SECURE_COOKIES_MIDDLEWARE!r} right before {SESSION_MIDDLEWARE!r} "
             "(configure(globals()) does), or set both settings to True behind HTTPS.",
        id="ainative_auth.W016")]


@register(Tags.security)
def check_admin_login(app_configs: Any = None, **kwargs: Any) -> list:
    """W010: the Django admin's login is a second door to every staff password that the
    API's login limits and lockout do not guard."""
    from django.apps import apps

    if not apps.is_installed("django.contrib.admin"):
        return []
    from django.contrib import admin

    from ..admin_site import ThrottledLoginMixin

    if isinstance(admin.site, ThrottledLoginMixin):
        return []
    return [Warning(
        "The Django admin's login is not behind the API's login limits and lockout: it is "
        "a second way to guess staff passwords.",
        hint=f"List {THROTTLED_ADMIN!r} instead of 'django.contrib.admin' in "
             "INSTALLED_APPS (configure(globals()) does), or mix "
             "ainative_auth.admin_site.ThrottledLoginMixin into your AdminSite.",
        id="ainative_auth.W010")]
