"""``POST public/instant-db``: a trial key with no account (``services.trial_keys``)."""

from __future__ import annotations

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from ...client import Client
from ...schema import THROTTLED, error, extend_schema
from ...services import trial_keys
from ..serializers.trial_keys import TrialKeyIssuedSerializer, TrialKeyRequestSerializer
from .base import BaseAPIView


class InstantDBView(BaseAPIView):
    @extend_schema(
        operation_id="create_trial_key",
        request=TrialKeyRequestSerializer,
        responses={
            201: TrialKeyIssuedSerializer,
            400: error("`terms_not_accepted`: agree_terms is missing or not true; "
                       "`validation_error`: name or source is not a short string."),
            404: error("`not_found`: this server does not offer trial keys."),
            429: error(THROTTLED),
        },
        summary="Get a trial API key with no account (claimed later at claim_url)",
    )
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        result = trial_keys.issue_trial_key(
            agree_terms=body.get("agree_terms"), name=body.get("name"),
            source=body.get("source"), client=Client.of(request))
        return Response({
            "api_key": result.issued.plaintext,
            "claim_url": result.claim_url,
            "project_id": str(result.trial.pk),
            "expires_at": result.trial.expires_at.isoformat().replace("+00:00", "Z"),
        }, status=status.HTTP_201_CREATED)
