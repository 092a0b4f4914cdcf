"""The account pages a signed-out browser needs: "Forgot password?", the reset link's page,
"Resend verification" and the verification link's page.

Each calls the service of its API endpoint (``auth/forgot-password``,
``auth/reset-password``, ``auth/resend-verification``, ``auth/verify-email``) with the
input read by that endpoint's serializer, so the throttles, the account rules and the
answers are the API's: the two mail forms answer with the API's one sentence whatever the
address, and a bad, used or expired link is the API's one sentence too.

The mailed links are ``FRONTEND_URL`` + ``RESET_PASSWORD_PATH`` / ``VERIFY_EMAIL_PATH``; with
``FRONTEND_URL`` pointing at this site (a project without a frontend) they land here. A
link's GET only shows a form: the token is used by the POST, so a mail scanner that opens
links does not spend it, and the page script drops the token from the address bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django.contrib.auth import password_validation
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import APIException, Throttled

from ..api.views.passwords import FORGOT_ANSWER
from ..api.views.verification import RESEND_ANSWER
from ..client import Client
from ..exceptions import APIError, EmailTokenInvalid
from ..services import passwords, verification
from . import forms
from .common import page

FORGOT_TEMPLATE = "ainative_auth/pages/forgot_password.html"
RESEND_TEMPLATE = "ainative_auth/pages/resend_verification.html"
RESET_TEMPLATE = "ainative_auth/pages/reset_password.html"
VERIFY_TEMPLATE = "ainative_auth/pages/verify_email.html"

def _render(request: HttpRequest, template: str, *, status: int = 200,
            headers: dict[str, str] | None = None, **context: Any) -> HttpResponse:
    response = render(request, template, {"errors": {}, "values": {}, **context}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _refusal(exc: APIException, errors: dict[str | None, str]) -> tuple[int, dict[str, str]]:
    """A service's refusal put into ``errors`` as the API says it (a bad link under
    ``token``, a password rule under its field); the status and headers of the answer."""
    if isinstance(exc, Throttled):
        wait = max(1, math.ceil(getattr(exc, "wait", None) or 1))
        errors[None] = f"Too many attempts. Try again in {wait} seconds."
        return 429, {"Retry-After": str(wait)}
    if isinstance(exc, EmailTokenInvalid):
        errors["token"] = str(exc.detail)
    for item in getattr(exc, "errors", None) or []:  # InvalidInput: the password rules
        errors.setdefault(item["field"], item["message"])
    if not errors:
        errors[None] = str(exc.detail)
    return int(getattr(exc, "status_code", 400)), {}


def _email_form(request: HttpRequest, template: str, answer: str,
                send: Callable[[str, Client], None]) -> HttpResponse:
    """GET: the form. POST: ``send(email, client)``, then ``answer``, the same sentence
    whether or not the address belongs to an account."""
    if request.method != "POST":
        return _render(request, template)
    result = forms.read_email(request.POST)
    errors, status, headers = dict(result.errors), 400, dict[str, str]()
    if result.ok:
        try:
            send(result.data["email"], Client.of(request))
        except (APIError, Throttled) as exc:
            status, headers = _refusal(exc, errors)
        else:
            return _render(request, template, answer=answer)
    return _render(request, template, status=status, headers=headers, errors=errors,
                   values={"email": request.POST.get("email", "")})


@page
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
@ensure_csrf_cookie
def forgot_password(request: HttpRequest) -> HttpResponse:
    """"Forgot password?": ``passwords.request_password_reset`` (the ``forgot_password``
    throttles), answered like ``auth/forgot-password``."""
    return _email_form(
        request, FORGOT_TEMPLATE, FORGOT_ANSWER["detail"],
        lambda email, client: passwords.request_password_reset(email, client=client),
    )


@page
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
@ensure_csrf_cookie
def resend_verification(request: HttpRequest) -> HttpResponse:
    """"Resend verification": ``verification.resend_verification`` (the
    ``resend_verification`` throttles), answered like ``auth/resend-verification``."""
    return _email_form(
        request, RESEND_TEMPLATE, RESEND_ANSWER["detail"],
        lambda email, client: verification.resend_verification(email, client=client),
    )


# A link page opened without its token: typed by hand, or reloaded after the page script
# took the token out of the address bar. Nothing was checked, so nothing is said about it.
NO_TOKEN = "This page needs the link from your email: open it again, or request a new one."


def _link_page(request: HttpRequest, template: str, name: str, **context: Any) -> HttpResponse:
    """The GET of a mailed link: its form, with the token in a hidden field (the page
    script then drops it from the address bar), or the way to a new link without one."""
    token = request.GET.get("token", "")
    if not token:
        return _render(request, template, status=400, errors={"token": NO_TOKEN}, **context)
    return _render(request, template, token=token,
                   replace_url=reverse(f"ainative_auth_pages:{name}"), **context)


def _password_hint() -> str:
    return " ".join(password_validation.password_validators_help_texts())


@page
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
@ensure_csrf_cookie
def reset_password(request: HttpRequest) -> HttpResponse:
    """The reset link's page. POST: ``passwords.reset_password`` (the ``reset_password``
    throttles; every session is signed out, this browser's too), then a way to sign in."""
    if request.method != "POST":
        return _link_page(request, RESET_TEMPLATE, "reset-password", hint=_password_hint())
    result = forms.read_password_reset(request.POST)
    errors, status, headers = dict(result.errors), 400, dict[str, str]()
    if result.ok:
        try:
            passwords.reset_password(**result.data, client=Client.of(request))
        except (APIError, Throttled) as exc:
            status, headers = _refusal(exc, errors)
        else:
            return _render(request, RESET_TEMPLATE, done=True)
    return _render(request, RESET_TEMPLATE, status=status, headers=headers, errors=errors,
                   token=request.POST.get("token", ""), hint=_password_hint())


@page
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
@ensure_csrf_cookie
def verify_email(request: HttpRequest) -> HttpResponse:
    """The verification link's page. POST: ``verification.verify_email`` (the
    ``verify_email`` throttles), then the way on to the dashboard."""
    if request.method != "POST":
        return _link_page(request, VERIFY_TEMPLATE, "verify-email")
    result = forms.read_email_token(request.POST)
    errors, status, headers = dict(result.errors), 400, dict[str, str]()
    if result.ok:
        try:
            verification.verify_email(result.data["token"], client=Client.of(request))
        except (APIError, Throttled) as exc:
            status, headers = _refusal(exc, errors)
        else:
            return _render(request, VERIFY_TEMPLATE, done=True)
    return _render(request, VERIFY_TEMPLATE, status=status, headers=headers, errors=errors,
                   token=request.POST.get("token", ""))
