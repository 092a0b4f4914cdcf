"""``WWW-Authenticate`` (RFC 6750) and where a protected resource's metadata is (RFC 9728)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from ..conf import auth_settings

# --- challenges: WWW-Authenticate (RFC 6750, RFC 9728) -----------------------------------
#
# Every 401 says ``Bearer realm="api", resource_metadata="<URL>"`` (plus
# ``error="invalid_token"`` when a credential was sent and refused), every scope refusal
# ``Bearer error="insufficient_scope", scope="<all the scopes needed>", resource_metadata=...``,
# so an MCP client or an SDK can find the protected resource's metadata, and from it the
# authorization server, and step up. The URL is built from ``SITE_URL``, never from the
# request's Host header; without ``SITE_URL`` the parameter is left out.

REALM = "api"
# RFC 9728 section 3: the metadata of the resource ``<site><path>`` is at
# ``<site>/.well-known/oauth-protected-resource<path>``.
PROTECTED_RESOURCE_WELL_KNOWN = "/.well-known/oauth-protected-resource"


def site_url() -> str | None:
    """``SITE_URL`` without a trailing slash, or None when it is not set."""
    value = auth_settings.SITE_URL
    return str(value).rstrip("/") if value else None


def api_resource_path() -> str | None:
    """The path the API (``ainative_auth.urls``) is mounted at, e.g. ``/api/v1`` (script
    prefix included); ``""`` when it is mounted at the root, None when the project does
    not include it."""
    try:
        health = reverse("ainative_auth:health")
    except NoReverseMatch:
        return None
    return health[: -len("health")].rstrip("/")


def registered_resources() -> dict[str, list[str]]:
    """Protected resources an installed app serves besides the API and the site, as
    ``{path under SITE_URL: the scopes a token for it may carry}``: what an ``AppConfig``
    answers from its ``protected_resources()`` (the OAuth server's
    ``OAUTH_SERVER_RESOURCES``, e.g. ``/mcp``). The core imports no such app; it asks
    the app registry."""
    found: dict[str, list[str]] = {}
    for config in apps.get_app_configs():
        provider = getattr(config, "protected_resources", None)
        if callable(provider):
            for path, scopes in provider().items():
                found.setdefault(path, [])
                found[path] += [scope for scope in scopes if scope not in found[path]]
    return found


def resource_path(path: str) -> str:
    """The protected resource a request path belongs to, as the path of its identifier:
    the longest of the API's mount and the registered resources that holds it, else
    ``""`` (the site itself)."""
    candidates = [api_resource_path() or "", *registered_resources()]
    held = [prefix for prefix in candidates
            if prefix and (path == prefix or path.startswith(prefix + "/"))]
    return max(held, key=len) if held else ""


def resource_metadata_url(request: Any = None) -> str | None:
    """The absolute URL of the metadata of the resource ``request`` is addressed to (the
    site's when there is no request); None without ``SITE_URL``."""
    site = site_url()
    if site is None:
        return None
    path = resource_path(str(getattr(request, "path", "") or "")) if request is not None else ""
    return f"{site}{PROTECTED_RESOURCE_WELL_KNOWN}{path}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(request: Any = None, *, error: str | None = None,
              scopes: Iterable[str] | None = None) -> str:
    """The ``WWW-Authenticate`` value for a 401 (``error`` None or ``"invalid_token"``) or
    a 403 (``error="insufficient_scope"`` with the ``scopes`` the request needs)."""
    params: list[tuple[str, str]] = []
    if error != "insufficient_scope":
        params.append(("realm", REALM))
    if error:
        params.append(("error", error))
    needed = " ".join(scopes or ())
    if needed:
        params.append(("scope", needed))
    url = resource_metadata_url(request)
    if url:
        params.append(("resource_metadata", url))
    return "Bearer " + ", ".join(f"{name}={_quoted(value)}" for name, value in params)
