"""The example project's MCP server at ``/mcp``: the official ``mcp`` SDK's Streamable
HTTP app, served inside Django (and so by the same gunicorn gthread worker as the rest).

The SDK's app is ASGI; ``a2wsgi`` runs it on one event loop per process (started on the
first request, after gunicorn forks), in *stateless JSON* mode: every POST is one
JSON-RPC exchange answered with ``application/json``, no session, no stream to keep open,
so a worker thread is held exactly as long as any other request. The session manager's
task group (the SDK expects it from a Starlette lifespan, which a2wsgi does not run) is
started once on that loop and lives as long as the process.

Who may call: the Django view below judges the credential first, the SDK only ever sees
authenticated requests:

- an OAuth access token whose ``aud`` is ``<SITE_URL>/mcp`` (a token for another
  resource, the API's included, is 401), with scope ``mcp``; ``credits_balance`` also
  needs ``credits:read``, or the answer is 403 ``insufficient_scope`` naming every scope
  needed, which is what makes an MCP client step up;
- an API key, as ``X-API-Key`` or ``Authorization: Bearer ak_...``, with the same scopes
  (``*`` has them all).

A 401 carries ``WWW-Authenticate: Bearer resource_metadata=...`` (RFC 9728) so a client
given only this URL finds the authorization server.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import APIException

from ainative_auth.authentication import authenticate_api_key, bearer_token
from ainative_auth.exceptions import (
    InsufficientScope,
    TokenInvalid,
    Unauthorized,
    challenge,
    error_body,
)
from ainative_auth.models import APIKey
from ainative_auth.oauth_server import resources
from ainative_auth.oauth_server.authentication import (
    OAuthAccessToken,
    authenticate_oauth_token,
    is_oauth_token,
)

PATH = "/mcp"
# The scope every call needs, and what each tool needs on top.
BASE_SCOPE = "mcp"
TOOL_SCOPES = {"whoami": [BASE_SCOPE], "credits_balance": [BASE_SCOPE, "credits:read"]}
# Set by the view from the judged credential (any value the client sent is replaced).
CALLER_HEADER = "x-ainative-caller"


# --- the SDK's ASGI app, run as WSGI -----------------------------------------------------

_app: Any = None
_lock = threading.Lock()


def _wsgi_app() -> Any:
    """The SDK's app behind a2wsgi, and its session manager running, made once per process
    (on the first call: importing the SDK takes about a second, which no other request and
    no management command should pay)."""
    global _app
    with _lock:
        if _app is None:
            from a2wsgi import ASGIMiddleware
            from mcp.server.transport_security import TransportSecuritySettings

            from .mcp_tools import server

            asgi = server.streamable_http_app(
                streamable_http_path=PATH, json_response=True, stateless_http=True,
                # Django has already checked the Host header against ALLOWED_HOSTS.
                transport_security=TransportSecuritySettings(
                    enable_dns_rebinding_protection=False),
            )
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, daemon=True, name="mcp-loop").start()
            started = threading.Event()

            async def keep_running() -> None:
                async with server.session_manager.run():
                    started.set()
                    await asyncio.Event().wait()

            asyncio.run_coroutine_threadsafe(keep_running(), loop)
            started.wait(10)
            _app = ASGIMiddleware(asgi, loop=loop)
    return _app


def _forward(request: HttpRequest, caller: dict[str, Any]) -> HttpResponse:
    body = request.body
    environ = {key: value for key, value in request.META.items()
               if key.startswith(("HTTP_", "CONTENT_", "SERVER_", "REMOTE_", "wsgi.url_scheme"))
               or key in ("REQUEST_METHOD", "QUERY_STRING", "SERVER_PROTOCOL")}
    environ.pop("HTTP_AUTHORIZATION", None)  # the SDK never needs the credential
    environ.pop("HTTP_X_API_KEY", None)
    environ.update({
        "PATH_INFO": PATH, "SCRIPT_NAME": "", "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "HTTP_X_AINATIVE_CALLER": json.dumps(caller),
    })
    status: list[Any] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status[:] = [line, headers]

    chunks: Iterable[bytes] = _wsgi_app()(environ, start_response)
    content = b"".join(chunks)
    response = HttpResponse(content, status=int(status[0].split(" ", 1)[0]))
    for name, value in status[1]:
        if name.lower() not in ("content-length", "connection"):
            response[name] = value
    return response


# --- the view ----------------------------------------------------------------------------


def _challenge(request: HttpRequest, error: str | None = None,
               scopes: list[str] | None = None) -> str:
    """The app's challenge (``exceptions.challenge``: realm, error, scope and the
    ``resource_metadata`` of /mcp's own document), naming the scopes to ask for (the MCP
    spec wants a scope in every 401, and all the needed ones in a 403)."""
    return challenge(request, error=error, scopes=scopes or [BASE_SCOPE])


def _denied(exc: APIException, challenge: str) -> JsonResponse:
    detail = str(exc.detail)
    response = JsonResponse(error_body(detail, getattr(exc, "error_code", "error")),
                            status=exc.status_code)
    response["WWW-Authenticate"] = challenge
    response["Cache-Control"] = "no-store"
    return response


def _authenticate(request: HttpRequest) -> tuple[Any, Any]:
    raw_key = request.META.get("HTTP_X_API_KEY")
    if raw_key is not None:
        return authenticate_api_key(request, raw_key)
    token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
    if token is None:
        raise Unauthorized()
    if token.startswith("ak_"):
        return authenticate_api_key(request, token)
    if not is_oauth_token(token):
        raise TokenInvalid()
    return authenticate_oauth_token(token, PATH)


def _needed_scopes(body: bytes) -> list[str]:
    try:
        messages = json.loads(body or b"{}")
    except ValueError:
        return [BASE_SCOPE]  # the SDK answers the parse error
    needed = {BASE_SCOPE}
    for message in messages if isinstance(messages, list) else [messages]:
        if isinstance(message, dict) and message.get("method") == "tools/call":
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            needed.update(TOOL_SCOPES.get(str(name), [BASE_SCOPE]))
    return sorted(needed)


def _holds(auth: Any, scope: str) -> bool:
    if isinstance(auth, APIKey | OAuthAccessToken):
        return auth.has_scope(scope)
    return False


def _foreign_origin(request: HttpRequest) -> bool:
    """A browser page of another site (a DNS-rebinding page included) calling /mcp: the
    MCP transport requires refusing an ``Origin`` that is not ours. Clients that are not
    browsers send none."""
    origin = request.META.get("HTTP_ORIGIN")
    return origin is not None and origin.rstrip("/") != resources.site_url()


@csrf_exempt
def mcp_endpoint(request: HttpRequest) -> HttpResponse:
    """``/mcp``: judge the origin, the credential and the scopes, then hand the exchange
    to the SDK."""
    if _foreign_origin(request):
        refused = JsonResponse(error_body("Requests from this origin are refused.",
                                          "permission_denied"), status=403)
        refused["Cache-Control"] = "no-store"
        return refused
    try:
        user, auth = _authenticate(request)
    except Unauthorized as exc:
        presented = "HTTP_AUTHORIZATION" in request.META or "HTTP_X_API_KEY" in request.META
        return _denied(exc, _challenge(request, "invalid_token" if presented else None))
    except APIException as exc:  # 429, 503
        response = _denied(exc, _challenge(request))
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        return response
    needed = _needed_scopes(request.body) if request.method == "POST" else [BASE_SCOPE]
    missing = [scope for scope in needed if not _holds(auth, scope)]
    if missing:
        granted = [scope for scope in getattr(auth, "scopes", []) if scope != "*"]
        return _denied(InsufficientScope(f"This needs the scope {', '.join(missing)}."),
                       _challenge(request, "insufficient_scope",
                                  sorted(set(granted) | set(needed))))
    return _forward(request, {"id": user.pk, "email": user.email})
