"""The example project's OpenAPI schema (drf-spectacular) covers every ainative_auth endpoint."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from ainative_auth import urls as auth_urls

pytestmark = pytest.mark.django_db

PREFIX = "/api/v1/"
# POST endpoints that take no body at all.
BODYLESS = {("/api/v1/auth/logout", "post"), ("/api/v1/auth/logout-all", "post"),
            ("/api/v1/api-keys/{key_id}/rotate", "post"),
            ("/api/v1/auth/mfa/setup", "post"), ("/api/v1/auth/mfa/recovery-codes", "post"),
            ("/api/v1/auth/passkeys/register/options", "post"),
            ("/api/v1/auth/passkeys/login/options", "post")}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def openapi_path(route: str) -> str:
    return PREFIX + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def public_paths() -> set[str]:
    """Routes whose view lets anyone in (login, register, refresh, email flows, health)."""
    return {openapi_path(str(pattern.pattern)) for pattern in auth_urls.urlpatterns
            if AllowAny in pattern.callback.view_class.permission_classes}


# The schema route and its Swagger UI page describe the API; they are not in it.
SCHEMA_ROUTES = {"schema", "schema-docs"}


def expected_operations() -> dict[str, set[str]]:
    """Every route of ainative_auth.urls with the methods its view implements."""
    expected: dict[str, set[str]] = {}
    for pattern in auth_urls.urlpatterns:
        if pattern.name in SCHEMA_ROUTES:
            continue
        view_class = pattern.callback.view_class
        methods = {m for m in HTTP_METHODS if hasattr(view_class, m)}
        expected[openapi_path(str(pattern.pattern))] = methods
    return expected


@pytest.fixture
def schema() -> dict[str, Any]:
    response = APIClient().get("/api/v1/schema?format=json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def test_the_schema_is_served_as_openapi_3_json(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"]
    assert schema["paths"]


def test_the_schema_is_served_as_yaml_by_default() -> None:
    response = APIClient().get("/api/v1/schema")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert "json" not in response["Content-Type"]
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")


def test_the_schema_honours_the_openapi_json_accept_header() -> None:
    response = APIClient().get("/api/v1/schema",
                               HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_every_ainative_auth_route_appears_with_its_methods(schema: dict[str, Any]) -> None:
    expected = expected_operations()
    assert len(expected) >= 10  # the routes were found at all

    for path, methods in expected.items():
        assert path in schema["paths"], path
        assert set(schema["paths"][path]) & set(HTTP_METHODS) == methods, path


def test_every_endpoint_with_a_body_documents_it(schema: dict[str, Any]) -> None:
    for path in expected_operations():
        for method, operation in schema["paths"][path].items():
            if method not in ("post", "put", "patch") or (path, method) in BODYLESS:
                continue
            body = operation.get("requestBody")
            assert body, f"{method.upper()} {path} has no request body"
            media = body["content"]["application/json"]
            assert resolve(schema, media["schema"]).get("properties"), (path, method)


def test_bodyless_endpoints_document_no_body(schema: dict[str, Any]) -> None:
    for path, method in BODYLESS:
        if path in schema["paths"]:
            assert "requestBody" not in schema["paths"][path][method], path


def test_every_operation_documents_its_success_response(schema: dict[str, Any]) -> None:
    for path in expected_operations():
        for method, operation in schema["paths"][path].items():
            successes = {code for code in operation["responses"] if code.startswith("2")}
            assert successes, (path, method)
            for code in successes - {"204"}:
                content = operation["responses"][code]["content"]["application/json"]
                assert content["schema"], (path, method, code)


def test_every_documented_error_uses_the_error_body(schema: dict[str, Any]) -> None:
    for path in expected_operations():
        for method, operation in schema["paths"][path].items():
            for code, response in operation["responses"].items():
                if code[0] not in "45":
                    continue
                node = resolve(schema, response["content"]["application/json"]["schema"])
                assert {"detail", "error_code"} <= set(node["properties"]), (path, method, code)
                assert {"detail", "error_code"} <= set(node["required"]), (path, method, code)


def test_protected_endpoints_document_their_401(schema: dict[str, Any]) -> None:
    public = public_paths()
    assert {"/api/v1/auth/login", "/api/v1/health"} <= public
    for path in set(expected_operations()) - public:
        for method, operation in schema["paths"][path].items():
            assert "401" in operation["responses"], (path, method)


def test_bearer_and_public_endpoints_are_marked_as_such(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    me_security = schema["paths"]["/api/v1/users/me"]["get"]["security"]
    assert {"bearerAuth": []} in me_security
    for path in ("/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/refresh"):
        security = schema["paths"][path]["post"].get("security", [{}])
        assert all("bearerAuth" not in requirement for requirement in security), path


def test_the_token_response_and_user_object_match_the_design(schema: dict[str, Any]) -> None:
    login = schema["paths"]["/api/v1/auth/login"]["post"]["responses"]["200"]
    token = resolve(schema, login["content"]["application/json"]["schema"])
    assert set(token["properties"]) == {"access_token", "refresh_token", "token_type",
                                        "expires_in", "user"}
    user = resolve(schema, token["properties"]["user"])
    assert set(user["properties"]) == {"id", "email", "name", "email_verified", "created_at"}


def test_the_schema_passes_spectacular_validation_without_warnings(tmp_path: Any) -> None:
    """``manage.py spectacular --validate --fail-on-warn``: a warning is a failure."""
    target = tmp_path / "schema.yaml"
    stderr = io.StringIO()

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target),
                 stderr=stderr)

    assert "Warning" not in stderr.getvalue(), stderr.getvalue()
    assert yaml.safe_load(target.read_text())["paths"]


# --- the schema agrees with the server (issue 8, item 7) -------------------------------

ENDPOINTS_PAGE = (Path(__file__).resolve().parents[2] / "docs" / "endpoints.md").read_text()
CREDITS = "/api/v1/public/credits/balance"
# Public endpoints that count every call against a throttle scope.
THROTTLED_PUBLIC = {"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh",
                    "/api/v1/auth/forgot-password", "/api/v1/auth/reset-password",
                    "/api/v1/auth/verify-email", "/api/v1/auth/resend-verification"}


def operations(schema: dict[str, Any], paths: Any = None) -> Iterator[tuple[str, str, dict]]:
    for path in paths if paths is not None else [*expected_operations(), CREDITS]:
        for method, operation in schema["paths"][path].items():
            if method in HTTP_METHODS:
                yield path, method, operation


def concrete(path: str, operation: dict[str, Any] | None = None) -> str:
    """``path`` with a well-formed id nobody has in each parameter (a number where the
    ``operation`` says the parameter is an integer)."""
    numbers = {parameter["name"] for parameter in (operation or {}).get("parameters", [])
               if parameter.get("in") == "path"
               and parameter.get("schema", {}).get("type") == "integer"}
    return re.sub(r"\{(\w+)\}",
                  lambda m: "987654321" if m.group(1) in numbers else "Zz0123456789", path)


def test_the_login_form_is_described_in_words_and_the_server_takes_both_names(
        schema: dict[str, Any], make_user: Any) -> None:
    # One body type per operation (JSON): with a second one (the form), generated clients
    # (openapi-python-client) emit a login function that cannot even be imported.
    login = schema["paths"]["/api/v1/auth/login"]["post"]
    body = login["requestBody"]["content"]
    assert set(body) == {"application/json"}
    for word in ("application/x-www-form-urlencoded", "`username`", "`email`", "`password`"):
        assert word in login["description"]
    json_body = resolve(schema, body["application/json"]["schema"])
    assert set(json_body["required"]) == {"email", "password"}
    make_user()
    for name in ("username", "email"):
        response = APIClient().post("/api/v1/auth/login",
                                    f"{name}=alice%40example.com&password=correct+horse+"
                                    "battery+staple",
                                    content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200, (name, response.content)


def test_patch_me_is_a_partial_update_in_the_schema_and_on_the_server(
        schema: dict[str, Any], bearer_client: APIClient) -> None:
    body = schema["paths"]["/api/v1/users/me"]["patch"]["requestBody"]["content"]
    patch = resolve(schema, body["application/json"]["schema"])
    assert "name" in patch["properties"] and "name" not in patch.get("required", [])
    before = bearer_client.get("/api/v1/users/me").json()
    response = bearer_client.patch("/api/v1/users/me", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == before
    renamed = bearer_client.patch("/api/v1/users/me", {"name": "Alicia"}, format="json")
    assert renamed.json()["name"] == "Alicia"


def _request_component(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return resolve(schema, body["schema"])


@pytest.mark.parametrize("path,method,body", [
    ("/api/v1/users/me", "patch", {"name": "x"}),
    ("/api/v1/api-keys", "post", {"name": "x"}),
    ("/api/v1/api-keys/{key_id}", "patch", {"name": "x"}),
    ("/api/v1/auth/register", "post", {"email": "new@example.com",
                                       "password": "correct horse battery staple"}),
    ("/api/v1/auth/login", "post", {"email": "alice@example.com", "password": "x"}),
])
def test_a_body_says_additional_properties_false_exactly_when_the_server_refuses_them(
        schema: dict[str, Any], bearer_client: APIClient, verify: Any, path: str,
        method: str, body: dict[str, Any]) -> None:
    target = path
    if "{key_id}" in path:
        verify()
        created = bearer_client.post("/api/v1/api-keys", {"name": "k"}, format="json")
        target = path.replace("{key_id}", created.json()["id"])
    response = getattr(bearer_client, method)(target, {**body, "surprise": 1}, format="json")
    refused = response.status_code == 400 and any(
        e["field"] == "surprise" for e in response.json().get("errors", []))
    component = _request_component(schema, path, method)
    assert (component.get("additionalProperties") is False) == refused, (
        path, method, response.status_code)


def test_only_operations_that_take_an_api_key_advertise_the_scheme(
        schema: dict[str, Any], api_key: Any) -> None:
    """Ask the server: each operation, with a '*' key and no body. Refused keys get 403
    session_required / insufficient_scope before anything else runs (nothing changes)."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key[1])
    checked = 0
    for path, method, operation in operations(schema):
        security = operation.get("security", [])
        if not any("bearerAuth" in requirement for requirement in security) or {} in security:
            continue  # a public endpoint (perhaps with an optional Bearer, like authorize)
        response = client.generic(method.upper(), concrete(path, operation), "{}",
                                  content_type="application/json")
        refused = response.status_code == 403 and response.json()["error_code"] in (
            "session_required", "insufficient_scope")
        advertised = any("apiKeyAuth" in requirement for requirement in security)
        assert advertised == (not refused), (method, path, response.status_code)
        checked += 1
    assert checked >= 15


