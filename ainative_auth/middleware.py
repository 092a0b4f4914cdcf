"""``AuthRequiredMiddleware``: the seed's ``protectedPaths``/``loginPath``, the Django way.

::

    MIDDLEWARE = [
        ...,
        "django.contrib.sessions.middleware.SessionMiddleware",
        ...,
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "ainative_auth.middleware.AuthRequiredMiddleware",
    ]
    AINATIVE_AUTH = {"PROTECTED_PATHS": ["/dashboard", "/api/protected"]}

A request whose path is protected needs one credential: ``X-API-Key``, a Bearer access
token, or a browser session of the pages (``ainative_auth.credentials.browser_session``),
judged in that order by the same functions the DRF classes call. With one,
``request.user`` is its user and ``request.auth`` the ``APIKey``, ``AccessToken`` or
``RefreshSession`` behind it. Without, a browser is redirected to
``LOGIN_PATH?next=<path>`` and an API client gets the 401 error body with ``WWW-
Authenticate``. A header credential that is present but wrong is a 401 (with the same body
the API gives) even for a browser: it was sent on purpose.

Path rules: entries of ``PROTECTED_PATHS`` and ``PUBLIC_PATHS`` are path prefixes matched
on segment boundaries (``/dashboard`` covers ``/dashboard`` and ``/dashboard/keys``, never
``/dashboardx``; ``/`` covers everything). The longest matching entry decides; when the
same prefix is in both lists, protected wins. ``LOGIN_PATH`` (and everything under it) is
never protected. Paths are compared as Django resolves them (``request.path_info``:
percent-decoded, without the script prefix), case-sensitively.

Unprotected paths cost a few string comparisons: no query, no header parsing, the session
is not even loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer

from .authentication import (
    API_KEY_HEADER,
    authenticate_access_token,
    authenticate_api_key,
    bearer_token,
    presents_api_key,
)
from .conf import auth_settings
from .credentials import browser_session
from .exceptions import exception_handler


def _prefix(value: str) -> str:
    # "/dashboard/" and "/dashboard" are the same rule; "/" stays the root.
    return value.rstrip("/") or "/"


@functools.lru_cache(maxsize=32)
def _rules(protected: tuple[str, ...], public: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """(prefix, protected?) pairs, longest first; protected before public at equal length."""
    rules = {_prefix(p): True for p in protected}
    for p in public:
        rules.setdefault(_prefix(p), False)
    return tuple(sorted(rules.items(), key=lambda rule: (-len(rule[0]), not rule[1])))


def _matches(prefix: str, path: str) -> bool:
    if prefix == "/":
        return True
    return path == prefix or path.startswith(prefix + "/")


def is_protected(path: str) -> bool:
    """Whether ``path`` needs credentials under ``PROTECTED_PATHS``/``PUBLIC_PATHS``."""
    protected = tuple(auth_settings.PROTECTED_PATHS or ())
    if not protected:
        return False
    login_path = _prefix(str(auth_settings.LOGIN_PATH))
    if _matches(login_path, path):
        return False
    rules = _rules(protected, tuple(auth_settings.PUBLIC_PATHS or ()))
    for prefix, protects in rules:
        if _matches(prefix, path):
            return protects
    return False


def _error_response(exc: Exception) -> HttpResponse:
    """The API's own error answer (body, status, ``WWW-Authenticate``, ``Retry-After``)."""
    response: Any = exception_handler(exc, {})
    if response is None:  # pragma: no cover - only APIException/DatabaseError reach here
        raise exc
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {}
    response["Cache-Control"] = "no-store"
    return response.render()


def authenticate(request: HttpRequest) -> HttpResponse | None:
    """Judge the request's credential; set ``request.user``/``request.auth`` and return None,
    or return the answer for a request without a valid one."""
    auth: Any
    try:
        # The API key decides when both headers are sent, as on the API's own endpoints;
        # an RFC 9421 signature is an API-key credential without X-API-Key.
        if presents_api_key(request):
            user, auth = authenticate_api_key(request, request.META.get(API_KEY_HEADER))
        else:
            token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
            if token is not None:
                user, auth = authenticate_access_token(token)
            else:
                found = browser_session.current(request)
                if found is None:
                    return browser_session.unauthenticated(request)
                user, auth = found
    except (APIException, DatabaseError) as exc:
        return _error_response(exc)
    request.user = user
    request.auth = auth  # type: ignore[attr-defined]
    return None


def _secure_cookies(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Over HTTPS the session and CSRF cookies are ``Secure`` even if the project left
    ``SESSION_COOKIE_SECURE``/``CSRF_COOKIE_SECURE`` off (they stay as set over http).

    Cookies already on the response are upgraded here; ``SessionMiddleware`` and
    ``CsrfViewMiddleware`` sit outside this middleware and set theirs afterwards, through
    ``response.set_cookie``, so that method is wrapped for this one response. Costs a
    dict lookup over http, and nothing is read from the request.
    """
    if not request.is_secure():
        return response
    names = (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
    for name in names:
        if name in response.cookies:
            response.cookies[name]["secure"] = True
    set_cookie = response.set_cookie

    def secure_set_cookie(key: str, *args: Any, **kwargs: Any) -> None:
        if key in names:
            kwargs["secure"] = True
        set_cookie(key, *args, **kwargs)

    response.set_cookie = secure_set_cookie  # type: ignore[method-assign]
    return response


class AuthRequiredMiddleware:
    """Guard ``PROTECTED_PATHS`` (see the module docstring). Place it after
    ``SessionMiddleware`` and ``AuthenticationMiddleware``."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_protected(request.path_info):
            denied = authenticate(request)
            if denied is not None:
                return _secure_cookies(request, denied)
        return _secure_cookies(request, self.get_response(request))


def overlapping(protected: Iterable[str], public: Iterable[str]) -> list[str]:
    """Prefixes listed in both settings (protected wins; the checks flag it)."""
    return sorted({_prefix(p) for p in protected} & {_prefix(p) for p in public})
