"""The MFA pages: the login page's code step and "Sign in with a passkey", the step-up
prompt's answer, and the dashboard's "Security" section (authenticator app, passkeys,
recovery codes). Each view validates, calls one service, answers; the pending sign-in's
``mfa_token`` never leaves the server (it is in the browser's Django session)."""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import Throttled

from ..client import Client
from ..credentials import browser_session
from ..exceptions import (
    APIError,
    MFACodeInvalid,
    MFATokenInvalid,
    PasskeyInvalid,
    StepUpRequired,
    error_body,
)
from ..models import RefreshSession
from ..web.common import NOTICE_KEY, dashboard_url, notify, page, redirect, signed_in
from ..web.dashboard import step_up_prompt
from ..web.login import render_factor_step, render_login
from .services import challenge, factors, passkeys

SIGN_IN_AGAIN = "This sign-in has expired or was already completed. Sign in again."


def security_section(request: HttpRequest, user: Any, session: RefreshSession) -> dict[str, Any]:
    """The dashboard's "Security" section: the factors and the actions."""
    status = factors.mfa_status(user)
    return {"mfa": status, "has_totp": any(f["type"] == "totp" for f in status["factors"])}


def _factor(request: HttpRequest) -> dict[str, Any]:
    """The code or the passkey credential (JSON text) a form posted."""
    credential = request.POST.get("credential") or None
    return {"code": None if credential else request.POST.get("code", ""),
            "credential": credential}


def _throttled(exc: Throttled) -> tuple[str, int]:
    wait = max(1, math.ceil(getattr(exc, "wait", None) or 1))
    return f"Too many attempts. Try again in {wait} seconds.", wait


def _json_error(exc: APIError | Throttled) -> JsonResponse:
    if isinstance(exc, Throttled):
        text, wait = _throttled(exc)
        response = JsonResponse(error_body(text, "throttled"), status=429)
        response["Retry-After"] = str(wait)
        return response
    return JsonResponse(error_body(str(exc.detail), exc.error_code), status=exc.status_code)


# --- signing in -----------------------------------------------------------------------------


@page
@require_POST
@csrf_protect
def challenge_page(request: HttpRequest) -> HttpResponse:
    """The login page's code step: ``challenge.complete_challenge`` for this browser's
    pending sign-in (a TOTP, a recovery code, or a passkey), then ``next`` or the
    dashboard."""
    next_path = browser_session.local_path(request.POST.get("next"))
    try:
        challenge.complete_challenge(None, **_factor(request), client=Client.of(request),
                                     browser=request)
    except MFATokenInvalid:
        return render_login(request, status=401, next=next_path, errors={None: SIGN_IN_AGAIN})
    except (MFACodeInvalid, PasskeyInvalid) as exc:
        return render_factor_step(request, status=400, next_path=next_path,
                                  errors={"code": str(exc.detail)})
    except Throttled as exc:
        text, wait = _throttled(exc)
        response = render_factor_step(request, status=429, next_path=next_path,
                                      errors={None: text})
        response["Retry-After"] = str(wait)
        return response
    except APIError as exc:
        return render_login(request, status=exc.status_code, next=next_path,
                            errors={None: str(exc.detail)})
    return redirect(next_path or dashboard_url())


@page
@require_POST
@csrf_protect
def passkey_options(request: HttpRequest) -> HttpResponse:
    """The options for ``navigator.credentials.get`` (sign-in, the code step, step-up), as
    JSON; the challenge stays here, single use."""
    try:
        return JsonResponse(passkeys.login_options(client=Client.of(request)))
    except (APIError, Throttled) as exc:
        return _json_error(exc)


@page
@require_POST
@csrf_protect
def passkey_login(request: HttpRequest) -> HttpResponse:
    """"Sign in with a passkey": ``passkeys.login`` with this browser, then ``next`` or
    the dashboard."""
    next_path = browser_session.local_path(request.POST.get("next"))
    try:
        passkeys.login(request.POST.get("credential", ""), client=Client.of(request),
                       browser=request)
    except Throttled as exc:
        return render_login(request, status=429, next=next_path,
                            errors={None: _throttled(exc)[0]})
    except APIError as exc:
        return render_login(request, status=exc.status_code, next=next_path,
                            errors={None: str(exc.detail)})
    return redirect(next_path or dashboard_url())


# --- step-up ---------------------------------------------------------------------------------


