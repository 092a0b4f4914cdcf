"""JSON error handlers: the API's error body for 400/403/404/405/413/500."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse

from ainative_auth.exceptions import ERROR_MESSAGES, error_body


def json_error(status: int, code: str, detail: str | None = None) -> JsonResponse:
    response = JsonResponse(error_body(detail or ERROR_MESSAGES.get(status, "Error."), code),
                            status=status)
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return json_error(413, "request_too_large")
    return json_error(400, "bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, "permission_denied", "You do not have permission to do this.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(404, "not_found")


def server_error(request: HttpRequest) -> JsonResponse:
    return json_error(500, "server_error")
