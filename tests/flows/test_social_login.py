"""Social login through a real socket: POST auth/{github,linkedin}/callback against the
stand-in GitHub and OpenID Connect issuer of ``tests/oauth_standins.py``.

Covers the account rules (new, returning, link, claim, refusal), the redirect_uri
allowlist and the state, PKCE and single-use code (each checked before anything goes to
the provider), and what a provider that is down, slow or talking garbage gets us (R64-R73,
F25, F26).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib.auth import get_user_model
from django.core import mail
from rest_framework.test import APIClient

from ainative_auth.adapter import DefaultAdapter
from ainative_auth.checks import check_settings
from ainative_auth.models import APIKey
from ainative_auth.services.verification import mark_email_verified
from tests.conftest import PASSWORD, error_code, me
from tests.oauth_standins import (
    CALLBACK,
    FakeGitHub,
    Fault,
    GitHubUser,
    OIDCUser,
    authorize,
    callback,
    github_user,
    log_in_with,
    s256,
    sign_in_at,
)

pytestmark = pytest.mark.django_db


User = get_user_model()


def token_requests(standin: Any) -> list[Any]:
    return standin.requests_to(standin.token_path)


# --- new and returning users ------------------------------------------------------------------


def test_a_new_github_user_gets_a_verified_account_without_a_password(
    api, github, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = log_in_with(api, github, "github", github_user(uid=4242))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["user"]["email"] == "octo@example.com"
    assert body["user"]["email_verified"] is True
    assert body["user"]["name"] == "Octo Cat"
    user = User.objects.get()
    assert not user.has_usable_password()
    account = SocialAccount.objects.get()
    assert (account.user_id, account.provider, account.uid) == (user.pk, "github", "4242")
    assert me(body["access_token"]).json()["email"] == "octo@example.com"
    assert mail.outbox == []  # nothing to verify


def test_a_new_linkedin_user_is_keyed_by_the_id_token_sub(api, linkedin):
    response = log_in_with(api, linkedin, "linkedin", OIDCUser(sub="li-abc-123"))

    assert response.status_code == 200, response.content
    assert response.json()["user"]["email_verified"] is True
    account = SocialAccount.objects.get()
    assert (account.provider, account.uid) == ("linkedin", "li-abc-123")


def test_a_returning_identity_logs_into_its_account_whatever_its_login_and_email(api, github):
    first = log_in_with(api, github, "github", github_user(uid=7, login="old-login"))
    # Same GitHub id; the login and the address changed at GitHub (R64).
    again = log_in_with(api, github, "github",
                        github_user(uid=7, login="new-login", email="moved@example.com"))

    assert again.status_code == 200, again.content
    assert again.json()["user"]["id"] == first.json()["user"]["id"]
    assert again.json()["user"]["email"] == "octo@example.com"  # ours, not the provider's
    assert User.objects.count() == 1
    assert SocialAccount.objects.get().extra_data["login"] == "new-login"
    assert again.json()["refresh_token"] != first.json()["refresh_token"]  # a new session


def test_the_same_login_name_with_another_id_is_another_person(api, github):
    first = log_in_with(api, github, "github", github_user(uid=1, login="octo"))
    other = log_in_with(api, github, "github",
                        github_user(uid=2, login="octo", email="someone@example.com"))

    assert other.status_code == 200
    assert other.json()["user"]["id"] != first.json()["user"]["id"]
    assert sorted(SocialAccount.objects.values_list("uid", flat=True)) == ["1", "2"]


def test_a_string_github_id_is_the_same_identity_as_the_number(api, github):
    log_in_with(api, github, "github", github_user(uid=99))
    again = log_in_with(api, github, "github", github_user(uid="99"))

    assert again.status_code == 200
    assert list(SocialAccount.objects.values_list("uid", flat=True)) == ["99"]


@pytest.mark.parametrize("uid", [None, True, "12a", -5, 0, 1.5, "", ["1"]])
def test_a_github_user_without_a_numeric_id_is_a_502_and_nothing(api, github, uid):
    response = log_in_with(api, github, "github", github_user(uid=uid))

    assert response.status_code == 502
    assert error_code(response) == "provider_unavailable"
    assert not User.objects.exists()


# --- linking, claiming, refusing ------------------------------------------------------------------


def test_a_verified_provider_email_links_to_a_verified_local_account(api, github, make_user,
                                                                      login):
    local = make_user(email="octo@example.com")
    mark_email_verified(local)

    response = log_in_with(api, github, "github", github_user(uid=5))

    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == local.pk
    assert SocialAccount.objects.get().user_id == local.pk
    assert login(email="octo@example.com").status_code == 200  # the owner's password stays
    assert User.objects.count() == 1


def test_a_verified_provider_email_claims_an_unverified_local_account(
    api, github, make_user, login, make_api_key
):
    # Someone registered the address (never verified it), logged in, made a key, and
    # connected an identity of their own.
    squatter = make_user(email="octo@example.com")
    session = login(email="octo@example.com").json()
    _, key = make_api_key(squatter)
    SocialAccount.objects.create(user=squatter, provider="linkedin", uid="squatter")

    response = log_in_with(api, github, "github", github_user(uid=5))

    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == squatter.pk
    assert response.json()["user"]["email_verified"] is True
    assert login(email="octo@example.com").status_code == 401  # password unusable
    assert api.post("/api/v1/auth/refresh", {"refresh_token": session["refresh_token"]},
                    format="json").status_code == 401
    assert me(session["access_token"]).status_code == 401
    assert APIClient().get("/api/v1/users/me", HTTP_X_API_KEY=key).status_code == 401
    assert APIKey.objects.get().revoked_at is not None
    assert list(SocialAccount.objects.values_list("provider", "uid")) == [("github", "5")]
    assert EmailAddress.objects.get(email="octo@example.com").verified
    assert me(response.json()["access_token"]).status_code == 200  # the new session works


@pytest.mark.parametrize("local_verified", [True, False])
def test_an_unverified_provider_email_never_links(api, github, make_user, login,
                                                  local_verified):
    local = make_user(email="octo@example.com")
    if local_verified:
        mark_email_verified(local)

    response = log_in_with(api, github, "github", github_user(uid=5, verified=False))

    assert response.status_code == 409
    assert error_code(response) == "account_exists"
    assert not SocialAccount.objects.exists()
    assert User.objects.count() == 1
    assert login(email="octo@example.com").status_code == 200  # untouched
    assert EmailAddress.objects.get().verified is local_verified


def test_an_address_of_another_case_is_the_same_account(api, github, make_user):
    local = make_user(email="octo@example.com")
    mark_email_verified(local)

    response = log_in_with(api, github, "github", github_user(email="OCTO@Example.COM"))

    assert response.json()["user"]["id"] == local.pk


def test_an_unverified_provider_email_makes_an_unverified_account_and_mails_a_link(
    api, github, mail_token, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = log_in_with(api, github, "github", github_user(verified=False))

    assert response.status_code == 200, response.content
    assert response.json()["user"]["email_verified"] is False
    assert [m.to for m in mail.outbox] == [["octo@example.com"]]
    token = mail_token("verify")
    assert api.post("/api/v1/auth/verify-email", {"token": token},
                    format="json").status_code == 200


@pytest.mark.parametrize("flag", ["true", 1, "yes", None])
def test_only_a_boolean_true_counts_as_verified(api, github, flag):
    response = log_in_with(api, github, "github", github_user(verified=flag))

    assert response.status_code == 200
    assert response.json()["user"]["email_verified"] is False


def test_only_the_primary_address_is_used_and_only_if_verified(api, github):
    user = GitHubUser(3, "octo", "Octo", None, [
        {"email": "secondary@example.com", "primary": False, "verified": True},
        {"email": "primary@example.com", "primary": True, "verified": False},
    ])

    response = log_in_with(api, github, "github", user)

    assert response.json()["user"]["email"] == "primary@example.com"
    assert response.json()["user"]["email_verified"] is False


def test_without_the_email_list_the_public_address_is_used_unverified(api, github, make_user):
    local = make_user(email="public@example.com")
    mark_email_verified(local)
    user = GitHubUser(3, "octo", "Octo", "public@example.com", None)  # /user/emails: 404

    response = log_in_with(api, github, "github", user)

    assert response.status_code == 409  # unverified: never links
    assert error_code(response) == "account_exists"


@pytest.mark.parametrize("emails", [[], [{"email": "a@example.com", "primary": False,
                                          "verified": True}],
                                    [{"email": "not an address", "primary": True,
                                      "verified": True}]])
def test_no_usable_address_is_a_400_and_creates_nothing(api, github, emails):
    response = log_in_with(api, github, "github", GitHubUser(3, "octo", "", None, emails))

    assert response.status_code == 400
    assert error_code(response) == "provider_email_missing"
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()


@pytest.mark.parametrize("emails", [{"email": "a@example.com"}, [1, 2], "x",
                                    [{"email": 5, "primary": True, "verified": True}]])
def test_a_malformed_email_list_is_a_502(api, github, emails):
    response = log_in_with(api, github, "github", GitHubUser(3, "octo", "", None, emails))

    assert response.status_code == 502
    assert not User.objects.exists()


def test_a_hostile_name_is_cleaned_before_it_reaches_the_user_table(api, github):
    user = github_user(name="Octo\x00\x07 " + "x" * 500)

    response = log_in_with(api, github, "github", user)

    assert response.status_code == 200, response.content
    name = response.json()["user"]["name"]
    assert name.startswith("Octo x") and len(name) == 150 and "\x00" not in name


def test_an_inactive_user_gets_logins_401(api, github, login, make_user):
    first = log_in_with(api, github, "github", github_user(uid=8))
    User.objects.filter(pk=first.json()["user"]["id"]).update(is_active=False)
    make_user(email="someone@example.com")
    password_failure = login(email="someone@example.com", password="wrong password")

    response = log_in_with(api, github, "github", github_user(uid=8))

    assert response.status_code == 401
    assert response.json() == password_failure.json()
    assert response["WWW-Authenticate"]


def test_an_inactive_local_account_is_neither_linked_nor_claimed(api, github, make_user):
    local = make_user(email="octo@example.com")
    User.objects.filter(pk=local.pk).update(is_active=False)

    response = log_in_with(api, github, "github", github_user())

    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"
    assert not SocialAccount.objects.exists()
    local.refresh_from_db()
    assert local.has_usable_password()


def test_when_unverified_login_is_off_an_unverified_social_account_is_refused(
    api, github, auth_settings
):
    auth_settings(ALLOW_UNVERIFIED_LOGIN=False)

    refused = log_in_with(api, github, "github", github_user(uid=1, verified=False))
    allowed = log_in_with(api, github, "github",
                          github_user(uid=2, email="ok@example.com", verified=True))

    assert refused.status_code == 403
    assert error_code(refused) == "email_not_verified"
    assert allowed.status_code == 200


def test_signup_closed_by_the_adapter_creates_nothing(api, github, settings):
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH,
                              "ADAPTER": "tests.flows.test_social_login.ClosedSignupAdapter"}

    response = log_in_with(api, github, "github", github_user())

    assert response.status_code == 403
    assert error_code(response) == "signup_closed"
    assert not User.objects.exists()


class ClosedSignupAdapter(DefaultAdapter):
    def is_signup_allowed(self, request: Any, email: str) -> bool:
        return False


# --- redirect_uri: checked before anything is sent ----------------------------------------


BAD_REDIRECTS = [
    CALLBACK + "/x",
    CALLBACK + "?a=b",
    CALLBACK + "#top",
    CALLBACK + "/",
    "https://APP.example.com/auth/callback",
    "http://app.example.com/auth/callback",
    "https://app.example.com:8443/auth/callback",
    "https://app.example.com@evil.example/auth/callback",
    "https://app.example.com.evil.example/auth/callback",
    "https://user@app.example.com/auth/callback",
    "https://аpp.example.com/auth/callback",  # Cyrillic а
    "//evil.example/auth/callback",
    "javascript:alert(1)",
    "data:text/html,hi",
    "",
]


@pytest.mark.parametrize("redirect_uri", BAD_REDIRECTS)
def test_a_redirect_uri_off_the_allowlist_is_refused_before_any_call(api, github,
                                                                       redirect_uri):
    code = github.grant_code(github_user(), redirect_uri=redirect_uri)

    started = authorize(api, "github", redirect_uri=redirect_uri)
    response = callback(api, "github", code=code, redirect_uri=redirect_uri)

    assert started.status_code == 400
    assert response.status_code == 400
    assert {error_code(started), error_code(response)} <= {"invalid_redirect_uri",
                                                           "validation_error"}
    assert github.seen == []  # no token request, nothing at all
    assert not User.objects.exists()


def test_the_allowlist_can_be_per_provider(api, github, linkedin, settings):
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "OAUTH_REDIRECT_URIS": {
        "github": ["https://app.example.com/github"],
        "linkedin": ["https://app.example.com/linkedin"]}}

    # A GitHub redirect_uri posted to the LinkedIn callback (R71).
    mixed = callback(api, "linkedin", code="x", redirect_uri="https://app.example.com/github")
    right = authorize(api, "github", redirect_uri="https://app.example.com/github")

    assert mixed.status_code == 400 and error_code(mixed) == "invalid_redirect_uri"
    assert linkedin.seen == []
    assert right.status_code == 200


def test_the_redirect_uri_is_sent_to_the_provider_as_given(api, github):
    log_in_with(api, github, "github", github_user())

    assert token_requests(github)[0].arg("redirect_uri") == CALLBACK


# --- the code ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["", " ", "a b", "\u0000", "%00", "abc\n", "<script>", "a'b",
                                  ["abc"], {"a": 1}, 12345, None, "x" * 1_000_000, "ç"])
def test_a_malformed_code_is_a_400_with_no_call(api, github, code):
    response = callback(api, "github", code=code)

    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert github.seen == []


def test_a_repeated_redirect_uri_is_refused_and_other_query_parameters_ignored(api, github):
    repeated = api.get(f"/api/v1/auth/github/authorize?redirect_uri={CALLBACK}"
                       f"&redirect_uri=https://evil.example/cb")
    cache_buster = authorize(api, "github", _="1712345678")

    assert repeated.status_code == 400
    assert repeated.json()["errors"][0] == {
        "field": "redirect_uri", "code": "repeated",
        "message": "This parameter may be given only once."}
    assert cache_buster.status_code == 200


def test_unknown_fields_are_refused_so_a_misspelt_verifier_cannot_drop_pkce(api, github):
    response = callback(api, "github", code="abc", codeVerifier="x" * 43)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "codeVerifier"
    assert github.seen == []


def test_a_code_the_provider_rejects_is_invalid_code_and_creates_nothing(api, github,
                                                                         linkedin):
    for provider in ("github", "linkedin"):
        response = callback(api, provider, code="never-issued")

        assert response.status_code == 400, provider
        assert error_code(response) == "invalid_code"
    assert not User.objects.exists()


def test_a_code_is_used_once_here_even_if_the_provider_would_take_it_again(api, github):
    code = github.grant_code(github_user())
    first = callback(api, "github", code=code)
    github.grants[code].used = False  # a lax provider

    replay = callback(api, "github", code=code)

    assert first.status_code == 200
    assert replay.status_code == 400
    assert error_code(replay) == "invalid_code"
    assert len(token_requests(github)) == 1  # the replay never left
    assert SocialAccount.objects.count() == 1


def test_the_same_code_may_be_used_at_two_providers_only_as_their_own(api, github, linkedin):
    # Used codes are remembered per provider: another provider's code of the same spelling
    # is that provider's business.
    gh = github.grant_code(github_user())
    li = linkedin.grant_code(OIDCUser(sub="s1"))
    linkedin.grants[gh] = linkedin.grants.pop(li)

    assert callback(api, "github", code=gh).status_code == 200
    assert callback(api, "linkedin", code=gh).status_code == 200


# --- state ------------------------------------------------------------------------------------


def test_the_authorize_answer_carries_the_challenge_and_never_the_verifier(api, github):
    body = authorize(api, "github").json()

    assert set(body) == {"authorization_url", "state"}
    got = sign_in_at(github, body["authorization_url"], github_user())
    opened = github.requests_to(github.authorize_path)[0]
    assert opened.arg("state") == body["state"] == got["state"]
    assert opened.arg("code_challenge_method") == "S256"
    assert opened.arg("scope") == "read:user user:email"  # least privilege (R73)
    assert opened.arg("client_id") == github.client_id
    assert opened.arg("redirect_uri") == CALLBACK
    assert len(body["state"]) >= 43  # at least 256 bits of randomness before the MAC


def test_the_servers_pkce_verifier_reaches_the_token_endpoint(api, github):
    response = log_in_with(api, github, "github", github_user())

    assert response.status_code == 200
    challenge = github.requests_to(github.authorize_path)[0].arg("code_challenge")
    verifier = token_requests(github)[0].arg("code_verifier")
    assert verifier and 43 <= len(verifier) <= 128
    assert s256(verifier) == challenge


def test_a_frontends_own_pkce_verifier_is_passed_through(api, github):
    verifier = secrets.token_urlsafe(48)
    code = github.grant_code(github_user(), code_challenge=s256(verifier))

    response = callback(api, "github", code=code, code_verifier=verifier)

    assert response.status_code == 200, response.content
    assert token_requests(github)[0].arg("code_verifier") == verifier


def test_a_wrong_frontend_verifier_is_refused_by_the_provider(api, github):
    code = github.grant_code(github_user(), code_challenge=s256("a" * 43))

    response = callback(api, "github", code=code, code_verifier="b" * 43)

    assert response.status_code == 400
    assert error_code(response) == "invalid_code"


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "has space" + "x" * 40,
                                      "é" * 43])
def test_a_malformed_verifier_is_a_400_with_no_call(api, github, verifier):
    response = callback(api, "github", code="abc", code_verifier=verifier)

    assert response.status_code == 400
    assert github.seen == []


def test_a_verifier_that_contradicts_the_states_is_refused(api, github):
    started = authorize(api, "github").json()
    got = sign_in_at(github, started["authorization_url"], github_user())

    response = callback(api, "github", **got, code_verifier="z" * 43)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "code_verifier"
    assert token_requests(github) == []


def test_a_state_is_consumed_by_its_callback(api, github):
    started = authorize(api, "github").json()
    got = sign_in_at(github, started["authorization_url"], github_user())
    assert callback(api, "github", **got).status_code == 200
    fresh = github.grant_code(github_user())

    replay = callback(api, "github", code=fresh, state=got["state"])

    assert replay.status_code == 400
    assert error_code(replay) == "invalid_state"
    assert len(token_requests(github)) == 1


def test_a_state_for_another_provider_is_refused(api, github, linkedin):
    state = authorize(api, "github").json()["state"]
    code = linkedin.grant_code(OIDCUser(sub="s"))

    response = callback(api, "linkedin", code=code, state=state)

    assert response.status_code == 400
    assert error_code(response) == "invalid_state"
    assert token_requests(linkedin) == []


def test_a_state_for_another_redirect_uri_is_refused(api, github, settings):
    other = "https://app.example.com/other-callback"
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH,
                              "OAUTH_REDIRECT_URIS": [CALLBACK, other]}
    state = authorize(api, "github", redirect_uri=other).json()["state"]
    code = github.grant_code(github_user())

    response = callback(api, "github", code=code, state=state)

    assert response.status_code == 400
    assert error_code(response) == "invalid_state"
    assert token_requests(github) == []


def test_a_state_expires_after_its_lifetime(api, github, clock, auth_settings):
    auth_settings(OAUTH_STATE_LIFETIME=60)
    started = authorize(api, "github").json()
    got = sign_in_at(github, started["authorization_url"], github_user())
    clock.advance(61)

    response = callback(api, "github", **got)

    assert response.status_code == 400
    assert error_code(response) == "invalid_state"
    assert token_requests(github) == []


def test_a_forged_state_in_our_format_is_not_ours(api, github):
    started = authorize(api, "github").json()
    random_part, mac = started["state"].split(".")
    forged = f"{random_part[::-1]}.{mac}"
    code = github.grant_code(github_user())

    # Not ours (no valid MAC): with OAUTH_REQUIRE_STATE off it is the frontend's business.
    response = callback(api, "github", code=code, state=forged)

    assert response.status_code == 200


def test_by_default_a_frontends_own_state_is_left_to_the_frontend(api, github):
    code = github.grant_code(github_user())

    response = callback(api, "github", code=code, state="the-frontends-own-state")

    assert response.status_code == 200


def test_oauth_require_state_refuses_callbacks_without_one_of_ours(api, github, auth_settings):
    auth_settings(OAUTH_REQUIRE_STATE=True)

    missing = callback(api, "github", code=github.grant_code(github_user()))
    foreign = callback(api, "github", code=github.grant_code(github_user()),
                       state="the-frontends-own-state")
    ours = log_in_with(api, github, "github", github_user())

    assert (missing.status_code, error_code(missing)) == (400, "invalid_state")
    assert (foreign.status_code, error_code(foreign)) == (400, "invalid_state")
    assert ours.status_code == 200
    assert len(token_requests(github)) == 1


# --- providers that fail --------------------------------------------------------------------


@pytest.mark.parametrize("path", [FakeGitHub.token_path, FakeGitHub.user_path,
                                  FakeGitHub.emails_path])
@pytest.mark.parametrize("fault", [
    Fault(500),
    Fault(503, b"<html>Unicorn!</html>", "text/html"),
    Fault(200, b"<html>not json</html>", "text/html"),
    Fault(200, b"[1, 2, 3]"),
    Fault(200, b'{"access_token": 5}'),
    Fault(200, b"[" * 100_000 + b"]" * 100_000),
    Fault(200, b'{"a": "' + b"x" * 2_000_000 + b'"}'),
    Fault(302, b"", headers={"Location": "http://127.0.0.1:9/elsewhere"}),
    Fault(403, b'{"message": "rate limited"}'),
], ids=["500", "503-html", "html", "list", "bad-token", "deep", "2mb", "redirect", "403"])
def test_a_provider_answering_garbage_is_a_502_and_creates_nothing(api, github, path, fault):
    github.faults[path] = fault

    response = log_in_with(api, github, "github", github_user())

    assert response.status_code == 502, response.content
    assert error_code(response) == "provider_unavailable"
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()


def test_json_under_another_content_type_is_a_502(api, github):
    # A well-formed profile, labelled as something else: not what GitHub sends.
    github.faults[FakeGitHub.user_path] = Fault(
        200, json.dumps({"id": 77, "login": "octo"}).encode(), "text/html")

    response = log_in_with(api, github, "github", github_user())

    assert response.status_code == 502
    assert not User.objects.exists()


def test_a_provider_that_does_not_answer_in_time_is_a_502(api, github, auth_settings):
    auth_settings(OAUTH_TIMEOUT=0.3)
    github.faults[FakeGitHub.token_path] = Fault(200, b"{}", delay=30)

    response = log_in_with(api, github, "github", github_user())

    assert response.status_code == 502
    assert error_code(response) == "provider_unavailable"
    assert not User.objects.exists()


def test_a_provider_that_drips_its_answer_past_the_timeout_is_a_502(api, github, auth_settings):
    auth_settings(OAUTH_TIMEOUT=0.3)
    # A good profile, but one byte every 0.1 s: each read is quick, the whole is not.
    good = json.dumps({"id": 77, "login": "drip", "name": "Drip"}).encode()
    github.faults[FakeGitHub.user_path] = Fault(200, good, drip=0.1)

    response = log_in_with(api, github, "github", github_user())

    assert response.status_code == 502
    assert not User.objects.exists()


def test_a_provider_that_is_down_is_a_502(api, github, settings):
    github.close()  # nothing listens on its port any more
    code = "abc"

    response = callback(api, "github", code=code)

    assert response.status_code == 502
    assert error_code(response) == "provider_unavailable"


def test_a_redirect_from_the_provider_is_not_followed(api, github):
    target = FakeGitHub()
    try:
        github.faults[FakeGitHub.token_path] = Fault(
            307, b"", headers={"Location": f"{target.url}{FakeGitHub.token_path}"})

        response = log_in_with(api, github, "github", github_user())

        assert response.status_code == 502
        assert target.seen == []
    finally:
        target.close()


def test_our_client_credentials_refused_by_the_provider_is_a_502_not_the_users_fault(
    api, github
):
    github.secret = "rotated-at-github"

    response = log_in_with(api, github, "github", github_user())

    assert response.status_code == 502


# --- configuration ----------------------------------------------------------------------------


def test_an_unconfigured_provider_is_a_404_with_the_error_body(api, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    for response in (authorize(api, "github"), callback(api, "github", code="abc"),
                     authorize(api, "linkedin")):
        assert response.status_code == 404
        assert error_code(response) == "provider_not_configured"


def test_a_provider_without_a_client_id_is_not_configured(api, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": {"APPS": [{"client_id": "", "secret": "x"}]}}

    assert authorize(api, "github").status_code == 404


def test_an_unknown_provider_is_a_404(api, github):
    response = callback(api, "myspace", code="abc")

    assert response.status_code == 404
    assert error_code(response) == "not_found"


def example_settings(**env: str) -> dict[str, Any]:
    """The example project's social settings for these environment variables."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("GITHUB_", "LINKEDIN_", "OAUTH_"))}
    code = ("import json, example_project.settings as s; print(json.dumps({'providers': "
            "s.SOCIALACCOUNT_PROVIDERS, 'redirects': s.AINATIVE_AUTH['OAUTH_REDIRECT_URIS']}))")
    done = subprocess.run([sys.executable, "-c", code], env={**clean, "SECRET_KEY": "x", **env},
                          cwd=Path(__file__).resolve().parents[2], capture_output=True,
                          text=True, check=True, timeout=60)
    return json.loads(done.stdout)


