"""The OAuth server's endpoints: metadata, authorize (sign-in, consent), token,
registration, revocation, introspection, keys; and the dashboard's "Revoke access".

Each wraps ``allauth.idp.oidc``'s machinery (oauthlib underneath) with what it lacks: the
issuer and RFC 8414 document, our browser sign-in and consent page, RFC 9207 ``iss`` on
every redirect back to a client (errors too), ``resource`` checked and defaulted,
refresh-token reuse detection, our throttles.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from allauth.core import context
from allauth.idp.oidc import app_settings as idp_settings
from allauth.idp.oidc import views as library_views
from allauth.idp.oidc.internal.oauthlib.utils import (
    convert_response,
    extract_params,
    get_validator_context,
)
from allauth.idp.oidc.internal.resources import get_resources
from allauth.idp.oidc.models import Client
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from oauthlib.oauth2.rfc6749 import errors
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer

from ..adapter import get_adapter
from ..conf import auth_settings
from ..credentials import browser_session, throttling
from ..exceptions import NotFound, StepUpRequired, exception_handler
from ..web.common import csp, dashboard_url, notify, page, redirect, signed_in
from ..web.dashboard import step_up_prompt
from . import device, resources, services
from .server import get_server

CONSENT_SALT = "ainative_oauth.consent"
CONSENT_MAX_AGE = 600


# --- helpers -----------------------------------------------------------------------------


def _api_error(exc: APIException) -> HttpResponse:
    """Our error body (and ``Retry-After`` for a 429) for the JSON endpoints."""
    response: Any = exception_handler(exc, {})
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {}
    response["Cache-Control"] = "no-store"
    return response.render()


def _oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def with_iss(location: str) -> str:
    """``location`` with RFC 9207's ``iss`` added to its query (replacing any)."""
    parsed = urlparse(location)
    query = [(k, v) for k, v in parse_qsl(parsed.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", resources.issuer()))
    return urlunparse(parsed._replace(query=urlencode(query)))


def _to_client(location: str) -> HttpResponse:
    # Not HttpResponseRedirect: it refuses app schemes (com.example.app:/cb).
    response = HttpResponse(status=302)
    response["Location"] = with_iss(location)
    response["Cache-Control"] = "no-store"
    return response


def _client_error(redirect_uri: str, error: str, state: str | None,
                  description: str | None = None) -> HttpResponse:
    params = [("error", error)]
    if description:
        params.append(("error_description", description))
    if state:
        params.append(("state", state))
    parsed = urlparse(redirect_uri)
    query = parse_qsl(parsed.query, keep_blank_values=True) + params
    return _to_client(urlunparse(parsed._replace(query=urlencode(query))))


def _error_page(request: HttpRequest, error: str, description: str) -> HttpResponse:
    """A request that cannot be sent back to a client (unknown client, bad redirect_uri):
    shown to the person, never redirected (an open redirector otherwise)."""
    return render(request, "ainative_auth/oauth_server/error.html",
                  {"error": error, "description": description}, status=400)


# --- metadata ----------------------------------------------------------------------------


def server_metadata() -> dict[str, Any]:
    """RFC 8414 / OpenID Connect Discovery: one document, served at both addresses."""
    url = resources.absolute
    methods = [*idp_settings.AUTH_METHODS, "private_key_jwt"]
    data: dict[str, Any] = {
        "issuer": resources.issuer(),
        "authorization_endpoint": url(reverse("ainative_oauth:authorize")),
        "token_endpoint": url(reverse("ainative_oauth:token")),
        "jwks_uri": url(reverse("ainative_oauth:jwks")),
        "introspection_endpoint": url(reverse("ainative_oauth:introspect")),
        "revocation_endpoint": url(reverse("ainative_oauth:revoke")),
        "device_authorization_endpoint": url(reverse("ainative_oauth:device-authorization")),
        "scopes_supported": resources.supported_scopes(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                  device.DEVICE_CODE_GRANT],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": methods,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "PS256",
                                                            "EdDSA"],
        "introspection_endpoint_auth_methods_supported": list(
            idp_settings.INTROSPECTION_AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": methods,
        "client_id_metadata_document_supported": bool(idp_settings.CIMD_ENABLED),
        "authorization_response_iss_parameter_supported": True,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    if auth_settings.OAUTH_SERVER_DYNAMIC_REGISTRATION:
        data["registration_endpoint"] = url(reverse("ainative_oauth:register"))
    return data


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def metadata(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(server_metadata())
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def jwks(request: HttpRequest) -> HttpResponse:
    with context.request_context(request):
        return library_views.jwks(request)


# --- authorize: sign-in, consent, code ---------------------------------------------------


@page
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
def authorize(request: HttpRequest) -> HttpResponse:
    """``GET``: validate the request, send a browser without a session to sign in (and
    back), then show the consent page (or issue the code at once for a remembered
    consent). ``POST``: the consent page's "Allow" or "Deny"."""
    with context.request_context(request):
        if request.method == "POST":
            return _decide(request)
        return _ask(request)


def _ask(request: HttpRequest) -> HttpResponse:
    found = browser_session.current(request)
    if found is None:
        to_login = HttpResponseRedirect(browser_session.login_url(request.get_full_path()))
        to_login["Cache-Control"] = "no-store"
        return to_login
    user, _ = found
    try:
        scopes, info = get_server().validate_authorization_request(*extract_params(request))
    except errors.FatalClientError as exc:
        return _error_page(request, exc.error, exc.description)
    except errors.OAuth2Error as exc:
        return _to_client(exc.in_uri(exc.redirect_uri))
    info.pop("request", None)
    redirect_uri, state = info["redirect_uri"], info.get("state")
    try:
        targets = get_resources(request)
    except ValidationError:
        return _client_error(redirect_uri, "invalid_target", state,
                             "The resource is not one of this server's.")
    targets = targets or [r for r in [resources.default_resource()] if r]
    client_id = info["client_id"]
    if services.remembered(user, client_id, scopes, targets):
        return _issue_code(request, user, scopes, info, targets)
    if "none" in (info.get("prompt") or ()):
        return _client_error(redirect_uri, "consent_required", state)
    client = Client.objects.get(pk=client_id)
    signed = signing.dumps(
        {"scopes": scopes, "info": _plain(info), "resources": targets, "user": str(user.pk)},
        salt=CONSENT_SALT)
    descriptions = dict(auth_settings.OAUTH_SERVER_SCOPES)
    response = render(request, "ainative_auth/oauth_server/consent.html", {
        "signed_in_user": user,
        "client_name": client.name or client.id,
        "client_id": client.id,
        "redirect_host": urlparse(redirect_uri).netloc or urlparse(redirect_uri).scheme,
        "scopes": [(scope, descriptions.get(scope, scope)) for scope in scopes],
        "resources": targets,
        "signed_request": signed,
        "action": request.get_full_path(),
    })
    # "Allow" and "Deny" post here, then redirect to the client: browsers hold that
    # redirect to the page's form-action too, so it names the client's redirect origin.
    response["Content-Security-Policy"] = csp().replace(
        "form-action 'self'", f"form-action 'self' {_origin(redirect_uri)}")
    return response


def _origin(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        return f"{parsed.scheme}://{parsed.netloc}"
    return f"{parsed.scheme}:"


def _plain(info: dict[str, Any]) -> dict[str, Any]:
    """oauthlib's request info as JSON-serialisable values."""
    return {key: sorted(value) if isinstance(value, set) else value
            for key, value in info.items() if key != "request"}


def _decide(request: HttpRequest) -> HttpResponse:
    found = browser_session.current(request)
    if found is None:
        return browser_session.unauthenticated(request)
    user, session = found
    try:
        kept = signing.loads(request.POST.get("request", ""), salt=CONSENT_SALT,
                             max_age=CONSENT_MAX_AGE)
    except signing.BadSignature:
        return _error_page(request, "invalid_request",
                           "This consent form expired or was changed. Start again from the app.")
    if kept.get("user") != str(user.pk):
        return _error_page(request, "invalid_request",
                           "This consent form was made for someone else.")
    info = kept["info"]
    if request.POST.get("action") != "allow":
        return _client_error(info["redirect_uri"], "access_denied", info.get("state"))
    try:
        services.approve(user, info["client_id"], kept["scopes"], kept["resources"],
                         session=session)
    except StepUpRequired:
        # MFA on and no recent second factor: ask for it, then post this "Allow" again.
        return step_up_prompt(request, user, action=request.get_full_path(), retry={
            "request": request.POST.get("request", ""), "action": "allow"})
    return _issue_code(request, user, kept["scopes"], info, kept["resources"])


def _issue_code(request: HttpRequest, user: Any, scopes: list[str], info: dict[str, Any],
                targets: list[str]) -> HttpResponse:
    get_validator_context().requested_resources = targets
    credentials = {"user": user, **_plain(info)}
    try:
        headers, body, status = get_server().create_authorization_response(
            *extract_params(request), scopes=scopes, credentials=credentials)
    except errors.FatalClientError as exc:
        return _error_page(request, exc.error, exc.description)
    response = convert_response(headers, body, status)
    if response.has_header("Location"):
        response["Location"] = with_iss(response["Location"])
    response["Cache-Control"] = "no-store"
    return response


# --- token -------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    """RFC 6749 token endpoint: authorization_code (PKCE), refresh_token (rotated, reuse
    ends the grant), client_credentials (secret or private_key_jwt), and RFC 8628's
    device_code (``device.poll``: an API key, or the library's token pair)."""
    with context.request_context(request):
        try:
            response = _token(request)
        except APIException as exc:
            return _api_error(exc)
    if response.status_code >= 400 and not getattr(response, "waiting", False):
        # Failures only, after the fact: a client's good requests never count (nor a
        # device's polls while the person decides).
        try:
            throttling.hit("oauth", "token_failures", get_adapter().get_client_ip(request))
        except APIException as exc:
            return _api_error(exc)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@transaction.atomic
def _token(request: HttpRequest) -> HttpResponse:
    ctx = get_validator_context()
    try:
        ctx.requested_resources = get_resources(request) or None
    except ValidationError:
        return _oauth_error("invalid_target", "The resource is not one of this server's.")
    grant_type = request.POST.get("grant_type")
    if grant_type == device.DEVICE_CODE_GRANT:
        return _device_token(request)
    if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
        return _oauth_error("unsupported_grant_type", "This grant type is not supported.")
    presented = (services.before_refresh(request.POST.get("refresh_token"))
                 if grant_type == "refresh_token" else None)
    if presented is not None and presented.row is not None:
        # The library learns the refresh token's resources only after it has minted the
        # new access token; without them here its `aud` would fall back to the default.
        ctx.granted_resources = presented.row.get_resources()
    try:
        headers, body, status = get_server().create_token_response(*extract_params(request))
    except errors.OAuth2Error as exc:
        return JsonResponse(dict(exc.twotuples), status=exc.status_code)
    services.after_refresh(presented, status == 200)
    return convert_response(headers, body, status)


def _device_token(request: HttpRequest) -> HttpResponse:
    """``device.poll``; then the API key it collected, or the library's token pair for
    the approving user, with the scopes and resource of the approval."""
    try:
        collected = device.poll(request.POST.get("client_id"), request.POST.get("device_code"))
    except device.DeviceGrantError as exc:
        response = _oauth_error(exc.error, exc.description, exc.status)
        response.waiting = exc.error in ("authorization_pending", "slow_down")  # type: ignore[attr-defined]
        return response
    if collected.issued is not None:
        return JsonResponse(device.key_token_response(collected))
    row = collected.row
    ctx = get_validator_context()
    ctx.authorized_device_code = (row.client_id, request.POST["device_code"])
    ctx.requested_resources = None
    ctx.granted_resources = list(row.resources)
    ctx.grant_id = device.new_grant_id()

    def as_approved(orequest: Any) -> None:
        orequest.scopes = list(row.scopes)
        orequest.user = row.user

    try:
        headers, body, status = get_server(pre_token=[as_approved]).create_token_response(
            *extract_params(request))
    except errors.OAuth2Error as exc:
        return JsonResponse(dict(exc.twotuples), status=exc.status_code)
    return convert_response(headers, body, status)


# --- registration, revocation, introspection ---------------------------------------------


@csrf_exempt
@require_POST
def register(request: HttpRequest) -> HttpResponse:
    """RFC 7591 dynamic registration, when ``OAUTH_SERVER_DYNAMIC_REGISTRATION`` is on:
    public clients with loopback or app-scheme redirect URIs (the adapter's rules)."""
    if not auth_settings.OAUTH_SERVER_DYNAMIC_REGISTRATION:
        return _api_error(NotFound("Dynamic client registration is off."))
    try:
        throttling.hit("oauth", "register", get_adapter().get_client_ip(request))
    except APIException as exc:
        return _api_error(exc)
    _public_by_default(request)
    with context.request_context(request):
        response = library_views.client_registration(request)
    response["Cache-Control"] = "no-store"
    return response


def _public_by_default(request: HttpRequest) -> None:
    """A client that names no ``token_endpoint_auth_method`` (the MCP SDK's default) is
    registered as the public client it is (RFC 7591 3.2.1 lets the server choose the
    value and return it), instead of RFC 7591's default ``client_secret_basic``, which
    only an administrator hands out here."""
    try:
        data = json.loads(request.body)
    except ValueError:
        return
    if isinstance(data, dict) and "token_endpoint_auth_method" not in data:
        data["token_endpoint_auth_method"] = "none"
        request._body = json.dumps(data).encode()  # the library reads request.body


@csrf_exempt
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    """RFC 7009: a client revokes its own access or refresh token, or an API key the
    device grant made for it (``ainative-auth logout``)."""
    token = request.POST.get("token", "")
    if isinstance(token, str) and token.startswith("ak_"):
        device.revoke_device_key(request.POST.get("client_id"), token)
        response = HttpResponse(status=200)
        response["Cache-Control"] = "no-store"
        return response
    with context.request_context(request), transaction.atomic():
        try:
            response = convert_response(
                *get_server().create_revocation_response(*extract_params(request)))
        except errors.OAuth2Error as exc:
            response = JsonResponse(dict(exc.twotuples), status=exc.status_code)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_POST
def introspect(request: HttpRequest) -> HttpResponse:
    """RFC 7662, for confidential clients (e.g. another resource server)."""
    try:
        throttling.hit("oauth", "introspect", get_adapter().get_client_ip(request))
    except APIException as exc:
        return _api_error(exc)
    with context.request_context(request):
        get_validator_context().supported_auth_methods = idp_settings.INTROSPECTION_AUTH_METHODS
        try:
            response = convert_response(
                *get_server().create_introspect_response(*extract_params(request)))
        except errors.OAuth2Error as exc:
            response = JsonResponse(dict(exc.twotuples), status=exc.status_code)
    response["Cache-Control"] = "no-store"
    return response


# --- the dashboard's "Revoke access for <client>" ----------------------------------------


@page
@require_POST
@csrf_protect
@signed_in
def revoke_app(request: HttpRequest, user: Any, session: Any, grant_id: str) -> HttpResponse:
    """``services.revoke_grant``, then back to the dashboard."""
    try:
        grant = services.revoke_grant(user, grant_id)
    except NotFound as exc:
        raise Http404 from exc
    notify(request, f"Access for {grant.client.name or grant.client_id} revoked.")
    return redirect(dashboard_url())
