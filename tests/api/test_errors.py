"""The example project's error handling and headers (R2, R4, R5, R6, REL-1, REL-2).

Error bodies under /api/ are JSON with DEBUG off and on, a forced 500 leaks nothing, and a
database or cache outage is a 503 with ``Retry-After`` — never a 401 that would make a
client throw its session away.

This module doubles as a URLconf (``@pytest.mark.urls(__name__)``): the example project's
routes plus views that fail on purpose.
"""

from __future__ import annotations

import io
import json
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient
from rest_framework.views import APIView

from ainative_auth.api.views.accounts import RegisterView
from example_project import urls as example_urls
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db

SECRET_MESSAGE = "SELECT password FROM auth_user -- django secret 8c1f"


def _boom(request: Any) -> Any:
    raise RuntimeError(SECRET_MESSAGE)


def _too_big(request: Any) -> Any:
    raise RequestDataTooBig(SECRET_MESSAGE)


def _db_down(request: Any) -> Any:
    raise OperationalError(SECRET_MESSAGE)


def _suspicious(request: Any) -> Any:
    raise SuspiciousOperation(SECRET_MESSAGE)


class _BoomAPIView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Any) -> Any:
        raise RuntimeError(SECRET_MESSAGE)


urlpatterns = [
    path("api/v1/test/boom", _boom),
    path("api/v1/test/boom-drf", _BoomAPIView.as_view()),
    path("api/v1/test/too-big", _too_big),
    path("api/v1/test/suspicious", _suspicious),
    path("api/v1/test/db-down", _db_down),
    path("test/boom", _boom),
    path("test/too-big", _too_big),
    *example_urls.urlpatterns,
]
handler400 = example_urls.handler400
handler403 = example_urls.handler403
handler404 = example_urls.handler404
handler500 = example_urls.handler500

LEAKS = ("Traceback", 'File "', "SELECT", "psycopg", "sqlite", "django", "Django",
         "RuntimeError", "Exception", SECRET_MESSAGE, "8c1f", "<html", "<!DOCTYPE")


def client() -> Client:
    # A 500 must come back as a response, not re-raised into the test.
    return Client(raise_request_exception=False)


def assert_json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The shared error check, and nothing internal in the body (R2)."""
    body = assert_error(response, status, code)
    text = response.content.decode()
    for leak in LEAKS:
        assert leak not in text, leak
    return body


@pytest.fixture(params=[False, True], ids=["DEBUG off", "DEBUG on"])
def debug(request: Any, settings: Any) -> bool:
    settings.DEBUG = request.param
    return request.param


# --- JSON handlers, DEBUG off and on ------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/nope", "/api/v1/", "/api/", "/api/v1/auth/logout/x",
                                 "/api/v1/auth/sessions/a/b", "/api/v2/auth/login"])
def test_an_unknown_api_path_is_a_json_404(debug: bool, url: str) -> None:
    assert_json_error(client().get(url), 404, "not_found")
    assert_json_error(client().post(url, "{}", content_type="application/json"), 404,
                      "not_found")


def test_an_unsupported_method_is_a_json_405(debug: bool) -> None:
    response = client().get("/api/v1/auth/login")

    assert_json_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_an_oversized_body_is_a_json_413(debug: bool) -> None:
    body = json.dumps({"email": "a@example.com", "password": "x" * 3_000_000})

    response = client().post("/api/v1/auth/login", body, content_type="application/json")

    assert_json_error(response, 413, "request_too_large")


def test_a_disallowed_host_is_a_json_400(debug: bool) -> None:
    response = client().get("/api/v1/health", HTTP_HOST="evil.example")

    assert_json_error(response, 400, "bad_request")


def test_malformed_json_is_a_json_400(debug: bool) -> None:
    response = client().post("/api/v1/auth/login", "{", content_type="application/json")

    assert_json_error(response, 400, "malformed_request")


def test_a_chunked_body_is_a_json_411_before_anything_else(debug: bool) -> None:
    """Django reads bodies by Content-Length only: a chunked one would be read as empty."""
    body = json.dumps({"email": "chunked@example.com", "password": PASSWORD, "name": "C"})
    response = client().post("/api/v1/auth/register", body, content_type="application/json",
                             HTTP_TRANSFER_ENCODING="chunked")

    assert_json_error(response, 411, "length_required")
    assert not get_user_model().objects.exists()


class _FailingInput(io.BufferedIOBase):
    """A body stream whose read fails as a server's does when the client stalls or goes."""

    def __init__(self, error: OSError) -> None:
        super().__init__()
        self.error = error

    def readable(self) -> bool:
        return True

    def read(self, *args: Any) -> bytes:
        raise self.error