def test_the_example_projects_variables_configure_both_providers(api, settings, github,
                                                                 linkedin):
    spa = "https://spa.example/auth/done"
    conf = example_settings(
        GITHUB_CLIENT_ID=github.client_id, GITHUB_CLIENT_SECRET=github.secret,
        GITHUB_URL=github.url, LINKEDIN_CLIENT_ID=linkedin.client_id,
        LINKEDIN_CLIENT_SECRET=linkedin.secret, LINKEDIN_SERVER_URL=linkedin.issuer,
        OAUTH_REDIRECT_URIS=f"{spa}, https://spa.example/other")
    settings.SOCIALACCOUNT_PROVIDERS = conf["providers"]
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH,
                              "OAUTH_REDIRECT_URIS": conf["redirects"]}

    assert conf["redirects"] == [spa, "https://spa.example/other"]
    for standin, provider, user in ((github, "github", github_user()),
                                    (linkedin, "linkedin", OIDCUser(sub="s1"))):
        started = authorize(api, provider, redirect_uri=spa).json()
        got = sign_in_at(standin, started["authorization_url"], user)
        response = callback(api, provider, redirect_uri=spa, **got)
        assert response.status_code == 200, (provider, response.content)


def test_without_client_ids_the_example_project_configures_no_provider():
    conf = example_settings(FRONTEND_URL="https://front.example")

    assert conf["providers"] == {}
    assert conf["redirects"] == ["https://front.example/auth/callback"]


