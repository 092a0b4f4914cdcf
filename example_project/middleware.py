"""Keep error bodies under /api/ JSON even with DEBUG on (Django's debug pages are HTML),
and answer 503 wherever the database is unreachable."""

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

    # Non-JSON answers under /api/ that Django makes itself: with DEBUG on, a disallowed
    # Host (raised in CommonMiddleware, after process_exception can see it) is an HTML 400.
    codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
             413: "request_too_large", 500: "server_error"}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.prefix):
            return response
        if (
            response.status_code in self.codes
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            allowed = response.get("Allow")
            response = json_error(response.status_code, self.codes[response.status_code])
            if allowed:
                response["Allow"] = allowed
        # A JSON API is never framed or rendered as a document (R5; Django 5.2 has no CSP).
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
        )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            # The database is unreachable: a 503 to retry, on the pages too (the login
            # page reads the database); a 500 would say the request itself was at fault.
            logger.error("database unavailable on %s: %s", request.path,
                         type(exception).__name__)
            response = json_error(503, "service_unavailable")
            response["Retry-After"] = "5"
            return response
        if not request.path.startswith(self.prefix):
            return None
        if isinstance(exception, Http404):
            return json_error(404, "not_found")
        if isinstance(exception, RequestDataTooBig):
            return json_error(413, "request_too_large")
        if isinstance(exception, SuspiciousOperation):
            return json_error(400, "bad_request")
        logger.error("Unhandled exception on %s", request.path, exc_info=exception)
        return json_error(500, "server_error")
