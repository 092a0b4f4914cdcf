"""The OAuth server over several processes (PostgreSQL + Redis): a grant revoked on one
server ends its tokens on the other at the next request, and a code is used once whichever
process receives it."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

from tests.servers import Server, api, start_servers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PASSWORD = "two servers, one issuer"
SITE = "http://auth.example.test"  # one SITE_URL (issuer) for both processes
CALLBACK = "http://127.0.0.1:1/cb"


@pytest.fixture(scope="module")
def servers(django_db_setup: Any) -> Iterator[list[Server]]:
    with start_servers(2, {"SITE_URL": SITE}) as urls:
        yield urls


def browser(base: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    done = session.post(f"{base}/login", allow_redirects=False, timeout=10,
                        data={"email": email, "password": PASSWORD,
                              "csrfmiddlewaretoken": token.group(1)},
                        headers={"Referer": f"{base}/login"})
    assert done.status_code in (302, 303)
    return session


def code_for(base: str, session: requests.Session, client_id: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id, "scope": "mcp",
                       "redirect_uri": CALLBACK, "state": "s", "code_challenge": challenge,
                       "code_challenge_method": "S256", "resource": f"{SITE}/mcp"})
    page = session.get(f"{base}/oauth/authorize?{query}", timeout=10, allow_redirects=False)
    if page.status_code == 302:  # the consent is remembered
        return parse_qs(urlparse(page.headers["Location"]).query)["code"][0], verifier
    action = re.search(r'<form method="post" action="([^"]+)" class="actions">', page.text)
    signed = re.search(r'name="request" value="([^"]+)"', page.text)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert action and signed and csrf, page.text[:300]
    answer = session.post(base + unescape(action.group(1)), allow_redirects=False, timeout=10,
                          data={"request": signed.group(1), "action": "allow",
                                "csrfmiddlewaretoken": csrf.group(1)},
                          headers={"Referer": f"{base}/oauth/authorize"})
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    return code, verifier


def tools(base: str, access: str) -> int:
    return requests.post(f"{base}/mcp", timeout=10, headers={
        "Authorization": f"Bearer {access}", "Accept": "application/json, text/event-stream",
        "Mcp-Method": "tools/list", "MCP-Protocol-Version": "2026-07-28"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}}}).status_code


def test_a_grant_revoked_on_one_process_ends_its_tokens_on_the_other(
        servers: list[Server]) -> None:
    a, b = servers
    email = "two@example.com"
    session_tokens = api(a, "POST", "auth/register",
                         json={"email": email, "password": PASSWORD, "name": "Two"}).json()
    client = requests.post(f"{a}/oauth/register", json={
        "redirect_uris": [CALLBACK], "client_name": "Two-process app"}, timeout=10).json()
    code, verifier = code_for(a, browser(a, email), client["client_id"])
    token_data = {"grant_type": "authorization_code", "client_id": client["client_id"],
                  "code": code, "code_verifier": verifier, "redirect_uri": CALLBACK}
    issued = requests.post(f"{b}/oauth/token", data=token_data, timeout=10)
    assert issued.status_code == 200, issued.text
    # The same code at the other process: refused (one code, one use, one database).
    again = requests.post(f"{a}/oauth/token", data=token_data, timeout=10)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # ...and its reuse ended what the code had issued.
    access = issued.json()["access_token"]
    assert tools(a, access) == 401 and tools(b, access) == 401

    code, verifier = code_for(a, browser(a, email), client["client_id"])
    access = requests.post(f"{b}/oauth/token", timeout=10, data={
        **token_data, "code": code, "code_verifier": verifier}).json()["access_token"]
    assert tools(a, access) == 200 and tools(b, access) == 200
    bearer = {"Authorization": f"Bearer {session_tokens['access_token']}"}
    [grant] = api(b, "GET", "oauth/grants", headers=bearer).json()
    assert api(b, "DELETE", f"oauth/grants/{grant['id']}", headers=bearer).status_code == 204
    assert tools(a, access) == 401
    assert tools(b, access) == 401
