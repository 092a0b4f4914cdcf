"""How the OpenAPI schema (drf-spectacular) describes our endpoints, so that a client
generated from it behaves like the server.

- ``AutoSchema`` (every ainative_auth view's schema class; ``configure()`` makes it the
  project's ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` too) adds the error answers an
  operation can give by its nature, each with the error body: 503 everywhere (database
  or throttle cache down), 400 and 415 where there is a body, 401 where credentials are
  needed, 429 where the API-key authenticator runs (each key, and failed keys per IP,
  are throttled), 403 where a permission can refuse an authenticated caller. Errors
  particular to one endpoint (404, 409, the public flows' 429, ...) are in its
  ``extend_schema``, described with ``error()``.
- The API-key scheme is listed in an operation's ``security`` only when an API key can
  actually use it (see ``api_key_scopes``): logout, sessions and change-password answer
  a key with 403 ``session_required``, and views without a declared scope with 403
  ``insufficient_scope``.
- Request bodies that refuse unknown fields say ``additionalProperties: false``.
- Email fields say ``format: email`` (ours are strict ``CharField``s, which drf-spectacular
  would describe as any string).
- Operation ids are short verbs a generated client reads well (``register``, ``login``,
  ``refresh_token``, ``get_me``, ``create_api_key``, ``github_callback``, ...), set with
  ``extend_schema(operation_id=...)``; ``{provider}`` in one stands for the route's provider.
  Descriptions are the ones written for the API's users, never a base class's docstring.

Every ainative_auth view uses ``AutoSchema`` whatever ``REST_FRAMEWORK`` says, and the
schema route (``GET schema`` wherever ``ainative_auth.urls`` is included,
``api.views.schema``) serves the project's schema with ``SCHEMA_DEFAULTS``: a title, a
version and the settings a client generator needs, under anything the project sets in
``SPECTACULAR_SETTINGS``.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.generators import SchemaGenerator as SpectacularSchemaGenerator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from drf_spectacular.utils import extend_schema as spectacular_extend_schema
from rest_framework.views import APIView

from . import __version__
from .exceptions import api_resource_path

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

    Keys authenticate only on views listing ``APIKeyAuthentication``;
    ``IsSessionAuthenticated`` refuses them; the rest is the permissions' own rule
    (``permissions.key_scopes``).
    """
    from .authentication import APIKeyAuthentication
    from .permissions import IsSessionAuthenticated, key_scopes

    if not any(isinstance(a, APIKeyAuthentication) for a in view.get_authenticators()):
        return None
    if any(isinstance(p, IsSessionAuthenticated) for p in view.get_permissions()):
        return None
    return key_scopes(view, method)


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

    def get_description(self) -> str:  # type: ignore[override]
        # What ``extend_schema(description=...)`` says (it overrides this), else the view
        # class's own docstring; never one inherited from a base class, which speaks to the
        # developers of the view, not to the API's users.
        return self.view.__class__.__dict__.get("__doc__") or ""

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation and "{provider}" in operation.get("operationId", ""):
            # One view class serves every provider's route (as_view(provider_id=...)).
            operation["operationId"] = operation["operationId"].replace(
                "{provider}", getattr(self.view, "provider_id", ""))
        return operation

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



def extend_schema(**kwargs: Any) -> Any:
    """drf-spectacular's ``extend_schema`` for our views, built on ``AutoSchema`` whatever
    ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` says.

    drf-spectacular builds each decorated method's schema class on the default schema class
    when the decorator runs; left to DRF's own default, that class is DRF's ``AutoSchema``
    and the served schema fails (a 500) for every decorated view, whatever the view's
    ``schema`` attribute. Giving the method our class first makes it the base.
    """
    decorate = spectacular_extend_schema(**kwargs)

    def decorator(function: Any) -> Any:
        context = getattr(function, "kwargs", None)
        if context is None:
            function.kwargs = {"schema": AutoSchema}
        else:
            context.setdefault("schema", AutoSchema)
        return decorate(function)

    return decorator


class SchemaGenerator(SpectacularSchemaGenerator):
    """drf-spectacular's generator, which describes a project's own DRF view with
    ``AutoSchema`` when the view kept DRF's schema class (the project set no
    ``DEFAULT_SCHEMA_CLASS``), instead of failing the whole document."""

    def create_view(self, callback: Any, method: str, request: Any = None) -> Any:
        view = super().create_view(callback, method, request)
        if isinstance(view, APIView) and not isinstance(view.schema, SpectacularAutoSchema):
            self._set_schema_to_view(view, AutoSchema())
        return view


# What the served schema says about itself unless SPECTACULAR_SETTINGS says otherwise: a
# title and a version (a client generator names its package after the title), and
# separate request and response components (so a generated client never asks for
# read-only fields such as `id` in a request). The schema route leaves itself out.
SCHEMA_DEFAULTS: dict[str, Any] = {
    "TITLE": "AINative auth API",
    "DESCRIPTION": "Accounts, JWT sessions, API keys, email verification, password reset "
                   "and social login, served by django-ainative-auth.",
    "VERSION": __version__,
    "COMPONENT_SPLIT_REQUEST": True,
}


def schema_settings() -> dict[str, Any]:
    """``SCHEMA_DEFAULTS``, each replaced by the project's ``SPECTACULAR_SETTINGS`` value
    when it sets one (read here, at each request, like every setting of the app)."""
    project = getattr(settings, "SPECTACULAR_SETTINGS", None) or {}
    chosen = {key: project.get(key, value) for key, value in SCHEMA_DEFAULTS.items()}
    if "SCHEMA_PATH_PREFIX" not in project:
        # Operations are tagged by the first segment after the API's mount ("auth",
        # "api-keys", "users"): a discovery document at the root (RFC 9728, the OAuth
        # server's) must not shorten the common prefix drf-spectacular would guess.
        api = api_resource_path()
        if api:
            chosen["SCHEMA_PATH_PREFIX"] = re.escape(api)
    return chosen
