"""The Django admin's login form behind the API's login limits.

Accounts made through the API have ``username = email``, so without this the admin's
``/admin/login/`` is a second door to every staff password that skips the ``login``
throttle and the ``LOGIN_LOCKOUT_RATE`` ceiling. With it, each POST to the admin login
counts per client IP and per typed username (canonicalised like the API's email, so both
doors share one counter), before the password is checked; past a limit the answer is a
429 with ``Retry-After``, as on ``auth/login``. A successful login clears the address's
counters, never the IP's.

Use ``ThrottledAdminSite`` as the default admin site (an ``AdminConfig`` with
``default_site``, see the README), or mix ``ThrottledLoginMixin`` into your own
``AdminSite`` subclass.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.html import escape
from django.views.decorators.cache import never_cache
from rest_framework.exceptions import Throttled

from .client import Client
from .exceptions import ServiceUnavailable
from .services import accounts


class ThrottledLoginMixin:
    """For an ``AdminSite`` subclass: its login POSTs count against the ``login`` limits."""

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if request.method != "POST":
            return super().login(request, extra_context)  # type: ignore[misc]
        try:
            key = accounts.count_form_login_attempt(request.POST.get("username", ""),
                                                    client=Client.of(request))
        except Throttled as exc:
            return _plain_answer(429, "Too many login attempts. Try again later.",
                                 retry_after=math.ceil(getattr(exc, "wait", None) or 1))
        except ServiceUnavailable:
            # The throttle cache is down: refuse rather than run without limits.
            return _plain_answer(503, "Login is unavailable right now. Try again shortly.",
                                 retry_after=5)
        response = super().login(request, extra_context)  # type: ignore[misc]
        if key and response.status_code == 302 and request.user.is_authenticated:
            accounts.clear_login_failures(key)
        return response


class ThrottledAdminSite(ThrottledLoginMixin, admin.AdminSite):
    """Django's admin site with a throttled login."""


def _plain_answer(status: int, text: str, *, retry_after: int) -> HttpResponse:
    response = HttpResponse(
        f"<!DOCTYPE html><title>{status}</title><p>{escape(text)}</p>",
        status=status,
        content_type="text/html; charset=utf-8",
    )
    response["Retry-After"] = str(max(1, retry_after))
    response["Cache-Control"] = "no-store"
    return response
