"""The OpenAPI schema, served by the app itself: ``GET schema`` (YAML; ``?format=json`` or
``Accept: application/vnd.oai.openapi+json`` for JSON) and ``GET schema/docs`` (Swagger UI).

They need no setting: every ainative_auth view carries ``ainative_auth.schema.AutoSchema``
itself, and the document's title, version and generator-friendly options come from
``ainative_auth.schema.SCHEMA_DEFAULTS`` unless ``SPECTACULAR_SETTINGS`` says otherwise.
The project's own DRF views are in the document too, described with ``AutoSchema`` (which
``configure()`` also makes their default schema class).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response

from ...schema import SCHEMA_DEFAULTS, AutoSchema, SchemaGenerator, extend_schema, schema_settings


class SchemaView(SpectacularAPIView):
    # A public document: no credential is read (a stale Bearer token must not turn it
    # into a 401), whatever the project's DRF defaults.
    authentication_classes: list = []
    schema = AutoSchema()
    generator_class = SchemaGenerator

    @property
    def custom_settings(self) -> dict[str, Any]:  # type: ignore[override]
        return schema_settings()

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class SchemaDocsView(SpectacularSwaggerView):
    # The page loads Swagger UI from drf-spectacular's CDN default (SWAGGER_UI_DIST).
    authentication_classes: list = []
    schema = AutoSchema()
    url_name = "ainative_auth:schema"

    @property
    def title(self) -> str:  # type: ignore[override]
        project = getattr(settings, "SPECTACULAR_SETTINGS", None) or {}
        return str(project.get("TITLE") or SCHEMA_DEFAULTS["TITLE"])

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
