"""Hostile and malformed input at the OAuth server's endpoints: RFC errors or our error
body, never a 500, nothing issued."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.oauth import authorize_url, make_client, pkce, signed_in_browser

pytestmark = pytest.mark.django_db

GARBAGE = ["", "\x00", "a" * 5000, "%", "é", "[]", "{}", "null", "\ud800".encode(
    "utf-8", "surrogatepass").decode("latin-1")]


def test_the_token_endpoint_never_500s(client: Client) -> None:
    from allauth.idp.oidc.models import Token

    app, _ = make_client()
    fields = ["grant_type", "code", "client_id", "code_verifier", "redirect_uri",
              "refresh_token", "resource", "scope", "client_assertion",
              "client_assertion_type"]
    for value in GARBAGE:
        for grant in ("authorization_code", "refresh_token", "client_credentials", value):
            body = {name: value for name in fields}
            body.update(grant_type=grant, client_id=app.id if value == "" else value)
            response = client.post(reverse("ainative_oauth:token"), body)
            assert response.status_code in (400, 401, 429), (grant, value, response.content)
            assert "error" in response.json() or "error_code" in response.json()
    for raw in (b"\xff\xfe", b"grant_type=authorization_code&code=%ZZ", b"a=" + b"b" * 20000):
        response = client.post(reverse("ainative_oauth:token"), raw,
                               content_type="application/x-www-form-urlencoded")
        assert response.status_code < 500
    assert not Token.objects.filter(type__in=["at", "rt"]).exists()


def test_an_unknown_client_at_the_token_endpoint_is_invalid_client(client: Client) -> None:
    response = client.post(reverse("ainative_oauth:token"), {
        "grant_type": "authorization_code", "client_id": "nobody", "code": "x",
        "code_verifier": "y" * 43, "redirect_uri": "http://127.0.0.1/cb"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_registration_revocation_and_introspection_never_500(client: Client) -> None:
    for value in GARBAGE:
        for name in ("register", "revoke", "introspect"):
            for body, kind in ((value, "application/json"),
                               (f"token={value}&token_type_hint={value}",
                                "application/x-www-form-urlencoded"),
                               (json.dumps({"redirect_uris": [value],
                                            "client_name": value}), "application/json")):
                response = client.post(reverse(f"ainative_oauth:{name}"), body,
                                       content_type=kind)
                assert response.status_code < 500, (name, value, response.status_code)


def test_the_authorization_endpoint_never_500s(make_user: Any) -> None:
    make_user("alice@example.com")
    app, _ = make_client()
    browser = signed_in_browser()
    challenge = pkce()[1]
    for value in GARBAGE:
        for param in ("client_id", "redirect_uri", "scope", "state", "resource",
                      "code_challenge", "code_challenge_method", "response_type", "prompt"):
            url = (authorize_url(value, challenge) if param == "client_id"
                   else authorize_url(app.id, challenge, **{param: value}))
            response = browser.get(url)
            assert response.status_code in (200, 302, 400), (param, value, response.status_code)
        response = browser.post(reverse("ainative_oauth:authorize"),
                                {"request": value, "action": "allow"})
        assert response.status_code in (400, 403), (value, response.status_code)
    unsigned_in = Client()
    assert unsigned_in.post(reverse("ainative_oauth:authorize"),
                            {"request": "x", "action": "allow"}).status_code in (401, 403)


def test_the_metadata_and_keys_answer_only_reads(client: Client) -> None:
    for name in ("metadata", "openid-configuration", "jwks"):
        assert client.post(reverse(f"ainative_oauth:{name}")).status_code == 405
        assert client.get(reverse(f"ainative_oauth:{name}")).status_code == 200
