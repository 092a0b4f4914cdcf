"""The Django admin behind the app's doors: a throttled login bound to a session row, and
only such sessions let in.

Accounts made through the API have ``username = email``, so without this the admin's
``/admin/login/`` is a second door to every staff password that skips the ``login``
throttle and the ``LOGIN_LOCKOUT_RATE`` ceiling, and its sessions are not sessions of the
app: they could not be listed or revoked, and outlived logout-all and password changes.

With ``ThrottledAdminSite`` (or ``ThrottledLoginMixin`` in your own ``AdminSite``):

- each POST to the admin login counts per client IP and per typed username (canonicalised
  like the API's email, so both doors share one counter), before the password is checked;
  past a limit the answer is a 429 with ``Retry-After``, as on ``auth/login``. A success
  clears the address's counters, never the IP's;
- a successful admin login signs the browser in through the app's one door
  (``services.sessions.sign_in``): a "password" session row, listed and revocable like
  any other, and ``user_logged_in`` sent once;
- the admin lets in only a browser session bound to a live "password" session row: one
  made by this login form or by the login page (``/login``, the same throttles and
  account rules). A session that was revoked (logout, logout-all, "Revoke", refresh-token
  reuse, a password change or reset, a deactivation) is refused on its next request, and
  a session started by a social provider never opens the admin: re-enter the password;
- the admin's "Log out" ends the session row through the same door.

Use ``ThrottledAdminSite`` as the default admin site (an ``AdminConfig`` with
``default_site``, see the docs), or mix ``ThrottledLoginMixin`` into your own ``AdminSite``
subclass.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from rest_framework.exceptions import Throttled

from .client import Client
from .credentials import browser_session
from .exceptions import MFARequired, ServiceUnavailable
from .services import accounts, sessions

# Only sessions started by proving the password open the admin.
ADMIN_SESSION_METHODS = frozenset({"password"})


class _AdminLoginView(LoginView):
    """Django's login view, signing the browser in through the app's one door."""

    login_key = ""

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            accounts.complete_form_login(form.get_user(), self.login_key,
                                         client=Client.of(self.request), browser=self.request)
        except MFARequired:
            # The password was right and the account has MFA on: the login page asks for
            # the second factor (the pending sign-in is in this browser's session), then
            # comes back here.
            return HttpResponseRedirect(browser_session.login_url(self.get_success_url()))
        return HttpResponseRedirect(self.get_success_url())


class ThrottledLoginMixin:
    """For an ``AdminSite`` subclass: a throttled login bound to a session row, and only
    bound "password" sessions admitted (see the module docstring)."""

    name: str
    login_form: Any
    login_template: str | None

    def has_permission(self, request: HttpRequest) -> bool:
        found = browser_session.current(request)
        if found is None or found[1].method not in ADMIN_SESSION_METHODS:
            return False
        return super().has_permission(request)  # type: ignore[misc]

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        key = ""
        if request.method == "POST":
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
        # AdminSite.login's own context and defaults, with the view above.
        context = {
            **self.each_context(request),  # type: ignore[attr-defined]
            "title": _("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name  # type: ignore[attr-defined]
        return _AdminLoginView.as_view(
            extra_context=context,
            authentication_form=self.login_form or AdminAuthenticationForm,
            template_name=self.login_template or "admin/login.html",
            login_key=key,
        )(request)

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Log out through the app's door (the session row ends), on POST as Django's own
        admin logout; then back to the admin's login page."""
        if request.method != "POST":
            return super().logout(request, extra_context)  # type: ignore[misc]
        sessions.sign_out_browser(request, Client.of(request))
        return HttpResponseRedirect(reverse("admin:login", current_app=self.name))


class ThrottledAdminSite(ThrottledLoginMixin, admin.AdminSite):
    """Django's admin site with a throttled login bound to a session row."""


def _plain_answer(status: int, text: str, *, retry_after: int) -> HttpResponse:
    response = HttpResponse(
        f"<!DOCTYPE html><title>{status}</title><p>{escape(text)}</p>",
        status=status,
        content_type="text/html; charset=utf-8",
    )
    response["Retry-After"] = str(max(1, retry_after))
    response["Cache-Control"] = "no-store"
    return response
