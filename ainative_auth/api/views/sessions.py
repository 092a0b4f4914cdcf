from __future__ import annotations

from django.db import connection
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from ...authentication import session_token
from ...client import Client
from ...exceptions import NotFound, ServiceUnavailable
from ...permissions import IsSessionAuthenticated
from ...schema import THROTTLED, error, extend_schema
from ...services import sessions
from ..serializers.common import DetailSerializer, TokenResponseSerializer
from ..serializers.sessions import (
    HealthSerializer,
    LogoutAllSerializer,
    RefreshSerializer,
    SessionSerializer,
)
from .base import AuthenticatedAPIView, BaseAPIView


class RefreshView(BaseAPIView):
    @extend_schema(
        operation_id="refresh_token",
        request=RefreshSerializer,
        responses={
            200: TokenResponseSerializer,
            401: error("`refresh_token_invalid` (unknown, expired, revoked) or "
                       "`refresh_token_reused` (an already-rotated token: the session is "
                       "now revoked)."),
            429: error(THROTTLED),
        },
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
    @extend_schema(operation_id="logout",
                   request=None, responses={200: DetailSerializer},
                   summary="Log out: revoke this session")
    def post(self, request: Request) -> Response:
        sessions.revoke_session(session_token(request).session, "logout")
        return Response({"detail": "Logged out."})


class LogoutAllView(SessionAPIView):
    @extend_schema(operation_id="logout_all",
                   request=None, responses={200: LogoutAllSerializer},
                   summary="Log out everywhere: revoke every session of this user")
    def post(self, request: Request) -> Response:
        count = sessions.revoke_all_sessions(request.user, "logout_all")
        return Response({"detail": "Logged out of all sessions.", "revoked": count})


class SessionListView(SessionAPIView):
    @extend_schema(operation_id="list_sessions",
                   responses={200: SessionSerializer(many=True)},
                   summary="List this user's live sessions")
    def get(self, request: Request) -> Response:
        data = SessionSerializer(
            sessions.live_sessions(request.user),
            many=True,
            context={"current_session_id": session_token(request).session_id},
        ).data
        return Response(data)


class SessionDetailView(SessionAPIView):
    @extend_schema(operation_id="revoke_session",
                   request=None,
                   responses={204: None, 404: error("`not_found`: no such session of yours.")},
                   summary="Revoke one of this user's sessions")
    def delete(self, request: Request, session_id: str) -> Response:
        if not sessions.revoke_user_session(request.user, session_id):
            raise NotFound("No such session.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class HealthView(BaseAPIView):
    @extend_schema(operation_id="health",
                   responses={200: HealthSerializer,
                              503: error("`service_unavailable`: the database is down.")},
                   summary="Liveness and database check")
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any database failure means "down"
            raise ServiceUnavailable() from exc
        return Response({"status": "ok"})
