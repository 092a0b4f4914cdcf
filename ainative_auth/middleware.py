"""``AuthRequiredMiddleware``: the seed's ``protectedPaths``/``loginPath``, the Django way
(and ``SecureCookiesMiddleware``, the session and CSRF cookies ``Secure`` over HTTPS).

::

    MIDDLEWARE = [
        ...,
        "ainative_auth.middleware.SecureCookiesMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        ...,
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "ainative_auth.middleware.AuthRequiredMiddleware",
    ]
    AINATIVE_AUTH = {"PROTECTED_PATHS": ["/dashboard", ("/api/protected", ["profile:read"])]}

A request whose path is protected needs one credential: an API key (``X-API-Key`` or
``Authorization: Bearer ak_...``, or an RFC 9421 signature), a Bearer access token, or a
browser session of the pages (``ainative_auth.credentials.browser_session``), judged in
that order by the same functions the DRF classes call. With one, ``request.user`` is its
user and ``request.auth`` the ``APIKey``, ``AccessToken`` or ``RefreshSession`` behind it.
Without, a browser is redirected to ``LOGIN_PATH?next=<path>`` and an API client gets the
401 error body with ``WWW-Authenticate``. A header credential that is present but wrong is
a 401 (with the same body the API gives) even for a browser: it was sent on purpose.

API keys are denied by default, as on the API's views: an entry ``("/path", ["scope",
...])`` admits a key holding every one of those scopes, a plain ``"/path"`` entry only a
key with full access (``"*"``); any other key gets 403 ``insufficient_scope`` with a
challenge naming the scopes. So a key with no scopes never opens a path. Sessions and
access tokens are not scope-limited (the user's own session is the user's full access).

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
    AUTHORIZATION_HEADER,
    api_key_value,
    authenticate_access_token,
    authenticate_api_key,
    bearer_token,
    refuse_credentials_in_query,
)
from .conf import auth_settings
from .credentials import browser_session, signatures
from .exceptions import InsufficientScope, Unauthorized, exception_handler
from .permissions import scopes_grant

# What a key needs on a plain PROTECTED_PATHS entry: full access.
FULL_ACCESS = ("*",)


def _prefix(value: str) -> str:
    # "/dashboard/" and "/dashboard" are the same rule; "/" stays the root.
    return value.rstrip("/") or "/"


def path_entry(entry: Any) -> tuple[str, tuple[str, ...]]:
    """``(path, scopes an API key needs)`` of one ``PROTECTED_PATHS`` entry: a plain
    ``"/path"`` needs ``("*",)``, a ``("/path", ["a", "b"])`` entry needs ``("a", "b")``.
    (``checks`` reports malformed entries; here they raise.)"""
    if isinstance(entry, str):
        return entry, FULL_ACCESS
    path, scopes = entry
    return str(path), tuple(scopes)


@functools.lru_cache(maxsize=32)
def _rules(
    protected: tuple[tuple[str, tuple[str, ...]], ...], public: tuple[str, ...]
) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """(prefix, scopes a key needs, or None for public) pairs, longest first; protected
    before public at equal length. A prefix listed twice needs the scopes of both."""
    needs: dict[str, tuple[str, ...]] = {}
    for path, scopes in protected:
        known = needs.setdefault(_prefix(path), ())
        needs[_prefix(path)] = known + tuple(scope for scope in scopes if scope not in known)
    rules: dict[str, tuple[str, ...] | None] = dict(needs)
    for p in public:
        rules.setdefault(_prefix(p), None)
    return tuple(sorted(rules.items(), key=lambda rule: (-len(rule[0]), rule[1] is None)))


def _matches(prefix: str, path: str) -> bool:
    if prefix == "/":
        return True
    return path == prefix or path.startswith(prefix + "/")


def protection(path: str) -> tuple[str, ...] | None:
    """The scopes an API key needs on ``path`` under ``PROTECTED_PATHS``/``PUBLIC_PATHS``
    (``("*",)`` for a plain entry), or None when the path is not protected."""
    configured = auth_settings.PROTECTED_PATHS
    if not configured:
        return None
    login_path = _prefix(str(auth_settings.LOGIN_PATH))
    if _matches(login_path, path):
        return None
    rules = _rules(tuple(path_entry(entry) for entry in configured),
                   tuple(auth_settings.PUBLIC_PATHS or ()))
    for prefix, scopes in rules:
        if _matches(prefix, path):
            return scopes
    return None


def is_protected(path: str) -> bool:
    """Whether ``path`` needs credentials under ``PROTECTED_PATHS``/``PUBLIC_PATHS``."""
    return protection(path) is not None


def _error_response(exc: Exception, request: HttpRequest) -> HttpResponse:
    """The API's own error answer (body, status, ``WWW-Authenticate``, ``Retry-After``)."""
    response: Any = exception_handler(exc, {"request": request})
    if response is None:  # pragma: no cover - only APIException/DatabaseError reach here
        raise exc
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {}
    response["Cache-Control"] = "no-store"
    return response.render()


