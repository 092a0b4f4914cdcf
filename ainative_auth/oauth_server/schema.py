"""drf-spectacular's description of the OAuth server's access tokens on the API's views
(registered in ``OAuthServerConfig.ready``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class OAuthAccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "ainative_auth.oauth_server.authentication.OAuthAccessTokenAuthentication"
    match_subclasses = True
    name = "oauthAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of the OAuth server for this API (its `aud`), "
                           "limited by its scopes like an API key.",
        }