def test_a_socialapp_made_in_the_admin_works_like_the_settings(api, github, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": {"GITHUB_URL": github.url}}
    SocialApp.objects.create(provider="github", name="GitHub", client_id=github.client_id,
                             secret=github.secret)

    response = log_in_with(api, github, "github", github_user())

    assert response.status_code == 200, response.content


def test_no_provider_token_is_stored(api, github, linkedin):
    log_in_with(api, github, "github", github_user())
    log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s", email="l@example.com"))

    assert not SocialToken.objects.exists()
    issued = set(github.tokens) | set(linkedin.tokens)
    stored = json.dumps(list(SocialAccount.objects.values_list("extra_data", flat=True)))
    assert issued and not any(token in stored for token in issued)


def test_authorize_is_throttled_per_ip_with_the_oauth_scope(api, github, auth_settings,
                                                           clock):
    auth_settings.rates(oauth="2/minute")

    answers = [authorize(api, "github").status_code for _ in range(3)]
    elsewhere = APIClient().get("/api/v1/auth/github/authorize", {"redirect_uri": CALLBACK},
                                REMOTE_ADDR="10.9.9.9")

    assert answers == [200, 200, 429]
    assert elsewhere.status_code == 200


def test_callbacks_are_throttled_per_ip_before_any_call(api, github, auth_settings, clock):
    auth_settings.rates(oauth="1/minute")
    assert callback(api, "github", code=github.grant_code(github_user())).status_code == 200
    calls = len(github.seen)

    response = callback(api, "github", code=github.grant_code(github_user()))

    assert response.status_code == 429
    assert response["Retry-After"]
    assert len(github.seen) == calls


def test_logins_are_throttled_per_identity_too(github, auth_settings, clock):
    auth_settings.rates(oauth="2/minute")
    answers = []
    for index in range(3):
        client = APIClient(REMOTE_ADDR=f"10.0.0.{index + 1}")
        answers.append(callback(client, "github",
                                code=github.grant_code(github_user(uid=1))).status_code)

    other = callback(APIClient(REMOTE_ADDR="10.0.0.9"), "github",
                     code=github.grant_code(github_user(uid=2, email="b@example.com")))

    assert answers == [200, 200, 429]
    assert other.status_code == 200


@pytest.mark.parametrize("value, ids", [
    (["https://app.example.com/cb"], []),
    ({"github": ["https://app.example.com/cb"]}, []),
    (["http://localhost:3000/cb", "http://127.0.0.1:8000/cb"], []),
    (["http://app.example.com/cb"], ["ainative_auth.W004"]),
    (["/auth/callback"], ["ainative_auth.E007"]),
    (["https://app.example.com/cb#x"], ["ainative_auth.E007"]),
    ("https://app.example.com/cb", ["ainative_auth.E007"]),
    ({"github": "https://app.example.com/cb"}, ["ainative_auth.E007"]),
    ([42], ["ainative_auth.E007"]),
])
def test_the_redirect_allowlist_is_checked_at_startup(value, ids, auth_settings):
    auth_settings(OAUTH_REDIRECT_URIS=value)

    found = [p.id for p in check_settings() if p.id in ("ainative_auth.E007",
                                                          "ainative_auth.W004")]

    assert found == ids


def test_a_password_login_still_works_after_a_social_link(api, github, make_user, login):
    local = make_user(email="octo@example.com")
    mark_email_verified(local)
    log_in_with(api, github, "github", github_user())

    assert login(email="octo@example.com", password=PASSWORD).status_code == 200
