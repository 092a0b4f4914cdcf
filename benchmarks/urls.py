"""One trivial view per contender; only the authentication/permission classes differ.

Plus the app's own endpoints under ``api/`` (refresh and login are measured through them),
two no-auth views that only run ours' lookup SELECT on a Django cursor (the lower bound of
any check that makes that one query), and a view whose authenticator hands back a fixed
user without looking at anything (what DRF costs for any authenticated request).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.urls import include, path
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.authentication import BaseAuthentication
from rest_framework.authentication import TokenAuthentication as DRFTokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.permissions import HasAPIKey
from rest_framework_simplejwt.authentication import (
    JWTAuthentication as SimpleJWTAuthentication,
)
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

from ainative_auth.api.views.base import BaseAPIView
from ainative_auth.authentication import APIKeyAuthentication, JWTAuthentication
from ainative_auth.oauth_server.authentication import OAuthAccessTokenAuthentication

PAYLOAD = {"ok": True}

# name -> (sql, params), filled by run.py once the credentials exist (see SelectOnlyView).
SELECTS: dict[str, tuple[str, list[Any]]] = {}


class FloorView(APIView):
    """No authentication at all: what every contender is compared with."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        return Response(PAYLOAD)


class FloorPostView(BaseAPIView):
    """No authentication, a JSON body parsed like the app's POST endpoints (its base view,
    parser and headers): the floor of a POST such as auth/refresh."""

    def post(self, request: Request) -> Response:
        request.data  # noqa: B018 - parse the body, as every POST endpoint does
        return Response(PAYLOAD)


class SelectOnlyView(FloorView):
    """The floor plus one statement on a Django cursor, no ORM and no auth."""

    select = ""

    def get(self, request: Request) -> Response:
        sql, params = SELECTS[self.select]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchone()
        return Response(PAYLOAD)


class SelectOnDriverView(FloorView):
    """The floor plus the same statement on the database driver's own cursor (SQLite's
    placeholders rewritten once, beforehand): what the lookups run on SQLite and
    PostgreSQL, and the lower bound of any check that makes that one query."""

    select = ""

    def get(self, request: Request) -> Response:
        sql, params = DRIVER_SELECTS[self.select]
        connection.ensure_connection()
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, params)
            cursor.fetchone()
        finally:
            cursor.close()
        return Response(PAYLOAD)


# name -> (driver sql, params), filled by run.py like SELECTS.
DRIVER_SELECTS: dict[str, tuple[str, list[Any]]] = {}


class FixedUserAuthentication(BaseAuthentication):
    """No credential and no I/O: the user run.py put in ``FIXED_USER``. What DRF itself
    spends on an authenticated request (authenticator, user, permission) over the floor."""

    def authenticate(self, request: Request) -> tuple[Any, None]:
        return FIXED_USER[0], None


FIXED_USER: list[Any] = [None]


class FixedUserView(FloorView):
    authentication_classes = [FixedUserAuthentication]
    permission_classes = [IsAuthenticated]


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


class SimpleJWTStatelessView(FloorView):
    authentication_classes = [JWTStatelessUserAuthentication]
    permission_classes = [IsAuthenticated]


class SimpleJWTView(FloorView):
    authentication_classes = [SimpleJWTAuthentication]
    permission_classes = [IsAuthenticated]


class OursJWTView(FloorView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]


class OursKeyView(FloorView):
    authentication_classes = [APIKeyAuthentication]
    permission_classes = [IsAuthenticated]


class OursOAuthView(FloorView):
    authentication_classes = [OAuthAccessTokenAuthentication]
    permission_classes = [IsAuthenticated]


urlpatterns = [
    path("floor/", FloorView.as_view()),
    path("floor-post/", FloorPostView.as_view()),
    path("select-key/", SelectOnlyView.as_view(select="key")),
    path("fixed-user/", FixedUserView.as_view()),
    path("select-session/", SelectOnlyView.as_view(select="session")),
    path("select-key-driver/", SelectOnDriverView.as_view(select="key")),
    path("select-session-driver/", SelectOnDriverView.as_view(select="session")),
    path("drf-token/", DRFTokenView.as_view()),
    path("drf-api-key/", DRFAPIKeyView.as_view()),
    path("knox/", KnoxView.as_view()),
    path("simplejwt-stateless/", SimpleJWTStatelessView.as_view()),
    path("simplejwt/", SimpleJWTView.as_view()),
    path("ours-jwt/", OursJWTView.as_view()),
    path("ours-key/", OursKeyView.as_view()),
    path("ours-oauth/", OursOAuthView.as_view()),
    path("api/", include("ainative_auth.urls")),
    path("", include("ainative_auth.oauth_server.urls")),
]
