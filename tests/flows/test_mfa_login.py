"""Signing in with MFA on: ``mfa_required`` and a single-use, five-minute ``mfa_token``
instead of tokens (no session row, nothing an endpoint accepts), then
``auth/mfa/challenge`` through the one door."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from ainative_auth.models import RefreshSession
from ainative_auth.services import sessions
from tests.conftest import assert_error, bearer, me, url
from tests.mfa_helpers import code_now, enable_totp
from tests.oauth_standins import github_user, log_in_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def mfa_alice(make_user: Any, clock: Any) -> tuple[Any, str, list[str]]:
    user = make_user()
    secret, codes = enable_totp(user)
    clock.advance(61)
    return user, secret, codes


def _claims(access_token: str) -> dict[str, Any]:
    return jwt.decode(access_token, options={"verify_signature": False})


def test_login_answers_mfa_required_and_starts_no_session(
    mfa_alice: Any, login: Any
) -> None:
    before = RefreshSession.objects.count()
    body = assert_error(login(), 403, "mfa_required")
    assert set(body) == {"detail", "error_code", "mfa_token", "methods"}
    assert body["methods"] == ["totp", "recovery_code"]
    assert body["mfa_token"].startswith("mfa_")
    assert "access_token" not in body and "refresh_token" not in body
    assert RefreshSession.objects.count() == before
    # The mfa_token is no credential anywhere else.
    assert_error(me(body["mfa_token"]), 401)
    assert_error(bearer(body["mfa_token"]).post(url("mfa-step-up"), {"code": "123456"},
                                                format="json"), 401)


def test_the_challenge_completes_it_through_the_one_door(
    mfa_alice: Any, api: Any, login: Any
) -> None:
    _, secret, _ = mfa_alice
    token = login().json()["mfa_token"]
    response = api.post(url("mfa-challenge"), {"mfa_token": token, "code": code_now(secret)},
                        format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    claims = _claims(body["access_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert isinstance(claims["auth_time"], int)
    session = RefreshSession.objects.get(pk=claims["sid"])
    assert session.method == "password" and session.factor_verified_at is not None
    assert me(body["access_token"]).status_code == 200
    # The refresh token works and keeps the session's amr.
    refreshed = api.post(url("refresh"), {"refresh_token": body["refresh_token"]},
                         format="json").json()
    assert _claims(refreshed["access_token"])["amr"] == ["pwd", "otp", "mfa"]


def test_an_mfa_token_is_single_use(mfa_alice: Any, api: Any, login: Any, clock: Any) -> None:
    _, secret, codes = mfa_alice
    token = login().json()["mfa_token"]
    assert api.post(url("mfa-challenge"), {"mfa_token": token, "code": code_now(secret)},
                    format="json").status_code == 200
    assert_error(api.post(url("mfa-challenge"), {"mfa_token": token, "code": codes[0]},
                          format="json"), 401, "mfa_token_invalid")


def test_an_mfa_token_lives_five_minutes(mfa_alice: Any, api: Any, login: Any,
                                         clock: Any) -> None:
    _, secret, _ = mfa_alice
    token = login().json()["mfa_token"]
    clock.advance(301)
    assert_error(api.post(url("mfa-challenge"), {"mfa_token": token, "code": code_now(secret)},
                          format="json"), 401, "mfa_token_invalid")


def test_wrong_codes_kill_the_token_after_five(mfa_alice: Any, api: Any, login: Any) -> None:
    _, secret, _ = mfa_alice
    token = login().json()["mfa_token"]
    for _ in range(5):
        assert_error(api.post(url("mfa-challenge"), {"mfa_token": token, "code": "000000"},
                              format="json"), 400, "mfa_code_invalid")
    assert_error(api.post(url("mfa-challenge"), {"mfa_token": token, "code": code_now(secret)},
                          format="json"), 401, "mfa_token_invalid")


def test_a_password_changed_meanwhile_kills_the_token(mfa_alice: Any, api: Any,
                                                      login: Any) -> None:
    alice, secret, _ = mfa_alice
    token = login().json()["mfa_token"]
    alice.set_password("a different long passphrase 7")
    alice.save()
    assert_error(api.post(url("mfa-challenge"), {"mfa_token": token, "code": code_now(secret)},
                          format="json"), 401, "mfa_token_invalid")


@pytest.mark.parametrize("body", [
    {},
    {"mfa_token": "mfa_x", "code": "123456"},
    {"mfa_token": "mfa_" + "A" * 43, "code": "123456"},
    {"mfa_token": 5, "code": "123456"},
    {"mfa_token": ["a"], "code": "123456"},
    {"mfa_token": "mfa_" + "A" * 43},
    {"mfa_token": "mfa_" + "A" * 43, "code": "123456", "credential": {"id": "x"}},
    {"mfa_token": "mfa_" + "A" * 43, "credential": "not an object"},
    {"mfa_token": "x" * 10_000, "code": "1"},
])
def test_bad_challenge_bodies_are_4xx_with_our_error_body(
    mfa_alice: Any, api: Any, body: dict[str, Any]
) -> None:
    response = api.post(url("mfa-challenge"), body, format="json")
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


def test_a_token_for_the_pages_does_not_complete_over_the_api(
    mfa_alice: Any, api: Any, client: Any
) -> None:
    _, secret, _ = mfa_alice
    from tests.conftest import PASSWORD

    client.post(url("ainative_auth_pages:login"),
                {"email": "alice@example.com", "password": PASSWORD})
    token = client.session[sessions.browser_session.PENDING_FACTOR_KEY]
    assert_error(api.post(url("mfa-challenge"), {"mfa_token": token, "code": code_now(secret)},
                          format="json"), 401, "mfa_token_invalid")


def test_a_social_login_with_mfa_on_answers_mfa_required(
    api: Any, github: Any, clock: Any
) -> None:
    first = log_in_with(api, github, "github", github_user(uid=99, email="octo@example.com"))
    assert first.status_code == 200, first.content
    from ainative_auth.users import find_user_by_email

    secret, _ = enable_totp(find_user_by_email("octo@example.com"))
    clock.advance(61)
    before = RefreshSession.objects.count()
    body = assert_error(log_in_with(api, github, "github", github_user(uid=99,
                                    email="octo@example.com")), 403, "mfa_required")
    assert RefreshSession.objects.count() == before
    done = api.post(url("mfa-challenge"), {"mfa_token": body["mfa_token"],
                                           "code": code_now(secret)}, format="json")
    assert done.status_code == 200, done.content
    assert _claims(done.json()["access_token"])["amr"] == ["fed", "otp", "mfa"]
    assert RefreshSession.objects.get(
        pk=_claims(done.json()["access_token"])["sid"]).method == "social:github"


def test_without_the_mfa_app_s_gate_a_sign_in_is_what_it_was(
    mfa_alice: Any, login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The extension points are all the core knows: with no gate and no second-factor check
    registered (the app not installed), the same user signs in with the password alone
    and nothing asks for a step-up."""
    monkeypatch.setattr(sessions, "_sign_in_gates", [])
    monkeypatch.setattr(sessions, "_second_factor_checks", [])
    response = login()
    assert response.status_code == 200, response.content
    assert _claims(response.json()["access_token"])["amr"] == ["pwd"]
    created = bearer(response.json()["access_token"]).post(
        url("api-keys"), {"name": "k"}, format="json")
    assert created.status_code in (201, 403)
    if created.status_code == 403:  # only the unverified address may refuse it, never MFA
        assert created.json()["error_code"] == "email_not_verified"
