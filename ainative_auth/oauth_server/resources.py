"""The issuer and the protected resources, all derived from ``SITE_URL``.

A resource is a path under ``SITE_URL`` listed in ``OAUTH_SERVER_RESOURCES``; its RFC 8707
identifier is ``SITE_URL + path`` (``https://auth.example.com/mcp``). An access token's
``aud`` is one such identifier, and each resource server accepts only tokens whose
``aud`` names it. ``protected_resource_metadata`` is what an RFC 9728 document for a
resource says about us: the issuer and the scopes.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..conf import auth_settings


def site_url() -> str:
    """``SITE_URL`` without a trailing slash; it must be set for the OAuth server."""
    value = auth_settings.SITE_URL
    if not value:
        raise ImproperlyConfigured("ainative_auth.oauth_server needs AINATIVE_AUTH['SITE_URL'].")
    return str(value).rstrip("/")


def issuer() -> str:
    """The authorization server's issuer: ``SITE_URL`` exactly (RFC 8414 section 2)."""
    return site_url()


def absolute(path: str) -> str:
    return site_url() + path


def _normalised(path: str) -> str:
    return "/" + path.strip("/") if path.strip("/") else ""


def resources() -> dict[str, list[str]]:
    """``{resource identifier: scopes it accepts}``, in the order of the setting."""
    every = list(auth_settings.OAUTH_SERVER_SCOPES)
    out: dict[str, list[str]] = {}
    for path, scopes in dict(auth_settings.OAUTH_SERVER_RESOURCES).items():
        out[site_url() + _normalised(str(path))] = list(every if scopes is None else scopes)
    return out


def resource_paths() -> dict[str, list[str]]:
    """``{path under SITE_URL: scopes it accepts}`` (``resources()`` without the origin)."""
    every = list(auth_settings.OAUTH_SERVER_SCOPES)
    return {_normalised(str(path)): list(every if scopes is None else scopes)
            for path, scopes in dict(auth_settings.OAUTH_SERVER_RESOURCES).items()}


def resource_id(path: str) -> str:
    """The identifier of the resource at ``path`` (``"/mcp"`` -> ``<SITE_URL>/mcp``)."""
    return site_url() + _normalised(path)


def default_resource() -> str | None:
    """The audience of a token requested without ``resource``: the first resource."""
    return next(iter(resources()), None)


def is_resource(identifier: str) -> bool:
    return identifier in resources()


def supported_scopes() -> list[str]:
    return list(auth_settings.OAUTH_SERVER_SCOPES)


def protected_resource_metadata(resource: str) -> dict[str, Any] | None:
    """What the RFC 9728 document of ``resource`` (an identifier, or a path under
    ``SITE_URL``) names about the authorization server: ``authorization_servers`` and
    ``scopes_supported``; None when it is not one of our resources."""
    identifier = resource if resource.startswith(("http://", "https://")) else resource_id(resource)
    scopes = resources().get(identifier)
    if scopes is None:
        return None
    return {
        "resource": identifier,
        "authorization_servers": [issuer()],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
    }


def is_client_id(value: Any, max_length: int = 2048) -> bool:
    """Whether ``value`` can name a client: a non-empty string of VSCHAR (RFC 6749
    appendix A, %x20-7E), so no NUL reaches a query (PostgreSQL refuses it: a 500)."""
    return (isinstance(value, str) and 0 < len(value) <= max_length
            and all(" " <= char <= "~" for char in value))
