"""Connected accounts: GET auth/providers, GET auth/social-accounts, POST
auth/{provider}/connect (a JWT session and a state that session started), DELETE
auth/social-accounts/{id} (never the last way to log in)."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ainative_auth.services.social import list_providers
from tests.conftest import bearer, error_code
from tests.oauth_standins import (
    CALLBACK,
    OIDCUser,
    authorize,
    callback,
    github_user,
    log_in_with,
    sign_in_at,
)

pytestmark = pytest.mark.django_db


User = get_user_model()


def connect(client: APIClient, standin: Any, provider: str, user: Any,
            starter: APIClient | None = None) -> Any:
    """authorize (as ``starter``, default the same client), consent as ``user``, connect."""
    started = authorize(starter or client, provider)
    assert started.status_code == 200, started.content
    got = sign_in_at(standin, started.json()["authorization_url"], user)
    return client.post(f"/api/v1/auth/{provider}/connect", {"redirect_uri": CALLBACK, **got},
                       format="json")


@pytest.fixture
def alice(tokens: dict[str, Any], verify: Any) -> APIClient:
    """alice@example.com's Bearer session (a password account, her address verified:
    connecting an account needs it)."""
    verify()
    return bearer(tokens["access_token"])


# --- providers -------------------------------------------------------------------------


def test_the_providers_list_names_the_configured_ones(api, github, linkedin):
    response = api.get("/api/v1/auth/providers")

    assert response.status_code == 200
    assert response.json() == [{"id": "github", "name": "GitHub"},
                               {"id": "linkedin", "name": "LinkedIn"}]


def test_with_no_provider_configured_the_list_is_empty(api, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    assert api.get("/api/v1/auth/providers").json() == []
    assert list_providers() == []


# --- connect ---------------------------------------------------------------------------


def test_a_logged_in_user_connects_a_provider_account(alice, github, tokens):
    response = connect(alice, github, "github", github_user(uid=31, email="other@example.com"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "provider", "uid", "display", "created_at", "last_login"}
    assert (body["provider"], body["uid"], body["display"]) == ("github", "31", "octocat")
    account = SocialAccount.objects.get()
    assert account.user_id == tokens["user"]["id"]
    listed = alice.get("/api/v1/auth/social-accounts")
    assert listed.status_code == 200
    assert listed.json() == [body]
    # The connected identity now logs in to alice, whatever its email.
    again = log_in_with(APIClient(), github, "github",
                        github_user(uid=31, email="other@example.com"))
    assert again.json()["user"]["id"] == tokens["user"]["id"]
    assert User.objects.count() == 1


def test_connecting_an_identity_already_connected_to_you_is_a_200(alice, github):
    assert connect(alice, github, "github", github_user(uid=31)).status_code == 201

    again = connect(alice, github, "github", github_user(uid=31))

    assert again.status_code == 200
    assert SocialAccount.objects.count() == 1


def test_an_identity_of_another_user_cannot_be_connected(alice, github, api):
    log_in_with(api, github, "github", github_user(uid=31, email="bob@example.com"))

    response = connect(alice, github, "github", github_user(uid=31, email="bob@example.com"))

    assert response.status_code == 409
    assert error_code(response) == "social_account_taken"
    assert SocialAccount.objects.get().user.email == "bob@example.com"


def test_connect_needs_a_state(alice, github):
    code = github.grant_code(github_user())

    response = alice.post("/api/v1/auth/github/connect",
                          {"code": code, "redirect_uri": CALLBACK}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "invalid_state"
    assert github.seen == []


def test_connect_refuses_a_state_started_without_the_session(alice, github):
    # authorize called anonymously: the state is a login state, bound to nobody.
    response = connect(alice, github, "github", github_user(), starter=APIClient())

    assert response.status_code == 400
    assert error_code(response) == "invalid_state"
    assert github.requests_to(github.token_path) == []
    assert not SocialAccount.objects.exists()


def test_connect_refuses_a_state_another_user_started(alice, github, make_user, login):
    make_user(email="mallory@example.com")
    mallory = bearer(login(email="mallory@example.com").json()["access_token"])

    # Mallory starts a connect and gets the victim's browser to finish it.
    response = connect(alice, github, "github", github_user(uid=666), starter=mallory)

    assert response.status_code == 400
    assert error_code(response) == "invalid_state"
    assert not SocialAccount.objects.exists()


def test_a_connect_state_works_once(alice, github):
    started = authorize(alice, "github").json()
    got = sign_in_at(github, started["authorization_url"], github_user())
    body = {"redirect_uri": CALLBACK, **got}
    assert alice.post("/api/v1/auth/github/connect", body, format="json").status_code == 201

    replay = alice.post("/api/v1/auth/github/connect",
                        {**body, "code": github.grant_code(github_user())}, format="json")

    assert replay.status_code == 400
    assert error_code(replay) == "invalid_state"


def test_a_connect_state_can_also_log_in(api, alice, github):
    # A state from an authorize call with a Bearer token is still a good login state.
    started = authorize(alice, "github").json()
    got = sign_in_at(github, started["authorization_url"], github_user(uid=5))

    assert callback(api, "github", **got).status_code == 200


def test_authorize_with_a_bad_bearer_token_is_a_401(github):
    response = authorize(bearer("not-a-token"), "github")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_api_key_cannot_connect_list_or_disconnect(github, alice, api_key):
    keyed = APIClient()
    keyed.credentials(HTTP_X_API_KEY=api_key[1])
    code = github.grant_code(github_user())

    responses = [
        keyed.post("/api/v1/auth/github/connect", {"code": code, "redirect_uri": CALLBACK},
                   format="json"),
        keyed.get("/api/v1/auth/social-accounts"),
        keyed.delete("/api/v1/auth/social-accounts/1"),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert {error_code(r) for r in responses} == {"session_required"}
    assert github.seen == []


def test_an_api_key_does_not_bind_an_authorize_state(github, alice, api_key):
    keyed = APIClient()
    keyed.credentials(HTTP_X_API_KEY=api_key[1])

    response = connect(alice, github, "github", github_user(), starter=keyed)

    assert response.status_code == 400
    assert error_code(response) == "invalid_state"


def test_the_connected_accounts_endpoints_need_a_session(api, github):
    responses = [
        api.post("/api/v1/auth/github/connect", {"code": "x", "redirect_uri": CALLBACK},
                 format="json"),
        api.get("/api/v1/auth/social-accounts"),
        api.delete("/api/v1/auth/social-accounts/1"),
    ]

    assert [r.status_code for r in responses] == [401, 401, 401]
    assert all(r["WWW-Authenticate"] for r in responses)


def test_connect_is_throttled_per_user(clock, auth_settings, github, tokens, verify):
    verify()
    auth_settings.rates(oauth="2/minute")
    answers = []
    for index in range(3):
        client = bearer(tokens["access_token"], REMOTE_ADDR=f"10.3.0.{index + 1}")
        answers.append(connect(client, github, "github", github_user(uid=index + 1))
                       .status_code)

    assert answers == [201, 201, 429]


# --- disconnect ------------------------------------------------------------------------


def test_a_password_user_disconnects_their_only_provider(alice, github, login):
    account_id = connect(alice, github, "github", github_user()).json()["id"]

    response = alice.delete(f"/api/v1/auth/social-accounts/{account_id}")

    assert response.status_code == 204
    assert not SocialAccount.objects.exists()
    assert alice.get("/api/v1/auth/social-accounts").json() == []
    assert login().status_code == 200


def test_the_last_way_to_log_in_cannot_be_disconnected(api, github, linkedin):
    tokens = log_in_with(api, github, "github", github_user()).json()  # social-only
    client = bearer(tokens["access_token"])
    only = SocialAccount.objects.get()

    refused = client.delete(f"/api/v1/auth/social-accounts/{only.pk}")

    assert refused.status_code == 409
    assert error_code(refused) == "last_login_method"
    assert SocialAccount.objects.count() == 1


def test_with_two_providers_one_may_go_but_not_the_second(api, github, linkedin):
    tokens = log_in_with(api, github, "github", github_user()).json()
    client = bearer(tokens["access_token"])
    assert connect(client, linkedin, "linkedin", OIDCUser(sub="s1")).status_code == 201
    first, second = SocialAccount.objects.order_by("pk")

    assert client.delete(f"/api/v1/auth/social-accounts/{first.pk}").status_code == 204
    last = client.delete(f"/api/v1/auth/social-accounts/{second.pk}")

    assert last.status_code == 409
    assert list(SocialAccount.objects.all()) == [second]


def test_another_users_account_is_a_404(alice, github, api):
    log_in_with(api, github, "github", github_user(uid=9, email="bob@example.com"))
    bobs = SocialAccount.objects.get()

    response = alice.delete(f"/api/v1/auth/social-accounts/{bobs.pk}")

    assert response.status_code == 404
    assert SocialAccount.objects.filter(pk=bobs.pk).exists()


@pytest.mark.parametrize("account_id", ["abc", "-1", "1.0", "9" * 40, "١"])
def test_a_malformed_account_id_is_a_404(alice, account_id):
    response = alice.delete(f"/api/v1/auth/social-accounts/{account_id}")

    assert response.status_code == 404
    assert error_code(response) == "not_found"
