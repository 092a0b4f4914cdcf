"""Tokens after the grant: our resources accept only their own, refresh rotation with
reuse detection, revocation (RFC 7009, the grant, the dashboard), introspection."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.exceptions import TokenInvalid
from ainative_auth.oauth_server.authentication import authenticate_oauth_token
from tests.oauth import API, MCP, grant_tokens, make_client, signed_in_browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user: Any) -> Any:
    return make_user("alice@example.com")


@pytest.fixture
def app(db: Any) -> Any:
    return make_client(name="Claude")[0]


def refresh(api: APIClient, client_id: str, token: str) -> Any:
    return api.post(reverse("ainative_oauth:token"), {
        "grant_type": "refresh_token", "client_id": client_id, "refresh_token": token})


def test_a_token_is_accepted_only_by_its_own_resource(alice: Any, app: Any,
                                                       api: APIClient) -> None:
    access = grant_tokens(api, app)["access_token"]
    user, auth = authenticate_oauth_token(access, "/mcp")
    assert user == alice and auth.has_scope("mcp") and auth.client_id == app.id
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(access, "/api/v1")


def test_a_token_for_the_api_is_refused_at_mcp(alice: Any, app: Any, api: APIClient) -> None:
    access = grant_tokens(api, app, scope="profile", resource=API)["access_token"]
    assert authenticate_oauth_token(access, "/api/v1")[0] == alice
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(access, "/mcp")


def test_alg_none_tampered_and_foreign_tokens_are_refused(alice: Any, app: Any,
                                                         api: APIClient) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    access = grant_tokens(api, app)["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    header = jwt.get_unverified_header(access)
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    head, payload, signature = access.split(".")
    bad = [
        jwt.encode(claims, None, algorithm="none"),
        jwt.encode(claims, forged_key, algorithm="RS256", headers={"kid": header["kid"]}),
        f"{head}.{payload[:-2]}AA.{signature}",
        jwt.encode({**claims, "aud": "https://elsewhere.example/mcp"}, forged_key,
                   algorithm="RS256", headers={"kid": header["kid"]}),
        "not-a-token",
    ]
    for token in bad:
        with pytest.raises(TokenInvalid):
            authenticate_oauth_token(token, "/mcp")


def test_refresh_rotates_and_a_replayed_refresh_token_ends_the_grant(
        alice: Any, app: Any, api: APIClient, auth_settings: Any) -> None:
    auth_settings(REFRESH_REUSE_INTERVAL=0)  # no grace: any replay is a stolen copy
    first = grant_tokens(api, app)
    second = refresh(api, app.id, first["refresh_token"])
    assert second.status_code == 200, second.content
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert authenticate_oauth_token(rotated["access_token"], "/mcp")[0] == alice
    replay = refresh(api, app.id, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # The thief's replay ended the grant: the client's current tokens are dead too.
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(rotated["access_token"], "/mcp")
    assert refresh(api, app.id, rotated["refresh_token"]).status_code == 400


def test_a_concurrent_retry_within_the_grace_interval_is_only_refused(
        alice: Any, app: Any, api: APIClient) -> None:
    first = grant_tokens(api, app)
    rotated = refresh(api, app.id, first["refresh_token"]).json()
    assert refresh(api, app.id, first["refresh_token"]).status_code == 400
    assert authenticate_oauth_token(rotated["access_token"], "/mcp")[0] == alice


def test_rfc7009_revocation_of_the_refresh_token_ends_its_access_tokens(
        alice: Any, app: Any, api: APIClient) -> None:
    tokens = grant_tokens(api, app)
    response = api.post(reverse("ainative_oauth:revoke"), {
        "token": tokens["refresh_token"], "client_id": app.id})
    assert response.status_code == 200
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(tokens["access_token"], "/mcp")


def test_revoking_the_grant_on_the_dashboard_ends_its_tokens(alice: Any, app: Any,
                                                            api: APIClient) -> None:
    from tests.web.helpers import csrf_token

    tokens = grant_tokens(api, app)
    browser = signed_in_browser()
    page = browser.get(reverse("ainative_auth_pages:dashboard"))
    html = page.content.decode()
    assert "Connected apps" in html and 'aria-label="Revoke access for Claude"' in html
    from ainative_auth.oauth_server.models import Grant

    grant = Grant.objects.get(user=alice)
    response = browser.post(reverse("ainative_oauth:revoke-app", args=[grant.pk]),
                            {"csrfmiddlewaretoken": csrf_token(page)})
    assert response.status_code == 303
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(tokens["access_token"], "/mcp")
    assert refresh(api, app.id, tokens["refresh_token"]).status_code == 400
    assert "Revoke access for Claude" not in browser.get(
        reverse("ainative_auth_pages:dashboard")).content.decode()


def test_grants_over_the_api_list_and_revoke(app: Any, api: APIClient,
                                             bearer_client: APIClient) -> None:
    tokens = grant_tokens(api, app)
    listed = bearer_client.get(reverse("ainative_oauth_api:grants"))
    assert listed.status_code == 200
    [grant] = listed.json()
    assert grant["client_name"] == "Claude" and grant["resources"] == [MCP]
    gone = bearer_client.delete(reverse("ainative_oauth_api:grant", args=[grant["id"]]))
    assert gone.status_code == 204
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(tokens["access_token"], "/mcp")
    again = bearer_client.delete(reverse("ainative_oauth_api:grant", args=[grant["id"]]))
    assert again.status_code == 404 and again.json()["error_code"] == "not_found"
    for malformed in ("0", "x" * 300, "%00"):
        response = bearer_client.delete(reverse("ainative_oauth_api:grant", args=[malformed]))
        assert response.status_code == 404


def test_someone_elses_grant_cannot_be_revoked(make_user: Any, app: Any, api: APIClient,
                                               bearer_client: APIClient) -> None:
    make_user("bob@example.com")
    grant_tokens(api, app, email="bob@example.com")
    from ainative_auth.oauth_server.models import Grant

    bobs = Grant.objects.get()
    response = bearer_client.delete(reverse("ainative_oauth_api:grant", args=[bobs.pk]))
    assert response.status_code == 404
    assert Grant.objects.live().count() == 1


def test_a_deactivated_user_s_tokens_stop_working(alice: Any, app: Any,
                                                  api: APIClient) -> None:
    access = grant_tokens(api, app)["access_token"]
    alice.is_active = False
    alice.save()
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(access, "/mcp")


def test_introspection_for_a_confidential_client(alice: Any, app: Any,
                                                 api: APIClient) -> None:
    access = grant_tokens(api, app)["access_token"]
    resource_server, secret = make_client(name="RS", public=False)
    basic = base64.b64encode(f"{resource_server.id}:{secret}".encode()).decode()
    response = api.post(reverse("ainative_oauth:introspect"), {"token": access},
                        HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True and body["client_id"] == app.id
    unauth = api.post(reverse("ainative_oauth:introspect"), {"token": access})
    assert unauth.status_code == 401


def test_key_rotation_publishes_both_keys_and_retiring_the_old_ends_its_tokens(
        alice: Any, app: Any, api: APIClient, settings: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    old = settings.IDP_OIDC_PRIVATE_KEYS
    access = grant_tokens(api, app)["access_token"]
    new_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    # Rotation, step 1: the new key signs (issued later), the old one still verifies.
    settings.IDP_OIDC_PRIVATE_KEYS = [*old, {"pem": new_pem, "issued_at": "2099-01-01T00:00:00"}]
    keys = api.get(reverse("ainative_oauth:jwks")).json()["keys"]
    assert len(keys) == 2
    assert authenticate_oauth_token(access, "/mcp")[0] == alice
    # Step 2: the old key is retired; tokens it signed stop at once.
    settings.IDP_OIDC_PRIVATE_KEYS = [{"pem": new_pem}]
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(access, "/mcp")
    fresh = grant_tokens(api, app, scope="mcp credits:read")["access_token"]
    assert authenticate_oauth_token(fresh, "/mcp")[0] == alice
    assert len(api.get(reverse("ainative_oauth:jwks")).json()["keys"]) == 1


def test_each_signing_key_is_parsed_once_however_many_tokens_it_signs(
        alice: Any, app: Any, api: APIClient, settings: Any, monkeypatch: Any) -> None:
    """Parsing an RSA private key costs tens of milliseconds: once per key and process,
    not once per token (the library alone parses it for every token it signs)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    settings.IDP_OIDC_PRIVATE_KEYS = [{"pem": pem}]
    parsed: list[bytes] = []
    parse = serialization.load_pem_private_key

    def counting(data: bytes, *args: Any, **kwargs: Any) -> Any:
        parsed.append(data)
        return parse(data, *args, **kwargs)

    monkeypatch.setattr(serialization, "load_pem_private_key", counting)
    first = grant_tokens(api, app)
    again = refresh(api, app.id, first["refresh_token"])
    assert again.status_code == 200, again.content
    third = refresh(api, app.id, again.json()["refresh_token"])
    assert third.status_code == 200, third.content
    tokens = {first["access_token"], again.json()["access_token"], third.json()["access_token"]}
    assert len(tokens) == 3
    for token in tokens:
        assert authenticate_oauth_token(token, "/mcp")[0] == alice
    assert len(api.get(reverse("ainative_oauth:jwks")).json()["keys"]) == 1
    assert parsed.count(pem.encode()) == 1


