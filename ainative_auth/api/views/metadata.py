"""OAuth 2.0 Protected Resource Metadata (RFC 9728) for the resources this project serves.

Two resources, both identified from ``SITE_URL`` (never from the Host header):

- the API, at the path ``ainative_auth.urls`` is mounted at (``<site>/api/v1`` in the
  example project), described at ``/.well-known/oauth-protected-resource/api/v1``;
- the site itself (``<site>``, which covers the paths ``AuthRequiredMiddleware`` guards),
  described at ``/.well-known/oauth-protected-resource``.

A 401 or a scope refusal names the one its request belongs to in ``resource_metadata``
(``exceptions.challenge``); an MCP client or an SDK reads it, then the authorization
server it names. The documents are public (no credentials), the same for everyone, and
cacheable. Served by ``ainative_auth.urls_wellknown``, which a project includes at the
root of its URLconf (RFC 9728 places them under ``/.well-known/`` of the host).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, get_urlconf
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from ...conf import auth_settings
from ...exceptions import NotFound, api_resource_path, registered_resources, site_url
from ...middleware import path_entry
from ...schema import api_key_scopes
from .base import BaseAPIView

# Seconds clients and caches may keep a document: it changes only with the settings.
MAX_AGE = 3600
# What an AppConfig sets to say "I am this project's OAuth authorization server": its
# issuer is then SITE_URL, named in every document (``AUTHORIZATION_SERVERS`` None).
AUTHORIZATION_SERVER_FLAG = "ainative_authorization_server"


def authorization_servers() -> list[str]:
    """``AUTHORIZATION_SERVERS`` if set; else ``[SITE_URL]`` when the app's OAuth
    authorization server is installed, else none."""
    configured = auth_settings.AUTHORIZATION_SERVERS
    if configured is not None:
        return [str(issuer) for issuer in configured]
    site = site_url()
    installed = any(getattr(config, AUTHORIZATION_SERVER_FLAG, False)
                    for config in apps.get_app_configs())
    return [site] if site and installed else []


def _routes(patterns: list[Any], prefix: str = "/") -> Iterator[tuple[str, Any]]:
    """``(path prefix, view callback)`` of every URL pattern, includes followed."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


@functools.lru_cache(maxsize=8)
def _view_scopes(urlconf: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(route, scopes)`` for every view an API key may use with scopes, from the same
    rule the schema and the permissions apply (``schema.api_key_scopes``). Views do not
    change while the process runs, so this is worked out once per URLconf."""
    found = []
    for route, callback in _routes(get_resolver(urlconf).url_patterns):
        cls = getattr(callback, "cls", None)  # DRF's as_view()
        if cls is None:
            continue
        view = cls(**getattr(callback, "initkwargs", {}))
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                scopes = api_key_scopes(view, method)
                if scopes:
                    found.append((route, tuple(scopes)))
    return tuple(found)


def scopes_supported(resource: str) -> list[str]:
    """Every scope some request to the resource at path ``resource`` may need: the
    views' under it, and for the site also ``PROTECTED_PATHS``' (``*`` is not a scope a
    client asks for)."""
    scopes: set[str] = set()
    for route, needed in _view_scopes(get_urlconf()):
        if route == resource or route.startswith(resource + "/"):
            scopes.update(needed)
    if resource == "":
        for entry in auth_settings.PROTECTED_PATHS or ():
            scopes.update(path_entry(entry)[1])
    scopes.discard("*")
    return sorted(scopes)


def document(resource: str) -> dict[str, Any] | None:
    """The metadata of the resource at path ``resource`` (``""``: the site), or None
    when this project serves no such resource (or ``SITE_URL`` is not set)."""
    site = site_url()
    api = api_resource_path()
    registered = registered_resources()
    if site is None or resource not in {"", api, *registered}:
        return None
    body: dict[str, Any] = {"resource": site + resource}
    issuers = authorization_servers()
    if issuers:
        body["authorization_servers"] = issuers
    body["scopes_supported"] = sorted(
        set(scopes_supported(resource)) | set(registered.get(resource, ())))
    body["bearer_methods_supported"] = ["header"]
    body["resource_name"] = str(auth_settings.RESOURCE_NAME)
    return body


class ProtectedResourceMetadataView(BaseAPIView):
    """``GET /.well-known/oauth-protected-resource[/<resource path>]``: RFC 9728's
    document of that resource; 404 for a path that is not one of ours."""

    # A discovery document at the host's root, not an operation of the API.
    @extend_schema(exclude=True)
    def get(self, request: Request, resource_path: str = "") -> Response:
        path = "/" + resource_path.strip("/") if resource_path.strip("/") else ""
        body = document(path)
        if body is None:
            raise NotFound("No protected resource is described at this address.")
        return Response(body)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 200:
            # Public and the same for everyone: cacheable, readable from any origin
            # (a browser-based MCP client fetches it cross-origin).
            response["Cache-Control"] = f"public, max-age={MAX_AGE}"
            del response["Pragma"]
            response["Access-Control-Allow-Origin"] = "*"
        return response
