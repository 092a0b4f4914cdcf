"""Clients no one here wrote, against a served example project (gunicorn, its real
settings): the official ``mcp`` SDK's OAuth providers and fastmcp's client, given only the
``/mcp`` URL, through discovery, registration, PKCE, consent, token, tools and step-up.

The consent is given by a ``requests`` session signed in through the login page (the
browser test clicks "Allow" in Chromium: tests/web/test_consent_browser.py). Each client
run is bounded by a timeout of a few seconds.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

from tests.conftest import PASSWORD
from tests.servers import ROOT, Server, migrated_sqlite_url, served_example, site_of

mcp = pytest.importorskip("mcp")
httpx2 = pytest.importorskip("httpx2")

from mcp import Client  # noqa: E402
from mcp.client.auth import OAuthClientProvider  # noqa: E402
from mcp.client.auth.extensions.client_credentials import (  # noqa: E402
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared.auth import (  # noqa: E402
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

TIMEOUT = 20  # seconds for one whole client run (they take about one)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite_url(tmp_path_factory.mktemp("mcp-clients") / "db.sqlite3")


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[Server]:
    with served_example(database) as base:
        yield base


site = site_of


def in_server_db(database: str, code: str) -> Any:
    """Run ``code`` (defining ``result``) in the example project on ``database``."""
    script = ("import django, json, os\ndjango.setup()\n" + code
              + "\nprint(json.dumps(result))")
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": database,
             "DJANGO_SETTINGS_MODULE": "example_project.settings"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


_users: set[str] = set()


def signed_in(server: Server, email: str) -> requests.Session:
    session = requests.Session()
    base = site(server)
    if email not in _users:
        response = session.post(f"{base}/api/v1/auth/register", timeout=10,
                                json={"email": email, "password": PASSWORD, "name": "T"})
        assert response.status_code == 201, response.text
        _users.add(email)
    page = session.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    done = session.post(f"{base}/login", timeout=10, allow_redirects=False,
                        data={"email": email, "password": PASSWORD,
                              "csrfmiddlewaretoken": token.group(1)},
                        headers={"Referer": f"{base}/login"})
    assert done.status_code in (302, 303), done.text[:300]
    return session


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Consenting:
    """The SDK's redirect and callback handlers, played by a signed-in person who clicks
    "Allow" on the consent page (and counts how often it was shown)."""

    def __init__(self, session: requests.Session, base: str) -> None:
        self.session, self.base = session, base
        self.result: dict[str, str] = {}
        self.location = ""
        self.consents = 0

    async def redirect(self, url: str) -> None:
        page = self.session.get(url, timeout=10, allow_redirects=False)
        if page.status_code == 200:
            self.consents += 1
            action = re.search(r'<form method="post" action="([^"]+)" class="actions">',
                               page.text)
            signed = re.search(r'name="request" value="([^"]+)"', page.text)
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert action and signed and csrf, page.text[:500]
            page = self.session.post(
                self.base + unescape(action.group(1)), allow_redirects=False, timeout=10,
                data={"request": signed.group(1), "action": "allow",
                      "csrfmiddlewaretoken": csrf.group(1)},
                headers={"Referer": url})
        assert page.status_code == 302, page.text[:500]
        self.location = page.headers["Location"]
        query = parse_qs(urlparse(self.location).query)
        self.result = {key: values[0] for key, values in query.items()}

    async def callback(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=self.result["code"], state=self.result.get("state"),
                                       iss=self.result.get("iss"))


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


async def tools_and_call(url: str, auth: Any, tool: str) -> tuple[set[str], Any]:
    async with httpx2.AsyncClient(auth=auth, timeout=10) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        listed = await client.list_tools()
        result = await client.call_tool(tool, {})
        return {t.name for t in listed.tools}, result


def test_the_sdk_given_only_the_url_signs_in_and_calls_whoami(server: Server) -> None:
    base = site(server)
    person = Consenting(signed_in(server, "sdk@example.com"), base)
    storage = MemoryStorage()
    auth = OAuthClientProvider(
        f"{base}/mcp", OAuthClientMetadata(redirect_uris=["http://127.0.0.1:1/cb"],
                                           client_name="SDK test client"),
        storage, person.redirect, person.callback)
    names, result = run(tools_and_call(f"{base}/mcp", auth, "whoami"))
    assert names == {"whoami", "credits_balance"}
    assert result.content[0].text == "sdk@example.com"
    assert person.result["iss"] == base and person.consents == 1
    assert storage.client is not None and storage.tokens is not None
    assert storage.tokens.scope == "mcp"


def test_the_sdk_steps_up_after_insufficient_scope(server: Server) -> None:
    base = site(server)
    person = Consenting(signed_in(server, "stepup@example.com"), base)
    storage = MemoryStorage()
    auth = OAuthClientProvider(
        f"{base}/mcp", OAuthClientMetadata(redirect_uris=["http://127.0.0.1:1/cb"],
                                           client_name="Step-up client"),
        storage, person.redirect, person.callback)
    _, result = run(tools_and_call(f"{base}/mcp", auth, "credits_balance"))
    assert result.structured_content["currency"] == "credits"
    assert person.consents == 2  # "mcp" first, then "mcp credits:read"
    assert storage.tokens is not None
    assert set((storage.tokens.scope or "").split()) == {"mcp", "credits:read"}


def test_a_token_for_another_resource_is_refused_at_mcp(server: Server) -> None:
    base = site(server)
    person = Consenting(signed_in(server, "other@example.com"), base)
    storage = MemoryStorage()
    auth = OAuthClientProvider(
        f"{base}/mcp", OAuthClientMetadata(redirect_uris=["http://127.0.0.1:1/cb"]),
        storage, person.redirect, person.callback)
    run(tools_and_call(f"{base}/mcp", auth, "whoami"))
    assert storage.client is not None
    # The same client, the code flow by hand for the API's resource instead.
    token = code_flow(base, person, storage.client.client_id, f"{base}/api/v1", "profile")
    refused = requests.post(f"{base}/mcp", timeout=10, json={"jsonrpc": "2.0", "id": 1,
                                                              "method": "tools/list"},
                            headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


def code_flow(base: str, person: Consenting, client_id: str, resource: str, scope: str) -> str:
    """The authorization code flow by hand (PKCE, consent by ``person``): an access token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id, "scope": scope,
                       "redirect_uri": "http://127.0.0.1:1/cb", "state": "s",
                       "code_challenge": challenge, "code_challenge_method": "S256",
                       "resource": resource})
    run(person.redirect(f"{base}/oauth/authorize?{query}"))
    response = requests.post(f"{base}/oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "code": person.result["code"],
        "client_id": client_id, "redirect_uri": "http://127.0.0.1:1/cb",
        "code_verifier": verifier})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_mcp_authlab_grades_the_server_a_with_no_must_failure(server: Server) -> None:
    """mcp-authlab 0.2.2, fed tokens we minted (its own login needs an authorization
    server that approves without a person): no MUST fails, grade A. Over plain http on
    loopback TLS-01 is its one warning; over https it scores 100."""
    base = site(server)
    person = Consenting(signed_in(server, "authlab@example.com"), base)
    client = requests.post(f"{base}/oauth/register", timeout=10, json={
        "redirect_uris": ["http://127.0.0.1:1/cb"], "client_name": "authlab"}).json()
    token = code_flow(base, person, client["client_id"], f"{base}/mcp", "mcp")
    foreign = code_flow(base, person, client["client_id"], f"{base}/api/v1", "profile")
    done = subprocess.run(  # noqa: S603 - the scanner installed with the dev extra
        [str(Path(sys.executable).with_name("mcp-authlab")), "scan", f"{base}/mcp",
         "--token", token, "--foreign-token", foreign, "--tool", "credits_balance",
         "--format", "json", "--no-login"],
        capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    assert report["must_failures"] == [] and report["critical_failures"] == [], report
    assert report["grade"] == "A", report["reasons"]
    assert report["counts"]["fail"] == 0


@pytest.fixture(scope="module")
def machines(server: Server, database: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    signed_in(server, "robots@example.com")  # the owner
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    import jwt

    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    made = in_server_db(database, f"""
from allauth.idp.oidc.models import Client
from ainative_auth.models import AccountEmail
owner = AccountEmail.objects.get(email="robots@example.com").user
secret_client = Client(name="cron", type="confidential", owner=owner)
secret_client.set_secret("s3cret-s3cret")
secret_client.set_scopes(["mcp", "credits:read"])
secret_client.set_grant_types(["client_credentials"])
secret_client.save()
jwt_client = Client(name="jwt-bot", type="confidential", owner=owner)
jwt_client.set_scopes(["mcp"])
jwt_client.set_grant_types(["client_credentials"])
jwt_client.data = {{"client_metadata": {{"token_endpoint_auth_method": "private_key_jwt",
                                        "jwks": {{"keys": [{json.dumps(jwk)}]}}}}}}
jwt_client.save()
result = {{"secret": secret_client.id, "jwt": jwt_client.id}}
""")
    return {**made, "pem": pem}


def test_client_credentials_provider_gets_a_token(server: Server,
                                                  machines: dict[str, Any]) -> None:
    base = site(server)
    auth = ClientCredentialsOAuthProvider(f"{base}/mcp", MemoryStorage(), machines["secret"],
                                          "s3cret-s3cret", scope="mcp credits:read",
                                          issuer=base)
    _, result = run(tools_and_call(f"{base}/mcp", auth, "whoami"))
    assert result.content[0].text == "robots@example.com"


def test_private_key_jwt_provider_gets_a_token(server: Server,
                                               machines: dict[str, Any]) -> None:
    base = site(server)
    params = SignedJWTParameters(issuer=machines["jwt"], subject=machines["jwt"],
                                 signing_key=machines["pem"], signing_algorithm="ES256")
    auth = PrivateKeyJWTOAuthProvider(f"{base}/mcp", MemoryStorage(), machines["jwt"],
                                      params.create_assertion_provider(), scope="mcp",
                                      issuer=base)
    _, result = run(tools_and_call(f"{base}/mcp", auth, "whoami"))
    assert result.content[0].text == "robots@example.com"


def deliver(location: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(location, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.05)


def test_fastmcp_client_does_the_same_flow(server: Server) -> None:
    fastmcp = pytest.importorskip("fastmcp")
    from fastmcp.client.auth import OAuth

    base = site(server)
    session = signed_in(server, "fastmcp@example.com")

    class Headless(OAuth):  # type: ignore[misc]
        async def redirect_handler(self, authorization_url: str) -> None:
            person = Consenting(session, base)
            await person.redirect(authorization_url)
            # fastmcp starts its loopback callback server after this returns: deliver the
            # code to it from a thread, once it listens.
            threading.Thread(target=deliver, args=(person.location,), daemon=True).start()

    async def go() -> str:
        async with fastmcp.Client(f"{base}/mcp", auth=Headless(scopes=["mcp"])) as client:
            tools = await client.list_tools()
            assert {tool.name for tool in tools} == {"whoami", "credits_balance"}
            result = await client.call_tool("whoami", {})
            return str(result.content[0].text)

    assert run(go()) == "fastmcp@example.com"
