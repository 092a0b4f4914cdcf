"""The login page, the token hand-off and logout."""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import APIException, Throttled

from ..authentication import authenticate_access_token
from ..client import Client
from ..conf import auth_settings
from ..credentials import browser_session
from ..exceptions import APIError
from ..services import accounts
from . import forms, social
from .common import dashboard_url, page, redirect


def _error_status(exc: APIException) -> int:
    return int(getattr(exc, "status_code", 400))


def _login_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    found = browser_session.current(request)
    return {
        "signed_in_user": found[0] if found else None,
        "providers": social.configured_providers(request),
        "errors": {},
        "values": {},
        **extra,
    }


@page
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
@ensure_csrf_cookie
def login_page(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: ``login_with_password`` (the throttles, lockout and account
    rules of ``auth/login``), then a browser session bound to the new session row, then
    ``next`` when it is a local path, else the dashboard."""
    source = request.POST if request.method == "POST" else request.GET
    next_path = browser_session.local_path(source.get("next"))
    if request.method != "POST":
        return render(request, "ainative_auth/pages/login.html",
                      _login_context(request, next=next_path))

    status = 400
    response_headers: dict[str, str] = {}
    result = forms.read_login(request.POST)
    errors = dict(result.errors)
    if result.ok:
        try:
            # django.contrib.auth.login() in browser_session.start sends user_logged_in.
            login = accounts.login_with_password(**result.data, client=Client.of(request),
                                                 announce=False)
        except Throttled as exc:
            wait = max(1, math.ceil(getattr(exc, "wait", None) or 1))
            errors[None] = f"Too many sign-in attempts. Try again in {wait} seconds."
            status, response_headers["Retry-After"] = 429, str(wait)
        except APIError as exc:
            errors[None] = str(exc.detail)
            status = _error_status(exc)
        else:
            browser_session.start(request, login.user, login.session)
            return redirect(next_path or dashboard_url())
    context = _login_context(request, next=next_path, errors=errors,
                             values={"email": request.POST.get("email", "")})
    response = render(request, "ainative_auth/pages/login.html", context, status=status)
    for name, value in response_headers.items():
        response[name] = value
    return response


@page
@require_POST
@csrf_protect
def logout_page(request: HttpRequest) -> HttpResponse:
    """End the Django session and revoke its session row; back to the login page."""
    browser_session.end(request)
    return redirect(str(auth_settings.LOGIN_PATH))


@page
@require_POST
@csrf_protect
def token_login(request: HttpRequest) -> HttpResponse:
    """Turn an access token (from the social callback) into a browser session bound to the
    token's own session row. The token already grants everything a browser session does;
    the CSRF check keeps another site from signing a visitor into its own account."""
    next_path = browser_session.local_path(request.POST.get("next"))
    try:
        user, access = authenticate_access_token(request.POST.get("access_token", ""))
    except APIError as exc:
        context = _login_context(request, next=next_path, errors={None: str(exc.detail)})
        return render(request, "ainative_auth/pages/login.html", context,
                      status=_error_status(exc))
    browser_session.start(request, user, access.session)
    return redirect(next_path or dashboard_url())