def test_a_token_naming_several_audiences_is_refused(alice: Any, app: Any, api: APIClient,
                                                     settings: Any) -> None:
    """Ours carry one `aud`; a token also naming another resource (signed with our own key:
    the worst case) is not accepted as one for ours."""
    from allauth.core.internal import jwkkit

    access = grant_tokens(api, app)["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    jwk, private_key = jwkkit.load_jwk_from_pem(settings.IDP_OIDC_PRIVATE_KEYS[0]["pem"])
    both = jwt.encode({**claims, "aud": [MCP, API]}, private_key, algorithm="RS256",
                      headers={"kid": jwk["kid"]})
    # Even with a row, as if we had issued it: the audience check itself refuses it.
    import hashlib
    from datetime import timedelta

    from allauth.idp.oidc.models import Token
    from django.utils import timezone

    Token.objects.create(type="at", hash=hashlib.sha256(both.encode()).hexdigest(),
                         client=app, user=alice, scopes="mcp",
                         expires_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(TokenInvalid):
        authenticate_oauth_token(both, "/mcp")


# --- the API itself is a resource server: its tokens, limited by their scopes --------------


def test_the_api_accepts_a_token_issued_for_it_and_its_scopes_limit_it(
    alice: Any, app: Any, api: APIClient, verify: Any
) -> None:
    """A token for ``<site>/api/v1`` reads ``users/me`` (any credential may) and the
    example's credits with ``credits:read``; a view it holds no scope for is a 403
    ``insufficient_scope`` naming the scope, and one closed to delegated credentials
    (session management) a 403 too: a delegated token is not the user's session."""
    verify(alice)
    access = grant_tokens(api, app, scope="profile credits:read",
                          resource=API)["access_token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get(reverse("ainative_auth:me")).json()["email"] == "alice@example.com"
    assert client.get("/api/v1/public/credits/balance").status_code == 200
    created = client.post(reverse("ainative_auth:api-keys"), {"name": "minted-by-app"},
                          format="json")
    assert created.status_code == 403 and created.json()["error_code"] == "insufficient_scope"
    assert 'scope="keys:write"' in created["WWW-Authenticate"]
    assert client.post(reverse("ainative_auth:logout-all")).status_code == 403
    from ainative_auth.models import APIKey

    assert not APIKey.objects.filter(user=alice).exists()


def test_a_token_for_another_resource_is_a_401_at_the_api(
    alice: Any, app: Any, api: APIClient
) -> None:
    access = grant_tokens(api, app)["access_token"]  # issued for /mcp
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    answer = client.get(reverse("ainative_auth:me"))
    assert answer.status_code == 401 and answer.json()["error_code"] == "token_invalid"
    assert 'error="invalid_token"' in answer["WWW-Authenticate"]