@pytest.mark.parametrize(("error", "status", "code"), [
    (TimeoutError("timed out"), 408, "request_timeout"),
    (ConnectionResetError("reset"), 400, "malformed_request"),
])
def test_a_body_the_server_cannot_read_is_a_json_4xx(
    rf: Any, error: OSError, status: int, code: str
) -> None:
    request = rf.post("/api/v1/auth/register", "{}", content_type="application/json")
    request._stream = _FailingInput(error)  # what Django reads the body from

    response = RegisterView.as_view()(request)
    response.render()

    assert_json_error(response, status, code)
    assert not get_user_model().objects.exists()


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/api/v1/test/boom", "/api/v1/test/boom-drf", "/test/boom"])
def test_a_forced_server_error_is_a_json_500_without_internals(debug: bool, url: str) -> None:
    response = client().get(url)
    if debug and not url.startswith("/api/"):
        # Outside /api/ with DEBUG on, Django's HTML debug page is what a developer wants.
        assert response.status_code == 500
        assert response["Content-Type"].startswith("text/html")
        return
    assert_json_error(response, 500, "server_error")


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/api/v1/test/too-big", "/test/too-big"])
def test_request_data_too_big_outside_drf_is_a_json_413(debug: bool, url: str) -> None:
    response = client().get(url)
    if debug and not url.startswith("/api/"):
        # Outside /api/ with DEBUG on, Django's own (HTML) 400 page is left alone.
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")
        return
    assert_json_error(response, 413, "request_too_large")


@pytest.mark.urls(__name__)
def test_a_suspicious_operation_outside_drf_is_a_json_400(debug: bool) -> None:
    assert_json_error(client().get("/api/v1/test/suspicious"), 400, "bad_request")


def test_the_handlers_themselves_answer_json(rf: Any) -> None:
    from example_project import errors

    request = rf.get("/anything")
    cases = [
        (errors.bad_request(request, SuspiciousOperation()), 400, "bad_request"),
        (errors.bad_request(request, RequestDataTooBig()), 413, "request_too_large"),
        (errors.permission_denied(request, None), 403, "permission_denied"),
        (errors.page_not_found(request, None), 404, "not_found"),
        (errors.server_error(request), 500, "server_error"),
    ]
    for response, status, code in cases:
        assert_json_error(response, status, code)
        assert response["Cache-Control"] == "no-store"


def test_the_example_project_names_its_json_handlers() -> None:
    assert example_urls.handler400 == "example_project.errors.bad_request"
    assert example_urls.handler404 == "example_project.errors.page_not_found"
    assert example_urls.handler500 == "example_project.errors.server_error"


def test_production_settings_do_not_propagate_exceptions(settings: Any) -> None:
    """R2: the test profile runs with DEBUG off, like production."""
    assert settings.DEBUG is False
    assert settings.DEBUG_PROPAGATE_EXCEPTIONS is False


# --- generic error bodies (R2) ------------------------------------------------------------