@page
@require_POST
@csrf_protect
@signed_in
def step_up_page(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """The step-up prompt's answer: ``challenge.step_up_session`` for this browser's
    session, then the action that asked for it again (its path and fields, posted by the
    prompt), one click or the page script away."""
    # Where to post again, apart from the retried fields (``retry_<name>``), so a form
    # with a field of any name (the consent page's ``action``) can be repeated.
    action = browser_session.local_path(request.POST.get("step_up_next")) or dashboard_url()
    fields = sorted((name[len("retry_"):], value) for name, value in request.POST.items()
                    if name.startswith("retry_"))
    try:
        challenge.step_up_session(user, session, **_factor(request), client=Client.of(request))
    except Throttled as exc:
        errors: dict[Any, str] = {None: _throttled(exc)[0]}
    except APIError as exc:
        errors = {"code": str(exc.detail)}
    else:
        return render(request, "ainative_auth/mfa/step_up_done.html", {
            "signed_in_user": user, "retry_action": action, "retry_fields": fields,
            "retry_get": action == dashboard_url()})
    return render(request, "ainative_auth/pages/step_up.html", {
        "signed_in_user": user, "retry_action": action, "retry_fields": fields,
        "errors": errors}, status=400)


# --- the dashboard's "Security" section -------------------------------------------------------


@page
@require_POST
@csrf_protect
@signed_in
def totp_begin(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """"Set up authenticator app": ``factors.begin_totp_setup``; the QR code, the secret
    and the recovery codes (this once), and the field for the first code."""
    try:
        setup = factors.begin_totp_setup(user, via=session)
    except StepUpRequired:
        return step_up_prompt(request, user, retry={})
    except APIError as exc:
        notify(request, str(exc.detail))
        return redirect(dashboard_url())
    return render(request, "ainative_auth/mfa/totp_setup.html",
                  {"signed_in_user": user, "setup": setup}, status=200)


@page
@require_GET
@signed_in
def totp_pending(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """The setup begun and not confirmed yet (after a wrong first code): the QR code and
    the field again (the recovery codes were shown once)."""
    setup = factors.pending_totp_setup(user)
    if setup is None:
        return redirect(dashboard_url())
    return render(request, "ainative_auth/mfa/totp_setup.html", {
        "signed_in_user": user, "setup": setup,
        "notice": request.session.pop(NOTICE_KEY, None)})


@page
@require_POST
@csrf_protect
@signed_in
def totp_verify(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """``factors.confirm_totp`` with the first code: the authenticator app is on."""
    try:
        factors.confirm_totp(user, request.POST.get("code", ""), via=session,
                             client=Client.of(request))
    except (MFACodeInvalid, Throttled) as exc:
        text = _throttled(exc)[0] if isinstance(exc, Throttled) else str(exc.detail)
        notify(request, f"{text} Enter the code your app shows now.")
        return redirect(_pending_url())
    except APIError as exc:
        notify(request, str(exc.detail))
        return redirect(dashboard_url())
    notify(request, "Your authenticator app is on: signing in now asks for its code.")
    return redirect(dashboard_url())


def _pending_url() -> str:
    from django.urls import reverse

    return reverse("ainative_auth_pages:totp-pending")


@page
@require_POST
@csrf_protect
@signed_in
def totp_remove(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """Remove the authenticator app (``factors.remove_totp``; step-up first)."""
    try:
        factors.remove_totp(user, via=session, client=Client.of(request))
    except StepUpRequired:
        return step_up_prompt(request, user, retry={"confirmed": "yes"})
    except APIError as exc:
        notify(request, str(exc.detail))
        return redirect(dashboard_url())
    notify(request, "The authenticator app was removed.")
    return redirect(dashboard_url())


@page
@require_POST
@csrf_protect
@signed_in
def recovery_codes(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """"New recovery codes": ``factors.regenerate_recovery_codes`` (step-up first), shown
    this once."""
    try:
        body = factors.regenerate_recovery_codes(user, via=session, client=Client.of(request))
    except StepUpRequired:
        return step_up_prompt(request, user, retry={"confirmed": "yes"})
    except APIError as exc:
        notify(request, str(exc.detail))
        return redirect(dashboard_url())
    return render(request, "ainative_auth/mfa/recovery_codes.html",
                  {"signed_in_user": user, "codes": body["backupCodes"]})


@page
@require_POST
@csrf_protect
@signed_in
def passkey_register_options(request: HttpRequest, user: Any,
                             session: RefreshSession) -> HttpResponse:
    """The options for ``navigator.credentials.create`` ("Add a passkey"), as JSON."""
    try:
        return JsonResponse(passkeys.registration_options(user, via=session))
    except (APIError, Throttled) as exc:
        return _json_error(exc)


@page
@require_POST
@csrf_protect
@signed_in
def passkey_add(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """"Add a passkey": ``passkeys.register`` with the credential the page script got."""
    try:
        _, codes = passkeys.register(user, request.POST.get("credential", ""),
                                     request.POST.get("name", ""), via=session,
                                     client=Client.of(request))
    except StepUpRequired:
        # Step up, then back to the dashboard to add it (the ceremony starts afresh).
        return step_up_prompt(request, user, retry={}, action=dashboard_url())
    except APIError as exc:
        notify(request, str(exc.detail))
        return redirect(dashboard_url())
    if codes:
        return render(request, "ainative_auth/mfa/recovery_codes.html",
                      {"signed_in_user": user, "codes": codes, "passkey_added": True})
    notify(request, "Your passkey was added.")
    return redirect(dashboard_url())


@page
@require_POST
@csrf_protect
@signed_in
def passkey_remove(request: HttpRequest, user: Any, session: RefreshSession,
                   passkey_id: str) -> HttpResponse:
    """Remove a passkey (``passkeys.delete``; step-up first)."""
    try:
        passkeys.delete(user, passkey_id, via=session, client=Client.of(request))
    except StepUpRequired:
        return step_up_prompt(request, user, retry={"confirmed": "yes"})
    except APIError as exc:
        notify(request, str(exc.detail))
        return redirect(dashboard_url())
    notify(request, "The passkey was removed.")
    return redirect(dashboard_url())
