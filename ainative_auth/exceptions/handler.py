"""DRF's ``EXCEPTION_HANDLER``: every error, ours, DRF's and Django's, as the one error body
with its status and headers."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, UnreadablePostError
from rest_framework import exceptions
from rest_framework.response import Response

from .challenges import challenge
from .errors import (
    APIError,
    Forbidden,
    InsufficientScope,
    InvalidInput,
    NotFound,
    RequestTimeout,
    ServiceUnavailable,
)

logger = logging.getLogger("ainative_auth")


# error_code for DRF's and Django's own exceptions.
_DRF_CODES: dict[type[Exception], tuple[int, str]] = {
    exceptions.ParseError: (400, "malformed_request"),
    exceptions.UnsupportedMediaType: (415, "unsupported_media_type"),
    exceptions.NotAcceptable: (406, "not_acceptable"),
    exceptions.MethodNotAllowed: (405, "method_not_allowed"),
    exceptions.NotAuthenticated: (401, "not_authenticated"),
    exceptions.AuthenticationFailed: (401, "authentication_failed"),
    exceptions.PermissionDenied: (403, "permission_denied"),
    exceptions.NotFound: (404, "not_found"),
    exceptions.Throttled: (429, "throttled"),
}

ERROR_MESSAGES = {
    400: "The request could not be processed.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "The request body is too large.",
    500: "Internal server error.",
    503: "The service is temporarily unavailable. Try again shortly.",
}


def error_body(detail: str, error_code: str, errors: list[dict[str, Any]] | None = None) -> dict:
    body: dict[str, Any] = {"detail": str(detail), "error_code": error_code}
    if errors is not None:
        body["errors"] = errors
    return body


def _flatten(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    """DRF's nested ValidationError detail as a flat list of {field, code, message}."""
    if isinstance(detail, dict):
        out: list[dict[str, Any]] = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "__all__") else str(key)
            if field and name:
                name = f"{field}.{name}"
            out.extend(_flatten(value, name or field))
        return out
    if isinstance(detail, list):
        return [item for value in detail for item in _flatten(value, field)]
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": field, "code": str(code), "message": str(detail)}]


def _validation_response(exc: exceptions.ValidationError) -> Response:
    errors = _flatten(exc.detail)
    first = errors[0]["message"] if errors else "Invalid input."
    named = errors[0]["field"] if errors else None
    detail = f"{named}: {first}" if named else first
    return Response(error_body(detail, "validation_error", errors), status=400)


def _timed_out(exc: BaseException) -> bool:
    """Whether a read error was a timeout (Django wraps the server's error once or twice)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, TimeoutError):
            return True
        cause = cause.__cause__
    return False


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler giving our error body; set on every ainative_auth view."""
    translated = _from_django(exc)
    if isinstance(translated, Response):
        return translated
    exc = translated
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc)
    if isinstance(exc, InvalidInput):
        return Response(error_body(str(exc.detail), exc.error_code, exc.errors), status=400)
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django's 500 handler (JSON in the example) log it

    status_code, code = _status_and_code(exc)
    detail = _sentence(exc, status_code)
    if isinstance(exc, exceptions.Throttled):
        detail = "Too many requests. Try again later."
    body = error_body(detail, code)
    # A few errors carry fields of their own (``MFARequired``: mfa_token, methods).
    body.update(getattr(exc, "extra_body", None) or {})
    return Response(body, status=status_code,
                    headers=_headers(exc, status_code, context.get("request")))


def _from_django(exc: Exception) -> Exception | Response:
    """Django's and the database's exceptions as ours (or, for a few, the answer itself)."""
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return Forbidden()
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(ERROR_MESSAGES[413], "request_too_large"), status=413)
    if isinstance(exc, UnreadablePostError):
        # Reading the body failed: the client stalled (a timeout) or went away mid-body.
        return RequestTimeout() if _timed_out(exc) else exceptions.ParseError(
            "The request body could not be read.")
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body(ERROR_MESSAGES[400], "bad_request"), status=400)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("database unavailable: %s", type(exc).__name__)
        return ServiceUnavailable()
    if isinstance(exc, DatabaseError):
        # Anything else from the database is ours to fix, but the client still gets JSON.
        logger.exception("database error")
        return Response(error_body(ERROR_MESSAGES[500], "server_error"), status=500)
    return exc


def _status_and_code(exc: exceptions.APIException) -> tuple[int, str]:
    """Ours carry their code; DRF's are mapped by ``_DRF_CODES``."""
    if isinstance(exc, APIError):
        return exc.status_code, exc.error_code
    status_code, code = exc.status_code, "error"
    for klass, (mapped_status, mapped_code) in _DRF_CODES.items():
        if isinstance(exc, klass):
            status_code, code = mapped_status, mapped_code
            break
    detail: Any = exc.detail
    if isinstance(detail, dict) and "error_code" in detail:
        code = str(detail["error_code"])
    return status_code, code


def _sentence(exc: exceptions.APIException, status_code: int) -> str:
    """The ``detail`` sentence, whatever shape DRF's ``detail`` has."""
    raw: Any = exc.detail
    if isinstance(raw, dict):
        raw = raw.get("detail", ERROR_MESSAGES.get(status_code, "Error."))
    elif isinstance(raw, list):
        raw = raw[0] if raw else ERROR_MESSAGES.get(status_code, "Error.")
    return str(raw)


def _headers(exc: exceptions.APIException, status_code: int, request: Any) -> dict[str, str]:
    """``Retry-After`` (429, 503) and the ``WWW-Authenticate`` challenge (401, and 403 for
    a missing scope)."""
    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.Throttled):
        wait = getattr(exc, "wait", None) or 1
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    if status_code == 503:
        headers["Retry-After"] = "5"
    if status_code == 401:
        headers["WWW-Authenticate"] = _challenge_401(exc, request)
    elif isinstance(exc, InsufficientScope):
        headers["WWW-Authenticate"] = challenge(
            request, error="insufficient_scope", scopes=exc.scopes)
    return headers


def _challenge_401(exc: Exception, request: Any) -> str:
    """Ours, and after it a challenge of another scheme the view's authenticators name
    (a project's Basic or Token class: DRF puts it on ``exc.auth_header``)."""
    error = getattr(exc, "bearer_error", None)
    if error is None and isinstance(exc, exceptions.AuthenticationFailed):
        error = "invalid_token"
    header = challenge(request, error=error)
    other = getattr(exc, "auth_header", None)
    if other and not str(other).startswith("Bearer"):
        header = f"{header}, {other}"
    return header