def test_the_credits_endpoint_documents_its_errors(schema: dict[str, Any]) -> None:
    responses = schema["paths"][CREDITS]["get"]["responses"]
    assert {"200", "401", "403", "429", "503"} <= set(responses)


def test_every_operation_documents_the_errors_it_can_give(schema: dict[str, Any]) -> None:
    public = public_paths()
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        expected = {"503"}
        if "requestBody" in operation:
            expected |= {"400", "415"}
        if path not in public:
            expected |= {"401", "429"}  # credentials checked; the X-API-Key check throttles
        if path in THROTTLED_PUBLIC:
            expected.add("429")
        assert expected <= codes, (method, path, sorted(expected - codes))


@pytest.mark.parametrize("path,body", [
    ("/api/v1/auth/register", {"email": "n@example.com", "password": "x" * 12}),
    ("/api/v1/auth/login", {"email": "n@example.com", "password": "x"}),
    ("/api/v1/auth/refresh", {"refresh_token": "x"}),
    ("/api/v1/auth/forgot-password", {"email": "n@example.com"}),
    ("/api/v1/auth/reset-password", {"token": "x", "new_password": "x" * 12}),
    ("/api/v1/auth/verify-email", {"token": "x"}),
    ("/api/v1/auth/resend-verification", {"email": "n@example.com"}),
])
def test_a_public_endpoint_that_answers_429_documents_it(
        schema: dict[str, Any], auth_settings: Any, path: str, body: dict) -> None:
    auth_settings.rates(**{scope: "1/minute" for scope in (
        "login", "register", "refresh", "forgot_password", "reset_password", "verify_email",
        "resend_verification")})
    statuses = {APIClient().post(path, body, format="json").status_code for _ in range(3)}
    assert 429 in statuses
    assert "429" in schema["paths"][path]["post"]["responses"]


