"""``allauth.idp.oidc``'s adapter, set to our policy (``IDP_OIDC_ADAPTER`` names it).

The issuer is ``SITE_URL``; scopes and their consent texts come from
``OAUTH_SERVER_SCOPES``; a ``resource`` must be one of ``OAUTH_SERVER_RESOURCES``; a
``client_credentials`` token acts for the client's owner; dynamic registration admits only
public clients with loopback (or app-scheme) redirect URIs, as their ``application_type``
says.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

from allauth.idp.oidc.adapter import DefaultOIDCAdapter
from allauth.idp.oidc.models import Client
from django.core.exceptions import ValidationError

from ..conf import auth_settings
from . import resources

# Redirect URIs a dynamically registered client may use: loopback http (RFC 8252 7.3) and
# private-use URI schemes of native apps (RFC 8252 7.1), never a web origin.
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
DCR_GRANT_TYPES = {"authorization_code", "refresh_token"}


def is_loopback_uri(uri: str) -> bool:
    parsed = urlparse(uri)
    return parsed.scheme == "http" and parsed.hostname in LOOPBACK_HOSTS


def is_app_scheme_uri(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    # A private-use scheme is a reverse domain name (com.example.app:/callback).
    return "." in scheme and scheme not in ("http", "https")


class OAuthServerAdapter(DefaultOIDCAdapter):
    @property  # type: ignore[override]
    def scope_display(self) -> dict[str, str]:
        return dict(auth_settings.OAUTH_SERVER_SCOPES)

    def get_issuer(self) -> str:
        return resources.issuer()

    def populate_access_token(self, access_token: dict[str, Any], *, client: Client,
                              scopes: Iterable[str], user: Any, **kwargs: Any) -> None:
        audience = access_token.get("aud")
        if isinstance(audience, list) and len(audience) == 1:
            # One resource, one string: what resource servers compare most simply.
            access_token["aud"] = audience[0]
        if not audience:
            access_token["aud"] = resources.default_resource()
        if user is None and client.owner_id is not None:
            # client_credentials: the machine client acts for the user who owns it.
            access_token["sub"] = self.get_user_sub(client, client.owner)

    def validate_resource_uris(self, *, uris: list[str], **kwargs: Any) -> None:
        for uri in uris:
            if not resources.is_resource(uri):
                raise ValidationError("Unknown resource.")
        if len(uris) > 1:
            raise ValidationError("Ask for one resource at a time.")

    def populate_server_metadata(self, data: dict[str, Any]) -> None:
        data["scopes_supported"] = resources.supported_scopes()

    def validate_client_registration(self, *, client: Client, client_metadata: dict[str, Any],
                                     token: Any, bearer_token: str | None,
                                     **kwargs: Any) -> None:
        if client.type != Client.Type.PUBLIC:
            raise ValidationError("Only public clients (token_endpoint_auth_method "
                                  "\"none\") may register themselves.")
        uris = client.get_redirect_uris()
        application_type = client_metadata.get("application_type")
        if application_type not in (None, "native", "web"):
            raise ValidationError("application_type must be \"native\" or \"web\".")
        if application_type == "web":
            # OIDC Registration 2: a web client redirects to https origins, never to
            # loopback, and those are not registered here without an administrator.
            raise ValidationError("Web clients are registered by an administrator.")
        if not all(is_loopback_uri(uri) or is_app_scheme_uri(uri) for uri in uris):
            raise ValidationError("Redirect URIs must be loopback (http://127.0.0.1) or "
                                  "a private-use app scheme.")
        if not set(client.get_grant_types()) <= DCR_GRANT_TYPES:
            raise ValidationError("Only authorization_code and refresh_token are allowed.")
        requested = set(client.get_scopes()) - {"openid"}
        supported = resources.supported_scopes()
        # A registered client may ask for any supported scope later (the MCP step-up asks
        # for more than it first did): the consent page decides, not the registration.
        if requested - set(supported):
            raise ValidationError("Unknown scope.")
        client.set_scopes(supported)
        client.set_grant_types(sorted(set(client.get_grant_types()) | {"refresh_token"}))
        client.data = {**(client.data or {}), "application_type": application_type or "native"}
