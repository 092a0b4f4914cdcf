"""The example project's OpenAPI schema (drf-spectacular) covers every ainative_auth endpoint."""

from __future__ import annotations

import io
import json
import re
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
            ("/api/v1/api-keys/{key_id}/rotate", "post")}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def openapi_path(route: str) -> str:
    return PREFIX + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def public_paths() -> set[str]:
    """Routes whose view lets anyone in (login, register, refresh, email flows, health)."""
    return {openapi_path(str(pattern.pattern)) for pattern in auth_urls.urlpatterns
            if AllowAny in pattern.callback.view_class.permission_classes}


def expected_operations() -> dict[str, set[str]]:
    """Every route of ainative_auth.urls with the methods its view implements."""
    expected: dict[str, set[str]] = {}
    for pattern in auth_urls.urlpatterns:
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
