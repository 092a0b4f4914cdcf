"""Helpers of the OAuth server tests: clients, PKCE, a signed-in browser that consents."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from django.test import Client as BrowserClient
from django.urls import reverse

from tests.web.helpers import browser_client, sign_in

REDIRECT_URI = "http://127.0.0.1/cb"
SITE = "http://localhost:8000"  # the example project's SITE_URL under the test settings
MCP = f"{SITE}/mcp"
API = f"{SITE}/api/v1"


def make_client(*, name: str = "Test app", redirect_uris: list[str] | None = None,
                public: bool = True, owner: Any = None, grant_types: list[str] | None = None,
                scopes: list[str] | None = None, metadata: dict[str, Any] | None = None,
                ) -> tuple[Any, str]:
    """An OAuth client in the library's table; returns (client, secret)."""
    from allauth.idp.oidc.models import Client

    client = Client(name=name, type=Client.Type.PUBLIC if public else Client.Type.CONFIDENTIAL,
                    owner=owner)
    secret = secrets.token_urlsafe(24)
    client.set_secret(secret)
    client.set_redirect_uris(redirect_uris if redirect_uris is not None else [REDIRECT_URI])
    client.set_scopes(scopes or ["mcp", "credits:read", "profile"])
    client.set_grant_types(grant_types or ["authorization_code", "refresh_token"])
    if metadata is not None:
        client.data = {"client_metadata": metadata}
    client.save()
    return client, secret


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_url(client_id: str, challenge: str | None, *, scope: str = "mcp",
                  resource: str | None = MCP, state: str = "st4te",
                  redirect_uri: str = REDIRECT_URI, **extra: str) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": state, **extra}
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    if resource is not None:
        params["resource"] = resource
    return f"{reverse('ainative_oauth:authorize')}?{urlencode(params)}"


def signed_in_browser(email: str = "alice@example.com") -> BrowserClient:
    browser = browser_client()
    assert sign_in(browser, email).status_code in (302, 303)
    return browser


def consent_form(response: Any) -> dict[str, str]:
    html = response.content.decode()
    action = re.search(r'<form method="post" action="([^"]+)" class="actions">', html)
    signed = re.search(r'name="request" value="([^"]+)"', html)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert action and signed and csrf, "no consent form on the page"
    return {"action": unescape(action.group(1)), "request": signed.group(1),
            "csrfmiddlewaretoken": csrf.group(1)}


def decide(browser: BrowserClient, url: str, action: str = "allow") -> dict[str, str]:
    """Open ``url`` (the authorize request), click ``action`` on the consent page, return
    the query of the redirect back to the client."""
    page = browser.get(url)
    assert page.status_code == 200, page.content[:500]
    form = consent_form(page)
    answer = browser.post(form["action"], {"request": form["request"], "action": action,
                                           "csrfmiddlewaretoken": form["csrfmiddlewaretoken"]})
    assert answer.status_code == 302, answer.content[:500]
    return query_of(answer["Location"])


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def exchange(api: Any, client_id: str, code: str, verifier: str, *,
             redirect_uri: str = REDIRECT_URI, **extra: str) -> Any:
    return api.post(reverse("ainative_oauth:token"), {
        "grant_type": "authorization_code", "client_id": client_id, "code": code,
        "code_verifier": verifier, "redirect_uri": redirect_uri, **extra}, format=None)


def grant_tokens(api: Any, client: Any, *, scope: str = "mcp", resource: str | None = MCP,
                 email: str = "alice@example.com") -> dict[str, Any]:
    """The whole code flow for ``client`` as ``email``: the token response."""
    verifier, challenge = pkce()
    browser = signed_in_browser(email)
    got = decide(browser, authorize_url(client.id, challenge, scope=scope, resource=resource))
    response = exchange(api, client.id, got["code"], verifier)
    assert response.status_code == 200, response.content
    return response.json()
