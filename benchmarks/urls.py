"""One trivial view per contender; only the authentication/permission classes differ."""

from __future__ import annotations

from django.urls import path
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.authentication import TokenAuthentication as DRFTokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.permissions import HasAPIKey

from . import ours

PAYLOAD = {"ok": True}


class FloorView(APIView):
    """No authentication at all: what every contender is compared with."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        return Response(PAYLOAD)


class DRFTokenView(FloorView):
    authentication_classes = [DRFTokenAuthentication]
    permission_classes = [IsAuthenticated]


class DRFAPIKeyView(FloorView):
    # djangorestframework-api-key is a permission, not an authentication class (its docs).
    authentication_classes: list = []
    permission_classes = [HasAPIKey]


class KnoxView(FloorView):
    authentication_classes = [KnoxTokenAuthentication]
    permission_classes = [IsAuthenticated]


urlpatterns = [
    path("floor/", FloorView.as_view()),
    path("drf-token/", DRFTokenView.as_view()),
    path("drf-api-key/", DRFAPIKeyView.as_view()),
    path("knox/", KnoxView.as_view()),
]

_ours_class = ours.authentication_class()
if _ours_class is not None:

    class OursView(FloorView):
        authentication_classes = [_ours_class]
        permission_classes = [IsAuthenticated]

    urlpatterns.append(path("ours/", OursView.as_view()))
