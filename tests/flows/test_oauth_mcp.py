"""The example project's MCP server at /mcp: who may call it, the PRM challenge, scope
step-up answers, and the tools (through the official SDK's app)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.oauth import API, MCP, SITE, grant_tokens, make_client

pytestmark = pytest.mark.django_db

HEADERS = {"HTTP_ACCEPT": "application/json, text/event-stream",
           "HTTP_MCP_PROTOCOL_VERSION": "2026-07-28"}


def rpc(method: str, params: dict | None = None) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": {
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
                  "io.modelcontextprotocol/clientCapabilities": {}},
        **(params or {})}})


def call(client: Client, body: str, method: str, name: str | None = None,
         **headers: Any) -> Any:
    extra = {"HTTP_MCP_METHOD": method, **({"HTTP_MCP_NAME": name} if name else {})}
    return client.post("/mcp", body, content_type="application/json",
                       **HEADERS, **extra, **headers)


@pytest.fixture
def alice(make_user: Any) -> Any:
    return make_user("alice@example.com")


def test_without_credentials_401_names_the_resource_metadata(client: Client) -> None:
    response = call(client, rpc("tools/list"), "tools/list")
    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{SITE}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert 'scope="mcp"' in challenge
    assert response.json()["error_code"] == "not_authenticated"


def test_the_resource_metadata_names_the_issuer_and_scopes(client: Client) -> None:
    body = client.get("/.well-known/oauth-protected-resource/mcp").json()
    assert body["resource"] == MCP
    assert body["authorization_servers"] == [SITE]
    assert sorted(body["scopes_supported"]) == ["credits:read", "mcp"]


def test_an_oauth_token_for_mcp_lists_tools_and_calls_whoami(
        alice: Any, api: APIClient, client: Client) -> None:
    access = grant_tokens(api, make_client()[0])["access_token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
    listed = call(client, rpc("tools/list"), "tools/list", **auth)
    assert listed.status_code == 200, listed.content
    names = {tool["name"] for tool in listed.json()["result"]["tools"]}
    assert names == {"whoami", "credits_balance"}
    called = call(client, rpc("tools/call", {"name": "whoami", "arguments": {}}),
                  "tools/call", "whoami", **auth)
    assert called.status_code == 200, called.content
    assert called.json()["result"]["content"][0]["text"] == "alice@example.com"


def test_a_missing_scope_is_403_insufficient_scope_naming_all_needed(
        alice: Any, api: APIClient, client: Client) -> None:
    access = grant_tokens(api, make_client()[0])["access_token"]
    response = call(client, rpc("tools/call", {"name": "credits_balance", "arguments": {}}),
                    "tools/call", "credits_balance", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 403
    assert response.json()["error_code"] == "insufficient_scope"
    challenge = response["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="credits:read mcp"' in challenge and "resource_metadata=" in challenge


def test_a_token_for_another_resource_is_401(alice: Any, api: APIClient,
                                             client: Client) -> None:
    access = grant_tokens(api, make_client()[0], scope="profile", resource=API)["access_token"]
    response = call(client, rpc("tools/list"), "tools/list",
                    HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_session_jwt_is_not_an_mcp_token(tokens: dict, client: Client) -> None:
    response = call(client, rpc("tools/list"), "tools/list",
                    HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 401


def test_api_keys_work_as_x_api_key_and_as_bearer(make_api_key: Any, client: Client) -> None:
    _, key = make_api_key(scopes=["mcp", "credits:read"])
    for auth in ({"HTTP_X_API_KEY": key}, {"HTTP_AUTHORIZATION": f"Bearer {key}"}):
        response = call(client, rpc("tools/call", {"name": "credits_balance", "arguments": {}}),
                        "tools/call", "credits_balance", **auth)
        assert response.status_code == 200, response.content
    _, narrow = make_api_key(name="narrow", scopes=["mcp"])
    response = call(client, rpc("tools/call", {"name": "credits_balance", "arguments": {}}),
                    "tools/call", "credits_balance", HTTP_X_API_KEY=narrow)
    assert response.status_code == 403


def test_a_forged_caller_header_is_replaced(make_api_key: Any, client: Client) -> None:
    _, key = make_api_key(scopes=["*"])
    response = call(client, rpc("tools/call", {"name": "whoami", "arguments": {}}),
                    "tools/call", "whoami", HTTP_X_API_KEY=key,
                    HTTP_X_AINATIVE_CALLER=json.dumps({"email": "root@example.com"}))
    assert response.json()["result"]["content"][0]["text"] == "alice@example.com"


def test_garbage_bodies_never_500(make_api_key: Any, client: Client) -> None:
    _, key = make_api_key(scopes=["*"])
    for body in ("not json", "[]", "{}", json.dumps({"jsonrpc": "2.0", "id": 1}), "\x00"):
        response = client.post("/mcp", body, content_type="application/json",
                               HTTP_X_API_KEY=key, **HEADERS)
        assert response.status_code < 500, (body, response.status_code)


def test_revoking_the_grant_ends_mcp_access_on_the_next_request(
        api: APIClient, client: Client, bearer_client: APIClient) -> None:
    access = grant_tokens(api, make_client()[0])["access_token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
    assert call(client, rpc("tools/list"), "tools/list", **auth).status_code == 200
    [grant] = bearer_client.get(reverse("ainative_oauth_api:grants")).json()
    bearer_client.delete(reverse("ainative_oauth_api:grant", args=[grant["id"]]))
    assert call(client, rpc("tools/list"), "tools/list", **auth).status_code == 401


def test_a_foreign_origin_is_refused(make_api_key: Any, client: Client) -> None:
    _, key = make_api_key(scopes=["*"])
    foreign = call(client, rpc("tools/list"), "tools/list", HTTP_X_API_KEY=key,
                   HTTP_ORIGIN="https://evil.example")
    assert foreign.status_code == 403
    ours = call(client, rpc("tools/list"), "tools/list", HTTP_X_API_KEY=key,
                HTTP_ORIGIN=SITE)
    assert ours.status_code == 200
