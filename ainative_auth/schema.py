"""How the OpenAPI schema (drf-spectacular) describes our endpoints, so that a client
generated from it behaves like the server.

- ``AutoSchema`` (set ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` to it, as the example
  project does) adds the error answers an operation can give by its nature, each with
  the error body: 503 everywhere (database or throttle cache down), 400 and 415 where
  there is a body, 401 where credentials are needed, 429 where the API-key authenticator
  runs (each key, and failed keys per IP, are throttled), 403 where a permission can
  refuse an authenticated caller. Errors particular to one endpoint (404, 409, the
  public flows' 429, ...) are in its ``extend_schema``, described with ``error()``.
- The API-key scheme is listed in an operation's ``security`` only when an API key can
  actually use it (see ``api_key_scopes``): logout, sessions and change-password answer
  a key with 403 ``session_required``, and views without a declared scope with 403
  ``insufficient_scope``.
- Request bodies that refuse unknown fields say ``additionalProperties: false``.
- Email fields say ``format: email`` (ours are strict ``CharField``s, which drf-spectacular
  would describe as any string).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse

ERROR_DESCRIPTIONS = {
    "400": "The body is malformed (`malformed_request`) or fails validation "
           "(`validation_error`, with `errors`).",
    "401": "Missing, invalid, expired or revoked credentials; the answer carries "
           "`WWW-Authenticate`.",
    "403": "Authenticated, but not allowed: an API key without the scope this operation "
           "needs (`insufficient_scope`), or an API key where a user session is required "
           "(`session_required`).",
    "415": "The body is not JSON (`unsupported_media_type`).",
    "429": "Throttled (`throttled`); `Retry-After` gives the seconds to wait.",
    "503": "The database or the throttle cache is unreachable (`service_unavailable`); "
           "`Retry-After: 5`. Never a 401: keep your tokens and retry.",
}


def error(description: str) -> OpenApiResponse:
    """An error answer for ``extend_schema(responses=...)``: the error body, described."""
    from .api.serializers.common import ErrorSerializer

    return OpenApiResponse(ErrorSerializer, description=description)


THROTTLED = ERROR_DESCRIPTIONS["429"]


def api_key_scopes(view: Any, method: str) -> tuple[str, ...] | None:
    """The scopes an API key needs for ``method`` on ``view``; None if keys are refused.

    Mirrors the runtime rules: keys authenticate only on views listing
    ``APIKeyAuthentication``; ``IsSessionAuthenticated`` refuses them; on an
    ``AuthenticatedAPIView`` a view without ``HasScope`` refuses them; each ``HasScope``
    adds its scopes (an empty tuple: any valid key).
    """
    from .api.views.base import AuthenticatedAPIView
    from .authentication import APIKeyAuthentication
    from .permissions import HasScope, IsSessionAuthenticated

    if not any(isinstance(a, APIKeyAuthentication) for a in view.get_authenticators()):
        return None
    permissions = view.get_permissions()
    if any(isinstance(p, IsSessionAuthenticated) for p in permissions):
        return None
    scoped = [p for p in permissions if isinstance(p, HasScope)]
    if not scoped:
        return None if isinstance(view, AuthenticatedAPIView) else ()
    needed: list[str] = []
    request = SimpleNamespace(method=method.upper())
    for permission in scoped:
        scopes = permission.scopes_for(request, view)  # type: ignore[arg-type]
        if scopes is None:
            return None
        needed.extend(scopes)
    return tuple(needed)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's ``AutoSchema`` plus the error answers every operation can give."""

    def standard_errors(self) -> list[str]:
        """Status codes this operation can answer with the error body, by its nature."""
        from .authentication import APIKeyAuthentication
        from .permissions import IsSessionAuthenticated

        codes = ["503"]
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer():
            codes += ["400", "415"]
        authenticators = self.view.get_authenticators()
        if authenticators:
            codes.append("401")
            if any(isinstance(a, APIKeyAuthentication) for a in authenticators):
                codes.append("429")
                scopes = api_key_scopes(self.view, self.method)
                if scopes is None or scopes:
                    codes.append("403")  # a key refused here, or lacking a scope
            elif any(isinstance(p, IsSessionAuthenticated) for p in self.view.get_permissions()):
                codes.append("403")
        return codes

    def _get_response_bodies(self, direction: Any = "response") -> Any:
        responses = super()._get_response_bodies(direction)
        for code in self.standard_errors():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    error(ERROR_DESCRIPTIONS[code]), code, None, direction
                )
        return responses


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "ainative_auth.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "ainative_auth.authentication.APIKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-API-Key",
                "description": "An API key (`ak_...`); also accepted as `Authorization: "
                               "Bearer ak_...`. Never in the query string."}

    def get_security_requirement(self, auto_schema: Any) -> Any:
        # Only where a key can get through: advertising it elsewhere makes generated
        # clients send a key and meet a 403.
        if api_key_scopes(auto_schema.view, auto_schema.method) is None:
            return None
        return super().get_security_requirement(auto_schema)


class RejectUnknownFieldsScheme(OpenApiSerializerExtension):
    """Bodies of ``RejectUnknownFieldsMixin`` serializers answer an unknown key with 400:
    say so, so generated clients do not send one."""

    target_class = "ainative_auth.api.serializers.fields.RejectUnknownFieldsMixin"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class StrictEmailFieldScheme(OpenApiSerializerFieldExtension):
    """``StrictEmailField`` is an address: ``format: email``, as DRF's ``EmailField`` gets."""

    target_class = "ainative_auth.api.serializers.fields.StrictEmailField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "format": "email"}
