"""LinkedIn through allauth's OpenID Connect provider, against the stand-in issuer: the ID
token is checked against the issuer's JWKS, ``iss`` exactly, ``aud``, ``exp`` and our
nonce; ``alg: none`` and HMAC tokens are refused; only a boolean ``email_verified`` counts
(R67, R70, F26)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from allauth.socialaccount.models import SocialAccount
from cryptography.hazmat.primitives import serialization
from django.contrib.auth import get_user_model

from tests.conftest import assert_error, error_code
from tests.oauth_standins import (
    CALLBACK,
    DROP,
    FakeOIDC,
    Fault,
    OIDCUser,
    authorize,
    callback,
    log_in_with,
    other_rsa_key,
)

pytestmark = pytest.mark.django_db


User = get_user_model()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def assert_refused(response: Any) -> None:
    assert_error(response, 401, "invalid_id_token")
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()


def test_the_discovery_document_gives_the_endpoints(api, linkedin):
    started = authorize(api, "linkedin").json()

    assert started["authorization_url"].startswith(f"{linkedin.url}{linkedin.authorize_path}?")
    assert linkedin.requests_to(linkedin.discovery_path)


def test_the_nonce_we_issued_must_come_back_in_the_id_token(api, linkedin):
    response = log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1"))
    opened = linkedin.requests_to(linkedin.authorize_path)[0]

    assert response.status_code == 200
    assert opened.arg("nonce")
    assert opened.arg("scope") == "openid profile email"  # least privilege (R73)


def test_a_wrong_nonce_is_refused(api, linkedin):
    linkedin.claim_overrides = {"nonce": "someone-elses-nonce"}

    assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))


def test_a_missing_nonce_is_refused_when_we_issued_one(api, linkedin):
    linkedin.claim_overrides = {"nonce": DROP}

    assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))


def test_without_our_state_there_is_no_nonce_to_check(api, linkedin):
    code = linkedin.grant_code(OIDCUser(sub="s1"))

    response = callback(api, "linkedin", code=code)

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("overrides", [
    {"aud": "another-client"},
    {"aud": ["another-client"]},
    {"aud": [FakeOIDC.client_id, "another-client"]},  # several audiences, no azp
    {"aud": DROP},
    {"iss": "https://evil.example/oauth"},
    {"exp": int(time.time()) - 3600},
    {"exp": DROP},
    {"iat": DROP},
    {"sub": DROP},
    {"sub": ""},
    {"sub": 12345},
    {"sub": "a\x00b"},
], ids=["aud", "aud-list", "aud-many-no-azp", "no-aud", "iss", "expired", "no-exp",
        "no-iat", "no-sub", "empty-sub", "numeric-sub", "nul-sub"])
def test_an_id_token_with_bad_claims_is_refused(api, linkedin, overrides):
    linkedin.claim_overrides = overrides

    assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))


def test_the_issuer_must_match_exactly(api, linkedin):
    linkedin.claim_overrides = {"iss": linkedin.issuer + "/"}

    assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))


def test_several_audiences_pass_when_azp_is_us(api, linkedin):
    linkedin.claim_overrides = {"aud": [FakeOIDC.client_id, "other"], "azp": FakeOIDC.client_id}

    assert log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")).status_code == 200


def test_a_tampered_id_token_is_refused(api, linkedin):
    def tampered(claims: dict[str, Any]) -> str:
        token = jwt.encode(claims, linkedin.private_key, algorithm="RS256",
                           headers={"kid": linkedin.kid})
        header, _, signature = token.split(".")
        forged = b64(json.dumps({**claims, "sub": "someone-else"}).encode())
        return f"{header}.{forged}.{signature}"

    linkedin.raw_id_token = tampered

    assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))


def test_an_id_token_signed_by_another_key_is_refused(api, linkedin):
    linkedin.signing_key = other_rsa_key()  # same kid, not the issuer's key

    assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))


def test_alg_none_is_refused(api, linkedin):
    linkedin.raw_id_token = unsigned

    assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))


def test_an_hmac_token_keyed_with_the_public_key_or_secret_is_refused(api, linkedin):
    public_pem = linkedin.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def hs256(claims: dict[str, Any], key: bytes) -> str:
        # By hand: PyJWT itself refuses to HMAC with a PEM key (the confusion attack).
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": linkedin.kid}).encode())
        signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
        mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"

    for key in (public_pem, linkedin.secret.encode()):
        linkedin.raw_id_token = lambda claims, key=key: hs256(claims, key)
        assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))


@pytest.mark.parametrize("raw", ["not-a-jwt", "a.b.c", "", "e30.e30.e30"])
def test_a_garbage_id_token_is_refused(api, linkedin, raw):
    linkedin.raw_id_token = lambda claims: raw

    assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))


def test_a_token_response_without_an_id_token_is_a_502(api, linkedin):
    linkedin.faults[linkedin.token_path] = Fault(200, b'{"access_token": "x"}')

    response = log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1"))

    assert response.status_code == 502
    assert not User.objects.exists()


def test_an_unknown_kid_fetches_the_jwks_again_then_refuses(api, linkedin):
    linkedin.header_overrides = {"kid": "rotated-away"}

    assert_refused(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")))
    assert len(linkedin.requests_to(linkedin.jwks_path)) == 2


def test_a_rotated_issuer_key_is_picked_up(api, linkedin):
    assert log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")).status_code == 200
    # The issuer rotates: a new key under a new kid, while ours still caches the old JWKS.
    linkedin.private_key = other_rsa_key()
    linkedin.kid = "test-key-2"
    linkedin.jwks_keys = [FakeOIDC.public_jwk(linkedin.private_key, linkedin.kid)]

    response = log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s2", email="b@example.com"))

    assert response.status_code == 200, response.content


def test_the_discovery_document_and_keys_are_cached(api, linkedin):
    for index in range(3):
        log_in_with(api, linkedin, "linkedin", OIDCUser(sub=f"s{index}",
                                                       email=f"u{index}@example.com"))

    assert len(linkedin.requests_to(linkedin.discovery_path)) == 1
    assert len(linkedin.requests_to(linkedin.jwks_path)) == 1


def test_a_discovery_document_for_another_issuer_is_a_502(api, linkedin):
    linkedin.discovery_overrides = {"issuer": "https://evil.example/oauth"}

    response = authorize(api, "linkedin")

    assert response.status_code == 502
    assert error_code(response) == "provider_unavailable"


@pytest.mark.parametrize("path", [FakeOIDC.discovery_path, FakeOIDC.jwks_path,
                                  FakeOIDC.token_path])
def test_an_issuer_that_fails_is_a_502(api, linkedin, path):
    started = authorize(api, "linkedin").json()  # discovery fetched (and cached) here
    from django.core.cache import cache

    cache.clear()
    linkedin.faults[path] = Fault(500)
    code = linkedin.grant_code(OIDCUser(sub="s1"))

    response = callback(api, "linkedin", code=code)

    assert started["state"]
    assert response.status_code == 502
    assert not User.objects.exists()


def test_a_rejected_linkedin_code_is_invalid_code(api, linkedin):
    response = callback(api, "linkedin", code="expired-code")

    assert response.status_code == 400
    assert error_code(response) == "invalid_code"


def test_the_pkce_verifier_of_our_state_reaches_the_issuer(api, linkedin):
    log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1"))

    from tests.oauth_standins import s256

    challenge = linkedin.requests_to(linkedin.authorize_path)[0].arg("code_challenge")
    sent = linkedin.requests_to(linkedin.token_path)[0]
    assert s256(sent.arg("code_verifier") or "") == challenge
    assert sent.arg("redirect_uri") == CALLBACK
    assert sent.arg("client_secret") == linkedin.secret  # client_secret_post, as offered


@pytest.mark.parametrize("flag", ["true", 1, None, "True"])
def test_only_a_boolean_true_email_verified_counts(api, linkedin, flag):
    response = log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1", email_verified=flag))

    assert response.status_code == 200
    assert response.json()["user"]["email_verified"] is False


def test_an_unverified_linkedin_email_never_links(api, linkedin, make_user):
    make_user(email="lin@example.com")

    response = log_in_with(api, linkedin, "linkedin",
                           OIDCUser(sub="s1", email_verified="true"))

    assert response.status_code == 409
    assert error_code(response) == "account_exists"


def test_an_email_that_is_not_a_string_is_a_502(api, linkedin):
    linkedin.claim_overrides = {"email": ["a@example.com"]}

    response = log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1"))

    assert response.status_code == 502
    assert not User.objects.exists()


def test_the_address_comes_from_userinfo_when_the_id_token_has_none(api, linkedin):
    user = OIDCUser(sub="s1", email="info@example.com", email_in_id_token=False)

    response = log_in_with(api, linkedin, "linkedin", user)

    assert response.status_code == 200, response.content
    assert response.json()["user"]["email"] == "info@example.com"
    assert response.json()["user"]["email_verified"] is True
    assert linkedin.requests_to(linkedin.userinfo_path)


def test_userinfo_about_another_subject_is_a_502(api, linkedin):
    user = OIDCUser(sub="s1", email="info@example.com", email_in_id_token=False,
                    userinfo_sub="someone-else")

    response = log_in_with(api, linkedin, "linkedin", user)

    assert response.status_code == 502
    assert not User.objects.exists()


def test_an_issuer_that_wants_basic_auth_gets_it(api, linkedin):
    linkedin.discovery_overrides = {
        "token_endpoint_auth_methods_supported": ["client_secret_basic"]}

    response = log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1"))

    assert response.status_code == 200, response.content
    sent = linkedin.requests_to(linkedin.token_path)[0]
    expected = base64.b64encode(f"{linkedin.client_id}:{linkedin.secret}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {expected}"
    assert sent.arg("client_secret") is None
