"""Connected apps over the JSON API: a user's grants, and revoking one (a session only,
like the session endpoints: an API key or an OAuth token cannot end grants)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ..api.views.base import AuthenticatedAPIView
from ..permissions import IsSessionAuthenticated
from ..schema import error
from . import services

GrantSerializer = inline_serializer("OAuthGrant", many=True, fields={
    "id": serializers.UUIDField(),
    "client_id": serializers.CharField(),
    "client_name": serializers.CharField(),
    "scopes": serializers.ListField(child=serializers.CharField()),
    "resources": serializers.ListField(child=serializers.CharField()),
    "created_at": serializers.DateTimeField(),
    "updated_at": serializers.DateTimeField(),
})


def _grant(app: services.ConnectedApp) -> dict[str, Any]:
    grant = app.grant
    return {"id": str(grant.pk), "client_id": grant.client_id, "client_name": app.client_name,
            "scopes": grant.scopes, "resources": grant.resources,
            "created_at": grant.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": grant.updated_at.isoformat().replace("+00:00", "Z")}


class GrantListView(AuthenticatedAPIView):
    permission_classes = [IsAuthenticated, IsSessionAuthenticated]

    @extend_schema(responses={200: GrantSerializer},
                   summary="Apps you allowed to act for you (OAuth grants)")
    def get(self, request: Request) -> Response:
        return Response([_grant(app) for app in services.connected_apps(request.user)])


class GrantDetailView(AuthenticatedAPIView):
    permission_classes = [IsAuthenticated, IsSessionAuthenticated]

    @extend_schema(request=None,
                   responses={204: None, 404: error("`not_found`: no such app of yours.")},
                   summary="Revoke an app's access (its tokens end)")
    def delete(self, request: Request, grant_id: str) -> Response:
        services.revoke_grant(request.user, grant_id)
        return Response(status=204)
