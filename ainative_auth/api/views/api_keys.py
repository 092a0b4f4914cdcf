"""API-key management: list, create, retrieve, rename/re-scope, revoke, rotate.

Creating a key needs a verified address (``services.api_keys.create_own_key``; 403
``email_not_verified`` otherwise, unless ``UNVERIFIED_MAY_ADD_CREDENTIALS``). A JWT
session manages its user's keys freely; an API key needs the scope ``keys:write``
(for every method: listing keys is management too) and can only act within its own scopes
and lifetime (see ``services.api_keys``).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ...authentication import AccessToken
from ...exceptions import NotFound
from ...models import APIKey
from ...permissions import HasScope
from ...schema import extend_schema
from ...services import api_keys
from ..serializers.api_keys import (
    APIKeyCreatedSerializer,
    APIKeyCreateSerializer,
    APIKeySerializer,
    APIKeyUpdateSerializer,
)
from ..serializers.common import ErrorSerializer
from .base import AuthenticatedAPIView

ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (401, 403, 429)}


class BaseAPIKeyView(AuthenticatedAPIView):
    permission_classes = [IsAuthenticated, HasScope.require("keys:write")]
    manages_credentials = True

    @staticmethod
    def acting_key(request: Request) -> APIKey | None:
        return request.auth if isinstance(request.auth, APIKey) else None

    @staticmethod
    def get_key_or_404(request: Request, key_id: str) -> APIKey:
        # Another user's key and a key that does not exist answer the same 404.
        key = api_keys.get_key(request.user, key_id)
        if key is None:
            raise NotFound("No such API key.")
        return key


class APIKeyListView(BaseAPIKeyView):
    @extend_schema(operation_id="list_api_keys",
                   responses={200: APIKeySerializer(many=True), **ERRORS},
                   summary="List this user's API keys (prefixes only, never the keys)")
    def get(self, request: Request) -> Response:
        return Response(APIKeySerializer(api_keys.list_keys(request.user), many=True).data)

    @extend_schema(
        operation_id="create_api_key",
        request=APIKeyCreateSerializer,
        responses={201: APIKeyCreatedSerializer, 400: ErrorSerializer, 409: ErrorSerializer,
                   **ERRORS},
        summary="Create an API key (the key and its signing secret are in this response only)",
        description="403 `email_not_verified` while the user's address is not verified "
                    "(unless the project sets `UNVERIFIED_MAY_ADD_CREDENTIALS`).",
    )
    def post(self, request: Request) -> Response:
        serializer = APIKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        auth = request.auth
        via = auth.session if isinstance(auth, AccessToken) else self.acting_key(request)
        issued = api_keys.create_own_key(request.user, via=via, **serializer.validated_data)
        return Response(APIKeyCreatedSerializer(issued).data, status=status.HTTP_201_CREATED)


class APIKeyDetailView(BaseAPIKeyView):
    @extend_schema(operation_id="get_api_key",
                   responses={200: APIKeySerializer, 404: ErrorSerializer, **ERRORS},
                   summary="One API key (prefix only)")
    def get(self, request: Request, key_id: str) -> Response:
        return Response(APIKeySerializer(self.get_key_or_404(request, key_id)).data)

    @extend_schema(
        operation_id="update_api_key",
        request=APIKeyUpdateSerializer,
        responses={200: APIKeySerializer, 400: ErrorSerializer, 404: ErrorSerializer,
                   409: ErrorSerializer, **ERRORS},
        summary="Rename, re-scope, require signatures, set or remove the Ed25519 public key",
    )
    def patch(self, request: Request, key_id: str) -> Response:
        key = self.get_key_or_404(request, key_id)
        serializer = APIKeyUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = api_keys.update_key(key, **serializer.validated_data,
                                  acting_key=self.acting_key(request))
        return Response(APIKeySerializer(key).data)

    @extend_schema(operation_id="revoke_api_key",
                   request=None, responses={204: None, 404: ErrorSerializer, **ERRORS},
                   summary="Revoke an API key (effective on its next request)")
    def delete(self, request: Request, key_id: str) -> Response:
        key = self.get_key_or_404(request, key_id)
        api_keys.revoke_key(key, acting_key=self.acting_key(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class APIKeyRotateView(BaseAPIKeyView):
    @extend_schema(
        operation_id="rotate_api_key",
        request=None,
        responses={200: APIKeyCreatedSerializer, 404: ErrorSerializer, 409: ErrorSerializer,
                   **ERRORS},
        summary="Give an API key a new secret and signing secret (same id, name, scopes)",
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.get_key_or_404(request, key_id)
        auth = request.auth
        via = auth.session if isinstance(auth, AccessToken) else self.acting_key(request)
        issued = api_keys.rotate_own_key(key, via=via)
        return Response(APIKeyCreatedSerializer(issued).data)
