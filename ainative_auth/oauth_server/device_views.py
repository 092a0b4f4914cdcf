"""The device grant's endpoints (RFC 8628): the device authorization endpoint a device
calls, and the page ``/device`` where a person types the code and approves or denies.
The token endpoint's ``device_code`` grant is in ``views.token``. Each calls one use case
of ``device``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from allauth.core import context
from allauth.idp.oidc.internal.resources import get_resources, validate_resources
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import APIException

from ..client import Client as Caller
from ..conf import auth_settings
from ..credentials import browser_session, throttling
from ..exceptions import APIError, StepUpRequired
from ..web.common import page
from ..web.dashboard import step_up_prompt
from . import device, resources
from .views import _api_error

FIELDS = ("client_id", "scope", "resource", "credential", "key_name")


def _oauth_error(exc: device.DeviceGrantError) -> JsonResponse:
    response = JsonResponse({"error": exc.error, "error_description": exc.description},
                            status=exc.status)
    response["Cache-Control"] = "no-store"
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="oauth"'
    return response


def _params(request: HttpRequest) -> dict[str, Any]:
    """The request's parameters: a form body (RFC 8628), or a JSON object (which some
    clients send instead)."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise device.DeviceGrantError("invalid_request", "The body is not JSON.") from exc
        if not isinstance(data, dict):
            raise device.DeviceGrantError("invalid_request", "The body must be an object.")
        return {name: data.get(name) for name in FIELDS}
    for name in ("client_id", "scope", "credential", "key_name"):
        if len(request.POST.getlist(name)) > 1:
            raise device.DeviceGrantError("invalid_request", f"{name} is repeated.")
    return {name: request.POST.get(name) for name in FIELDS}


def _targets(request: HttpRequest, resource: Any) -> list[str]:
    """The ``resource`` (RFC 8707) asked for: none, or one of this server's."""
    try:
        if request.content_type == "application/json":
            targets = [] if resource is None else [resource]
            if not all(isinstance(t, str) for t in targets):
                raise ValidationError("resource must be a string")
            validate_resources(targets)
            return targets
        return get_resources(request)
    except ValidationError as exc:
        raise device.DeviceGrantError("invalid_target",
                                      "The resource is not one of this server's.") from exc


@csrf_exempt
@require_POST
def device_authorization(request: HttpRequest) -> HttpResponse:
    """RFC 8628 section 3.1/3.2: ``device.start``, answered with the codes, the page's
    address (from ``SITE_URL``) and the polling interval."""
    try:
        throttling.hit("oauth", "device_authorization", Caller.of(request).ip_address)
    except APIException as exc:
        return _api_error(exc)
    try:
        params = _params(request)
        with context.request_context(request):
            targets = _targets(request, params["resource"])
        started = device.start(client_id=params["client_id"], scope=params["scope"],
                               requested_resources=targets, credential=params["credential"],
                               key_name=params["key_name"], caller=Caller.of(request))
    except device.DeviceGrantError as exc:
        return _oauth_error(exc)
    page_url = resources.absolute(reverse("ainative_oauth:device"))
    row = started.row
    response = JsonResponse({
        "device_code": started.device_code,
        "user_code": started.user_code,
        "verification_uri": page_url,
        "verification_uri_complete": f"{page_url}?{urlencode({'code': started.user_code})}",
        "expires_in": int((row.expires_at - row.created_at).total_seconds()),
        "interval": row.interval,
    })
    response["Cache-Control"] = "no-store"
    return response


# --- the page ----------------------------------------------------------------------------


@page
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
def device_page(request: HttpRequest) -> HttpResponse:
    """``GET``: the "Code" field (filled from ``?code=``). ``POST`` with ``code``
    ("Continue"): ``device.find``, then what the device asks for, with "Approve" and
    "Deny". ``POST`` with ``decision``: ``device.decide``."""
    found = browser_session.current(request)
    if found is None:
        if request.method == "POST":
            return browser_session.unauthenticated(request)
        to_login = HttpResponseRedirect(browser_session.login_url(request.get_full_path()))
        to_login["Cache-Control"] = "no-store"
        return to_login
    user, session = found
    if request.method != "POST":
        return _entry(request, user, code=str(request.GET.get("code", ""))[:32])
    if "decision" in request.POST:
        return _decide(request, user, session)
    return _continue(request, user)


def _entry(request: HttpRequest, user: Any, *, code: str = "", error: str | None = None,
           status: int = 200) -> HttpResponse:
    return render(request, "ainative_auth/oauth_server/device.html", {
        "signed_in_user": user, "code": code, "errors": {"code": error} if error else {},
    }, status=status)


def _continue(request: HttpRequest, user: Any) -> HttpResponse:
    typed = request.POST.get("code", "")
    try:
        pending = device.find(user, typed, Caller.of(request))
    except APIException as exc:
        status = exc.status_code if isinstance(exc, APIError) or exc.status_code == 429 else 400
        return _entry(request, user, code=str(typed)[:32], error=str(exc.detail),
                      status=status)
    row = pending.row
    descriptions = dict(auth_settings.OAUTH_SERVER_SCOPES)
    return render(request, "ainative_auth/oauth_server/device_confirm.html", {
        "signed_in_user": user,
        "user_code": pending.user_code,
        "client_name": row.client.name or row.client.id,
        "client_id": row.client.id,
        "scopes": [(scope, descriptions.get(scope, "Everything you can do" if scope == "*"
                                            else scope)) for scope in row.scopes],
        "resources": row.resources,
        "api_key": row.credential == row.Credential.API_KEY,
        "key_name": row.key_name,
        "key_lifetime_days": _days(auth_settings.DEVICE_KEY_LIFETIME),
        "ip_address": row.ip_address or "unknown",
        "requested_at": row.created_at,
        "decision_form": pending.decision_form,
    })


def _days(seconds: Any) -> int | None:
    return max(1, int(seconds) // 86400) if seconds else None


def _decide(request: HttpRequest, user: Any, session: Any) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    try:
        row = device.decide(user, session, request.POST.get("request"), approve)
    except StepUpRequired:
        # MFA on and no recent second factor: ask for it, then post this decision again.
        return step_up_prompt(request, user, action=request.get_full_path(), retry={
            "request": request.POST.get("request", ""),
            "decision": request.POST.get("decision", "")})
    except APIError as exc:
        return _entry(request, user, error=str(exc.detail), status=exc.status_code)
    return render(request, "ainative_auth/oauth_server/device_done.html", {
        "signed_in_user": user, "approved": approve,
        "client_name": row.client.name or row.client.id,
        "key": row.api_key,
    })
