"""The authorization code flow with PKCE: consent, the code, the token, and every way a
request goes wrong (nothing issued, never a 500)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.oauth import (
    API,
    MCP,
    REDIRECT_URI,
    SITE,
    authorize_url,
    consent_form,
    decide,
    exchange,
    make_client,
    pkce,
    query_of,
    signed_in_browser,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user: Any) -> Any:
    return make_user("alice@example.com")


@pytest.fixture
def app(db: Any) -> Any:
    return make_client()[0]


def test_a_browser_without_a_session_is_sent_to_login_and_back(app: Any) -> None:
    from tests.web.helpers import browser_client

    url = authorize_url(app.id, pkce()[1])
    response = browser_client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
    assert query_of(response["Location"])["next"] == url


def test_allow_gives_a_code_with_state_and_iss_then_a_jwt_for_the_resource(
        alice: Any, app: Any, api: APIClient) -> None:
    verifier, challenge = pkce()
    got = decide(signed_in_browser(), authorize_url(app.id, challenge))
    assert got["state"] == "st4te"
    assert got["iss"] == SITE
    response = exchange(api, app.id, got["code"], verifier)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"].lower() == "bearer" and body["refresh_token"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == SITE
    assert claims["aud"] == MCP
    assert claims["sub"] == str(alice.pk)
    assert claims["client_id"] == app.id
    assert claims["scope"] == "mcp"
    assert claims["exp"] and claims["jti"]
    assert response["Cache-Control"] == "no-store"


def test_the_consent_page_names_client_redirect_host_scopes_and_resource(
        alice: Any, app: Any) -> None:
    page = signed_in_browser().get(authorize_url(app.id, pkce()[1], scope="mcp credits:read"))
    html = page.content.decode()
    assert page.status_code == 200
    for text in ("Test app", "127.0.0.1", "Read your credit balance", MCP, ">Allow<", ">Deny<"):
        assert text in html, text
    assert page["Content-Security-Policy"]


def test_deny_sends_access_denied_with_state_and_iss(alice: Any, app: Any) -> None:
    got = decide(signed_in_browser(), authorize_url(app.id, pkce()[1]), action="deny")
    assert got == {"error": "access_denied", "state": "st4te", "iss": SITE}


def test_consent_is_remembered_only_for_the_same_client_scopes_and_resource(
        alice: Any, app: Any) -> None:
    browser = signed_in_browser()
    decide(browser, authorize_url(app.id, pkce()[1]))
    again = browser.get(authorize_url(app.id, pkce()[1]))
    assert again.status_code == 302 and "code" in query_of(again["Location"])
    for url in (authorize_url(app.id, pkce()[1], scope="mcp credits:read"),
                authorize_url(app.id, pkce()[1], resource=API),
                authorize_url(make_client(name="Other")[0].id, pkce()[1])):
        assert browser.get(url).status_code == 200  # the consent page again


def test_pkce_is_required_even_for_a_confidential_client(alice: Any) -> None:
    confidential, _ = make_client(public=False)
    response = signed_in_browser().get(authorize_url(confidential.id, None))
    assert response.status_code == 302
    got = query_of(response["Location"])
    assert got["error"] == "invalid_request" and got["iss"] == SITE and got["state"] == "st4te"


def test_plain_pkce_is_refused(alice: Any, app: Any) -> None:
    url = authorize_url(app.id, None, code_challenge="x" * 43, code_challenge_method="plain")
    got = query_of(signed_in_browser().get(url)["Location"])
    assert got["error"] and got["iss"] == SITE


def test_an_unknown_resource_is_invalid_target(alice: Any, app: Any) -> None:
    url = authorize_url(app.id, pkce()[1], resource="https://evil.example/mcp")
    got = query_of(signed_in_browser().get(url)["Location"])
    assert got["error"] == "invalid_target" and got["iss"] == SITE


@pytest.mark.parametrize("redirect_uri", [
    "http://127.0.0.1/cb/extra", "http://127.0.0.1/cb?x=1", "https://127.0.0.1/cb",
    "http://evil.example/cb", "http://127.0.0.1.evil.example/cb"])
def test_a_mismatched_redirect_is_shown_never_followed(
        alice: Any, app: Any, redirect_uri: str) -> None:
    response = signed_in_browser().get(
        authorize_url(app.id, pkce()[1], redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert "Location" not in response


def test_a_loopback_redirect_may_change_its_port_only(alice: Any, app: Any,
                                                      api: APIClient) -> None:
    verifier, challenge = pkce()
    uri = "http://127.0.0.1:53122/cb"
    got = decide(signed_in_browser(), authorize_url(app.id, challenge, redirect_uri=uri))
    assert exchange(api, app.id, got["code"], verifier, redirect_uri=uri).status_code == 200


def test_an_unknown_client_is_shown_an_error_page(alice: Any) -> None:
    response = signed_in_browser().get(authorize_url("no-such-client", pkce()[1]))
    assert response.status_code == 400


def test_a_wrong_verifier_is_invalid_grant_and_issues_nothing(
        alice: Any, app: Any, api: APIClient) -> None:
    from allauth.idp.oidc.models import Token

    got = decide(signed_in_browser(), authorize_url(app.id, pkce()[1]))
    response = exchange(api, app.id, got["code"], pkce()[0])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert not Token.objects.filter(type__in=["at", "rt"]).exists()


def test_a_reused_code_is_refused_and_ends_what_it_issued(
        alice: Any, app: Any, api: APIClient,
        django_capture_on_commit_callbacks: Any) -> None:
    from allauth.idp.oidc.models import Token

    verifier, challenge = pkce()
    got = decide(signed_in_browser(), authorize_url(app.id, challenge))
    assert exchange(api, app.id, got["code"], verifier).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        again = exchange(api, app.id, got["code"], verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert not Token.objects.filter(type__in=["at", "rt"]).exists()


def test_a_token_request_for_another_resource_than_granted_is_invalid_target(
        alice: Any, app: Any, api: APIClient) -> None:
    verifier, challenge = pkce()
    got = decide(signed_in_browser(), authorize_url(app.id, challenge))
    response = exchange(api, app.id, got["code"], verifier, resource=API)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_a_tampered_consent_form_is_refused(alice: Any, app: Any) -> None:
    browser = signed_in_browser()
    form = consent_form(browser.get(authorize_url(app.id, pkce()[1])))
    response = browser.post(form["action"], {"request": form["request"] + "x",
                                             "action": "allow",
                                             "csrfmiddlewaretoken": form["csrfmiddlewaretoken"]})
    assert response.status_code == 400 and "Location" not in response


def test_the_metadata_names_every_endpoint_with_issuer_site_url(api: APIClient) -> None:
    for name in ("metadata", "openid-configuration"):
        body = api.get(reverse(f"ainative_oauth:{name}")).json()
        assert body["issuer"] == SITE
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri",
                      "registration_endpoint", "introspection_endpoint", "revocation_endpoint"):
            assert body[field].startswith(SITE + "/"), field
        assert body["response_types_supported"] == ["code"]
        assert body["code_challenge_methods_supported"] == ["S256"]
        assert body["client_id_metadata_document_supported"] is True
        assert body["authorization_response_iss_parameter_supported"] is True
        assert "private_key_jwt" in body["token_endpoint_auth_methods_supported"]
        assert {"mcp", "credits:read"} <= set(body["scopes_supported"])


def test_the_jwks_publishes_the_signing_key(alice: Any, app: Any, api: APIClient) -> None:
    keys = api.get(reverse("ainative_oauth:jwks")).json()["keys"]
    verifier, challenge = pkce()
    got = decide(signed_in_browser(), authorize_url(app.id, challenge))
    access = exchange(api, app.id, got["code"], verifier).json()["access_token"]
    assert jwt.get_unverified_header(access)["kid"] in {key["kid"] for key in keys}
    assert REDIRECT_URI
