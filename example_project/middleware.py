"""Keep error bodies under /api/ JSON even with DEBUG on (Django's debug pages are HTML)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse

from .errors import json_error

logger = logging.getLogger("django.request")


class JSONErrorsMiddleware:
    prefix = "/api/"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith(self.prefix)
            and response.status_code in (404, 405)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            if response.status_code == 404:
                return json_error(404, "not_found")
            allowed = response.get("Allow")
            replaced = json_error(405, "method_not_allowed")
            if allowed:
                replaced["Allow"] = allowed
            return replaced
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(self.prefix):
            return None
        if isinstance(exception, Http404):
            return json_error(404, "not_found")
        if isinstance(exception, RequestDataTooBig):
            return json_error(413, "request_too_large")
        if isinstance(exception, SuspiciousOperation):
            return json_error(400, "bad_request")
        if isinstance(exception, (OperationalError, InterfaceError)):
            response = json_error(503, "service_unavailable")
            response["Retry-After"] = "5"
            return response
        logger.error("Unhandled exception on %s", request.path, exc_info=exception)
        return json_error(500, "server_error")
