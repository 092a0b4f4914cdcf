"""Browser sessions: a Django session bound to one server-side ``RefreshSession`` row.

``services.sessions.sign_in`` signs a browser in (the pages' login, their social sign-in,
the admin's login form) with Django's own session machinery (``bind``:
``django.contrib.auth.login``, so the session id rotates and the cookie is the project's
session cookie) and stores the id of the ``RefreshSession`` the sign-in started in that
Django session. Every request that relies on the browser session (the pages, the
middleware's protected paths, the admin) checks the row is still live with ``current``,
by the one rule ``RefreshSession.is_live``, so anything that revokes sessions (the
dashboard's "Revoke", ``DELETE auth/sessions/{id}``, logout-all, refresh-token reuse, a
password change or reset, a deactivation) also ends the browser session, on its very next
request.

A Django session without such a row is not a browser session here: it could not be listed
or revoked like every other session of the user, so it opens nothing.

This module only binds and checks; signing in and out are flows (``services.sessions``).
Also here, because the middleware, the pages and the admin need them: the pages' social
sign-in bound to the browser that started it, the "is this a browser" test, the
local-path rule for ``next`` and the answer to a request without credentials.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth import login as django_login
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.http import url_has_allowed_host_and_scheme

from .. import clock
from ..conf import auth_settings
from ..exceptions import Unauthorized, challenge, error_body
from ..models import RefreshSession, idle_expiry
from ..users import may_authenticate

# The Django-session key holding the RefreshSession id of a browser sign-in.
SESSION_ID_KEY = "_ainative_session_id"

# Seconds between two writes of a browser session's `last_used_at` (and idle expiry):
# like an API key's, the row is not written on every page view.
TOUCH_INTERVAL = 60

_UNSET: Any = object()


def _backend_for(user: Any) -> str:
    """The backend to record in the Django session (``get_user`` reloads the user with it).

    ``authenticate()`` sets ``user.backend``; a user judged by other means (an access token)
    gets our email backend when it is configured, else the first one."""
    backend = getattr(user, "backend", None)
    if backend:
        return str(backend)
    configured = list(settings.AUTHENTICATION_BACKENDS)
    preferred = "ainative_auth.backends.EmailBackend"
    return preferred if preferred in configured else configured[0]


def bound_session_id(request: HttpRequest) -> uuid.UUID | None:
    """The id of the ``RefreshSession`` this browser's Django session is bound to, if any
    (whatever the row's state)."""
    store = getattr(request, "session", None)
    if store is None:
        return None
    raw = store.get(SESSION_ID_KEY)
    if not raw:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def bind(request: HttpRequest, user: Any, session: RefreshSession) -> None:
    """Sign the browser in as ``user``, bound to ``session`` (just started for it): a fresh
    Django session (the old one is flushed, so the id changes even for the same user),
    ``django.contrib.auth.login`` (which sends ``user_logged_in``), the row's id stored."""
    if request.session.keys():
        request.session.flush()
    django_login(request, user, backend=_backend_for(user))
    request.session[SESSION_ID_KEY] = str(session.id)
    request._ainative_browser = (user, session)  # type: ignore[attr-defined]


def unbind(request: HttpRequest) -> None:
    """End the Django session (flushed: a new id, no data) after its row was revoked. No
    signal: the row's revocation announced the logout."""
    request.session.flush()
    request.user = AnonymousUser()
    request._ainative_browser = None  # type: ignore[attr-defined]


def current(request: HttpRequest) -> tuple[Any, RefreshSession] | None:
    """``(user, RefreshSession)`` of this request's browser sign-in, or None.

    None when there is no Django session, when it was not made by the pages' sign-in, or
    when its row is no longer live (the Django session is then flushed, so the cookie is
    dead too). Memoised on the request: the middleware and the view share one check.
    """
    cached = getattr(request, "_ainative_browser", _UNSET)
    if cached is not _UNSET:
        return cached
    found = _load(request)
    request._ainative_browser = found  # type: ignore[attr-defined]
    return found


def _load(request: HttpRequest) -> tuple[Any, RefreshSession] | None:
    session_id = bound_session_id(request)
    if session_id is None:
        return None
    # Django's own check of the session (backend, session auth hash), then ours.
    user = get_user(request)
    session = None
    if user.is_authenticated and may_authenticate(user):
        session = RefreshSession.objects.live().filter(pk=session_id, user_id=user.pk).first()
    if session is None:
        # Revoked, expired, another user's, or the account may no longer sign in: the
        # browser session ends with it.
        request.session.flush()
        request.user = AnonymousUser()
        return None
    _touch(session, clock.now())
    request.user = user
    return user, session


def _touch(session: RefreshSession, now: datetime) -> None:
    """Record the use and push the idle expiry (never past the absolute end), at most once
    per ``TOUCH_INTERVAL``: a browser in use is not idle, though it never calls refresh.

    One conditional UPDATE, skipped without a query while the loaded row is fresh.
    """
    cutoff = now - timedelta(seconds=TOUCH_INTERVAL)
    if session.last_used_at > cutoff:
        return
    expires = idle_expiry(now, session.absolute_expires_at)
    RefreshSession.objects.filter(
        pk=session.pk, revoked_at__isnull=True, last_used_at__lte=cutoff
    ).update(last_used_at=now, expires_at=expires)
    session.last_used_at, session.expires_at = now, expires


# --- the pages' social sign-in, bound to the browser that started it ---------------------

# The Django-session key holding the state of a social sign-in this browser started.
SOCIAL_START_KEY = "_ainative_social_start"


@dataclass(frozen=True)
class SocialStart:
    """A social sign-in this browser started: for which provider, with which ``state``,
    and where to go after it."""

    provider: str
    state: str
    next_path: str | None


def remember_social_start(request: HttpRequest, start: SocialStart) -> None:
    """Keep ``start`` in this browser's Django session: only this browser can finish it.
    A newer start replaces an older one (the older one's callback is then refused)."""
    request.session[SOCIAL_START_KEY] = {
        "provider": start.provider, "state": start.state, "next": start.next_path,
    }


def take_social_start(request: HttpRequest, provider: str, state: Any) -> SocialStart | None:
    """The social sign-in this browser started for ``provider`` whose state is ``state``,
    consumed; None when this browser started none, another provider's, or one with another
    state (a callback URL made in another browser: a lure, login CSRF)."""
    kept = request.session.pop(SOCIAL_START_KEY, None)
    if not isinstance(kept, dict) or not isinstance(state, str) or not state:
        return None
    expected = str(kept.get("state") or "")
    if kept.get("provider") != provider or not expected or not hmac.compare_digest(
        expected.encode(), state.encode()
    ):
        return None
    return SocialStart(provider, expected, local_path(kept.get("next")))


# --- a sign-in waiting for its second factor ---------------------------------------------

# The Django-session key of this browser's sign-in that the sign-in gate stopped (the
# ``mfa_token`` of an ``MFARequired``): kept server-side, never in the page.
PENDING_FACTOR_KEY = "_ainative_mfa_pending"


def remember_pending_factor(request: HttpRequest, token: str) -> None:
    request.session[PENDING_FACTOR_KEY] = token


def pending_factor_token(request: HttpRequest) -> str | None:
    """The ``mfa_token`` of this browser's sign-in waiting for a second factor, if any."""
    store = getattr(request, "session", None)
    value = store.get(PENDING_FACTOR_KEY) if store is not None else None
    return value if isinstance(value, str) and value else None


def forget_pending_factor(request: HttpRequest) -> None:
    request.session.pop(PENDING_FACTOR_KEY, None)


# --- browsers, next, and the answer without credentials ----------------------------------


def wants_html(request: HttpRequest) -> bool:
    """Whether the client asks for a web page: ``text/html`` or ``application/xhtml+xml``
    named in ``Accept`` (with a non-zero q). ``*/*`` alone is an API client (curl, fetch,
    requests, SDKs), which gets a 401 it can act on rather than a login page."""
    accept = request.META.get("HTTP_ACCEPT", "")
    for item in accept.split(","):
        media, _, params = item.partition(";")
        if media.strip().lower() not in ("text/html", "application/xhtml+xml"):
            continue
        quality = "1"
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                quality = value.strip()
        try:
            if float(quality) > 0:
                return True
        except ValueError:
            continue
    return False


# Longer `next` values are dropped rather than echoed into redirects.
NEXT_MAX_LENGTH = 2000


def local_path(value: Any) -> str | None:
    """``value`` if it is a path on this site (``/dashboard?tab=keys``), else None.

    Refused: anything with a scheme or a host (``https://evil.example``, ``//evil.example``),
    backslashes (``/\\evil.example``, which browsers read as ``//``), control characters and
    whitespace (browsers strip tabs and newlines, turning ``/\\t/evil.example`` into
    ``//evil.example``), relative paths and over-long values. The value is used as it was
    received (decoded once by Django's query parsing), never decoded again, so
    ``%2F%2Fevil.example`` is not a path and ``/%2F%2Fevil.example`` stays one path.
    """
    if not isinstance(value, str) or not value or len(value) > NEXT_MAX_LENGTH:
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(char) < 0x21 or ord(char) == 0x7F for char in value):
        return None
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=set(), require_https=False):
        return None
    return value


def login_url(next_path: str | None = None) -> str:
    login_path = str(auth_settings.LOGIN_PATH)
    safe = local_path(next_path)
    if safe is None:
        return login_path
    return f"{login_path}?{urlencode({'next': safe})}"


def unauthenticated(request: HttpRequest) -> HttpResponse:
    """The answer to a request that needs credentials and has none (or a dead session).

    A browser is sent to the login page, with ``next`` for a GET or HEAD (after a form
    POST the target is not a page to come back to); anything else gets the API's 401.
    """
    if wants_html(request):
        next_path = request.get_full_path() if request.method in ("GET", "HEAD") else None
        response: HttpResponse = HttpResponseRedirect(login_url(next_path))
    else:
        error = Unauthorized()
        response = JsonResponse(error_body(str(error.detail), error.error_code), status=401)
        response["WWW-Authenticate"] = challenge(request)
    response["Cache-Control"] = "no-store"
    return response