def test_the_docs_endpoint_table_agrees_with_the_schema_on_success_codes(
        schema: dict[str, Any]) -> None:
    def shape(path: str) -> str:
        return re.sub(r"\{\w+\}", "{}", path)

    documented = {(method, shape(path)): operation
                  for path, method, operation in operations(schema, schema["paths"])}
    rows = re.findall(r"^\| ((?:GET|POST|PATCH|DELETE|PUT)(?: / (?:GET|POST|PATCH|DELETE))*) "
                      r"`([^`]+)`[^|]*\|[^|]*\| ([^|]*) \|", ENDPOINTS_PAGE, flags=re.M)
    def alternatives(path: str) -> list[str]:
        # `auth/{github,linkedin}/callback?x=` stands for both providers' paths.
        path = path.partition("?")[0]
        found = re.search(r"\{(\w+(?:,\w+)+)\}", path)
        if found is None:
            return [path]
        return [path[:found.start()] + name + path[found.end():]
                for name in found.group(1).split(",")]

    checked = 0
    for methods, row_path, success in rows:
        codes = re.findall(r"\b(2\d\d)\b", success)
        if not codes:
            continue  # e.g. the schema endpoint itself
        methods = methods.split(" / ")
        # One code per method ("200 / 200 / 204"), or all of one method's codes
        # ("201 social account (200 if already yours)").
        expected = ([{code} for code in codes] if len(methods) > 1 else [set(codes)])
        if len(expected) != len(methods):
            expected = [{codes[0]}] * len(methods)
        for path in alternatives(row_path):
            for method, wanted in zip(methods, expected, strict=True):
                operation = documented[(method.lower(), shape(PREFIX + path))]
                successes = {c for c in operation["responses"] if c.startswith("2")}
                assert successes == wanted, (method, path, wanted, successes)
                checked += 1
    assert checked >= 20


def test_a_passkey_is_named_by_its_number(schema: dict[str, Any]) -> None:
    """A passkey's id is the list's number: the sign-in route beside it is never a
    passkey's."""
    for method in ("patch", "delete"):
        operation = schema["paths"]["/api/v1/auth/passkeys/{passkey_id}"][method]
        (parameter,) = [p for p in operation["parameters"] if p["name"] == "passkey_id"]
        assert parameter["schema"] == {"type": "integer", "minimum": 1,
                                       "maximum": 2**63 - 1}
