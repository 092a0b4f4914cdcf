from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from ..authentication import session_token
from ..client import Client
from ..exceptions import NotFound, ServiceUnavailable
from ..permissions import IsSessionAuthenticated
from ..serializers import (
    DetailSerializer,
    ErrorSerializer,
    HealthSerializer,
    RefreshSerializer,
    SessionSerializer,
    TokenResponseSerializer,
)
from ..services import sessions
from .base import AuthenticatedAPIView, BaseAPIView


class RefreshView(BaseAPIView):
    @extend_schema(
        request=RefreshSerializer,
        responses={200: TokenResponseSerializer,
                   **{c: OpenApiResponse(ErrorSerializer) for c in (400, 401, 429)}},
        summary="Rotate a refresh token",
    )
    def post(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = sessions.refresh(serializer.validated_data["refresh_token"],
                                client=Client.of(request))
        return Response(body)


class SessionAPIView(AuthenticatedAPIView):
    permission_classes = [IsSessionAuthenticated]


class LogoutView(SessionAPIView):
    @extend_schema(request=None, responses={200: DetailSerializer, 401: ErrorSerializer},
                   summary="Log out: revoke this session")
    def post(self, request: Request) -> Response:
        sessions.revoke_session(session_token(request).session, "logout")
        return Response({"detail": "Logged out."})


class LogoutAllView(SessionAPIView):
    @extend_schema(request=None, responses={200: DetailSerializer, 401: ErrorSerializer},
                   summary="Log out everywhere: revoke every session of this user")
    def post(self, request: Request) -> Response:
        count = sessions.revoke_all_sessions(request.user, "logout_all")
        return Response({"detail": "Logged out of all sessions.", "revoked": count})


class SessionListView(SessionAPIView):
    @extend_schema(responses={200: SessionSerializer(many=True), 401: ErrorSerializer},
                   summary="List this user's live sessions")
    def get(self, request: Request) -> Response:
        data = SessionSerializer(
            sessions.live_sessions(request.user),
            many=True,
            context={"current_session_id": session_token(request).session_id},
        ).data
        return Response(data)


class SessionDetailView(SessionAPIView):
    @extend_schema(request=None, responses={204: None, 401: ErrorSerializer,
                                            404: ErrorSerializer},
                   summary="Revoke one of this user's sessions")
    def delete(self, request: Request, session_id: str) -> Response:
        if not sessions.revoke_user_session(request.user, session_id):
            raise NotFound("No such session.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class HealthView(BaseAPIView):
    @extend_schema(responses={200: HealthSerializer, 503: ErrorSerializer},
                   summary="Liveness and database check")
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any database failure means "down"
            raise ServiceUnavailable() from exc
        return Response({"status": "ok"})