def authenticate(request: HttpRequest,
                 scopes: tuple[str, ...] = FULL_ACCESS) -> HttpResponse | None:
    """Judge the request's credential; set ``request.user``/``request.auth`` and return None,
    or return the answer for a request without a valid one. An API key must hold every
    one of ``scopes`` (the path's, from ``protection``)."""
    auth: Any
    meta = request.META
    try:
        refuse_credentials_in_query(meta)
        # The API key decides when both headers are sent, as on the API's own endpoints;
        # an RFC 9421 signature is an API-key credential without X-API-Key.
        raw = api_key_value(meta)
        if raw is not None or signatures.is_v2(meta):
            user, auth = authenticate_api_key(request, raw)
            if not scopes_grant(auth.scopes, scopes):
                raise InsufficientScope(
                    "The API key lacks the scope this path needs." if scopes != FULL_ACCESS
                    else "Only an API key with full access (\"*\") may open this path.",
                    scopes=scopes,
                )
        else:
            token = bearer_token(meta.get(AUTHORIZATION_HEADER))
            if token is not None:
                user, auth = authenticate_access_token(token)
            else:
                found = browser_session.current(request)
                if found is None:
                    if browser_session.wants_html(request):
                        return browser_session.unauthenticated(request)
                    raise Unauthorized()
                user, auth = found
    except (APIException, DatabaseError) as exc:
        return _error_response(exc, request)
    request.user = user
    request.auth = auth  # type: ignore[attr-defined]
    return None


class SecureCookiesMiddleware:
    """Over HTTPS the session and CSRF cookies go out ``Secure`` even if the project left
    ``SESSION_COOKIE_SECURE``/``CSRF_COOKIE_SECURE`` off (over plain http they stay as set,
    so ``make run`` on http://127.0.0.1 keeps its session).

    Place it before (outside) ``SessionMiddleware`` and ``CsrfViewMiddleware``: it sees the
    response after they have set their cookies. ``configure()`` puts it right before
    ``SessionMiddleware``; the check ``ainative_auth.W016`` says when it is missing or
    misplaced while those settings are off. Reads nothing from the request but its scheme.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.is_secure():
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                if name in response.cookies:
                    response.cookies[name]["secure"] = True
        return response


class AuthRequiredMiddleware:
    """Guard ``PROTECTED_PATHS`` (see the module docstring). Place it after
    ``SessionMiddleware`` and ``AuthenticationMiddleware``."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scopes = protection(request.path_info)
        if scopes is not None:
            denied = authenticate(request, scopes)
            if denied is not None:
                return denied
        return self.get_response(request)


def overlapping(protected: Iterable[Any], public: Iterable[str]) -> list[str]:
    """Prefixes listed in both settings (protected wins; the checks flag it)."""
    return sorted({_prefix(path_entry(p)[0]) for p in protected} & {_prefix(p) for p in public})