def test_no_error_body_leaks_internals(make_user: Any) -> None:
    make_user()
    api = APIClient()
    responses = [
        api.post("/api/v1/auth/login", {"email": "alice@example.com", "password": "nope"},
                 format="json"),
        api.post("/api/v1/auth/login", {"email": "x"}, format="json"),
        api.post("/api/v1/auth/register", {"email": "alice@example.com", "password": PASSWORD},
                 format="json"),
        api.post("/api/v1/auth/refresh", {"refresh_token": "x"}, format="json"),
        api.get("/api/v1/users/me", HTTP_AUTHORIZATION="Bearer x"),
        api.generic("POST", "/api/v1/auth/login", b"[" * 100_000, content_type="application/json"),
        api.generic("POST", "/api/v1/auth/login", b"x", content_type="text/plain"),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500, response.content
        text = response.content.decode()
        for leak in LEAKS:
            assert leak not in text, (leak, text)


# --- caching and security headers (R4, R5, R6) --------------------------------------------


def test_every_response_with_tokens_or_user_data_is_not_cacheable(
    register: Any, make_user: Any
) -> None:
    api = APIClient()
    registered = register(email="bob@example.com")
    make_user()
    logged_in = api.post("/api/v1/auth/login",
                         {"email": "alice@example.com", "password": PASSWORD}, format="json")
    refreshed = api.post("/api/v1/auth/refresh",
                         {"refresh_token": logged_in.json()["refresh_token"]}, format="json")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access_token']}")
    responses = {
        "register": registered,
        "login": logged_in,
        "refresh": refreshed,
        "users/me": api.get("/api/v1/users/me"),
        "users/me patch": api.patch("/api/v1/users/me", {"name": "A"}, format="json"),
        "sessions": api.get("/api/v1/auth/sessions"),
        "failed login": APIClient().post("/api/v1/auth/login",
                                         {"email": "alice@example.com", "password": "x"},
                                         format="json"),
    }
    for name, response in responses.items():
        assert response.status_code < 500, name
        assert response["Cache-Control"] == "no-store", name
        assert response["Pragma"] == "no-cache", name


@pytest.mark.parametrize("url", ["/api/v1/health", "/api/v1/nope", "/api/v1/auth/login"])
def test_security_headers_are_on_every_api_response(db: Any, url: str) -> None:
    response = client().get(url)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in ("no-referrer", "strict-origin",
                                           "strict-origin-when-cross-origin")
    assert response["X-Frame-Options"] == "DENY"
    assert "charset" in response["Content-Type"] or response["Content-Type"] == (
        "application/json")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_hsts_is_sent_over_https(db: Any) -> None:
    response = client().get("/api/v1/health", secure=True)

    value = response["Strict-Transport-Security"]
    assert int(value.split("max-age=")[1].split(";")[0]) >= 31536000
    assert "includeSubDomains" in value


def test_plain_http_api_calls_are_not_redirected(db: Any) -> None:
    """ASVS 4.1.2: a redirect would have sent the credentials in the clear already."""
    response = client().post("/api/v1/auth/login", "{}", content_type="application/json")

    assert response.status_code == 400


def test_cors_never_reflects_a_foreign_origin(db: Any) -> None:
    """R6: no CORS allowlist is configured, so no origin is ever allowed."""
    preflight = client().options("/api/v1/auth/login", HTTP_ORIGIN="https://evil.example",
                                 HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    actual = client().post("/api/v1/auth/login", "{}", content_type="application/json",
                           HTTP_ORIGIN="https://evil.example")

    for response in (preflight, actual):
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Credentials" not in response


# --- the database is down (REL-1) ---------------------------------------------------------


def database_down(error: type[Exception] = OperationalError) -> Any:
    # The backends' cursor factory: Django's cursor() and the authentication lookups
    # (which run their SELECT on the driver's cursor) both get their cursors from it.
    return mock.patch("django.db.backends.sqlite3.base.DatabaseWrapper.create_cursor"
                      if connection.vendor == "sqlite" else
                      "django.db.backends.postgresql.base.DatabaseWrapper.create_cursor",
                      side_effect=error("connection refused"))


def assert_503(response: Any) -> None:
    assert_json_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) >= 1
    assert "WWW-Authenticate" not in response


def test_health_is_ok_when_the_database_is_up(db: Any) -> None:
    response = client().get("/api/v1/health")

    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_health_is_503_when_the_database_is_down(db: Any, error: type[Exception]) -> None:
    with database_down(error):
        response = client().get("/api/v1/health")

    assert_503(response)


def test_refresh_is_503_never_401_when_the_database_is_down(tokens: dict[str, Any]) -> None:
    with database_down():
        response = APIClient().post("/api/v1/auth/refresh",
                                    {"refresh_token": tokens["refresh_token"]}, format="json")

    assert_503(response)
    # The token survived the outage.
    assert APIClient().post("/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]},
                            format="json").status_code == 200


def test_a_valid_access_token_is_503_not_401_or_200_when_the_database_is_down(
    bearer_client: APIClient,
) -> None:
    """Fail closed: without the session check the token is not trusted on its own."""
    with database_down():
        response = bearer_client.get("/api/v1/users/me")

    assert_503(response)


@pytest.mark.parametrize("url, body", [
    ("/api/v1/auth/login", {"email": "alice@example.com", "password": PASSWORD}),
    ("/api/v1/auth/register", {"email": "new@example.com", "password": PASSWORD, "name": "N"}),
])
def test_login_and_register_are_503_when_the_database_is_down(
    make_user: Any, url: str, body: dict[str, str]
) -> None:
    make_user()
    with database_down():
        response = APIClient().post(url, body, format="json")

    assert_503(response)


def test_logout_is_503_when_the_database_is_down(bearer_client: APIClient) -> None:
    with database_down():
        response = bearer_client.post("/api/v1/auth/logout")

    assert_503(response)
    assert bearer_client.get("/api/v1/users/me").status_code == 200


@pytest.mark.urls(__name__)
def test_a_database_error_outside_drf_is_503_too(debug: bool) -> None:
    assert_503(client().get("/api/v1/test/db-down"))


# --- the throttle cache is down (REL-2) ---------------------------------------------------


def test_login_is_503_when_the_throttle_cache_is_down(
    make_user: Any, settings: Any, auth_settings: Any
) -> None:
    """Throttling is never silently switched off: no cache, no login attempts."""
    make_user()
    # A Redis cache whose server is not there (nothing listens on port 1).
    settings.CACHES = {**settings.CACHES, "down": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }}
    auth_settings(THROTTLE_CACHE="down")

    response = APIClient().post("/api/v1/auth/login",
                                {"email": "alice@example.com", "password": PASSWORD},
                                format="json")

    assert_503(response)
