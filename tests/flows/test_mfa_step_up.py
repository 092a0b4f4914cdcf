"""Step-up: for a user with MFA on, what hands out or changes credentials needs a second
factor proven within ``STEP_UP_MAX_AGE``; headless clients (API keys) are never asked."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from rest_framework.test import APIClient

from ainative_auth.models import APIKey
from ainative_auth.services import api_keys
from ainative_auth.signals import step_up_completed
from tests.conftest import PASSWORD, assert_error, bearer, url
from tests.mfa_helpers import code_now, enable_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user: Any, clock: Any) -> tuple[Any, str, list[str]]:
    user = make_user()
    secret, codes = enable_totp(user)
    clock.advance(61)
    return user, secret, codes


@pytest.fixture
def session(alice: Any, api: Any, login: Any) -> dict[str, Any]:
    """alice's token response, completed with a TOTP just now."""
    _, secret, _ = alice
    token = login().json()["mfa_token"]
    response = api.post(url("mfa-challenge"), {"mfa_token": token, "code": code_now(secret)},
                        format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def _create_key(access_token: str, name: str = "bot") -> Any:
    return bearer(access_token).post(url("api-keys"), {"name": name}, format="json")


def test_a_fresh_second_factor_lets_keys_be_created(session: dict[str, Any]) -> None:
    assert _create_key(session["access_token"]).status_code == 201


def test_past_step_up_max_age_creating_rotating_and_changing_the_password_need_a_factor(
    session: dict[str, Any], clock: Any, auth_settings: Any
) -> None:
    created = _create_key(session["access_token"]).json()
    clock.advance(601)
    client = bearer(session["access_token"])
    # An access token lives 30 minutes: refresh first, as a client would.
    assert_error(_create_key(session["access_token"]), 403, "step_up_required")
    assert_error(client.post(url("api-key-rotate", created["id"]), format="json"), 403,
                 "step_up_required")
    assert_error(client.post(url("change-password"),
                             {"current_password": PASSWORD,
                              "new_password": "another long passphrase 5"}, format="json"),
                 403, "step_up_required")
    assert_error(client.post(url("mfa-recovery-codes"), format="json"), 403,
                 "step_up_required")
    assert_error(client.post(url("passkey-register-options"), format="json"), 403,
                 "step_up_required")
    assert APIKey.objects.count() == 1  # nothing was created or rotated


def test_the_setting_decides_how_fresh(session: dict[str, Any], clock: Any,
                                       auth_settings: Any) -> None:
    auth_settings(STEP_UP_MAX_AGE=60)
    clock.advance(61)
    assert_error(_create_key(session["access_token"]), 403, "step_up_required")
    auth_settings(STEP_UP_MAX_AGE=3600)
    assert _create_key(session["access_token"]).status_code == 201


def test_step_up_gives_a_fresh_token_response_with_amr_and_auth_time(
    alice: Any, session: dict[str, Any], clock: Any
) -> None:
    _, secret, _ = alice
    clock.advance(700)
    seen: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        seen.append(kwargs)

    step_up_completed.connect(receiver)
    try:
        response = bearer(session["access_token"]).post(
            url("mfa-step-up"), {"code": code_now(secret)}, format="json")
    finally:
        step_up_completed.disconnect(receiver)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["auth_time"] == int(clock.time())
    assert claims["sid"] == jwt.decode(session["access_token"],
                                       options={"verify_signature": False})["sid"]
    assert len(seen) == 1 and seen[0]["factors"] == ["otp"]
    assert _create_key(body["access_token"]).status_code == 201


def test_a_wrong_code_steps_nothing_up(alice: Any, session: dict[str, Any], clock: Any) -> None:
    clock.advance(700)
    client = bearer(session["access_token"])
    assert_error(client.post(url("mfa-step-up"), {"code": "000000"}, format="json"), 400,
                 "mfa_code_invalid")
    assert_error(_create_key(session["access_token"]), 403, "step_up_required")


def test_a_recovery_code_steps_up_too(alice: Any, session: dict[str, Any], clock: Any) -> None:
    _, _, codes = alice
    clock.advance(700)
    response = bearer(session["access_token"]).post(url("mfa-step-up"), {"code": codes[0]},
                                                    format="json")
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp", "rec", "mfa"]


def test_a_session_from_before_mfa_was_on_must_step_up(make_user: Any, login: Any,
                                                       clock: Any) -> None:
    user = make_user()
    old = login().json()
    enable_totp(user)
    assert_error(_create_key(old["access_token"]), 403, "step_up_required")


def test_users_without_mfa_are_never_asked(make_user: Any, verify: Any, login: Any,
                                           clock: Any) -> None:
    verify(make_user())
    tokens = login().json()
    clock.advance(1700)
    assert _create_key(tokens["access_token"]).status_code == 201
    assert_error(bearer(tokens["access_token"]).post(url("mfa-step-up"), {"code": "123456"},
                                                     format="json"), 409, "mfa_not_enabled")


def test_api_keys_keep_working_with_no_second_factor(alice: Any, clock: Any) -> None:
    """Headless clients are never locked out: a key minted before MFA was on, and one
    minted after, authenticate and (with keys:write) manage keys, with no step-up."""
    user, _, _ = alice
    issued = api_keys.create_key(user, name="agent", scopes=["keys:write", "credits:read"])
    clock.advance(1700)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=issued.plaintext)
    response = client.get(url("me"))
    assert response.status_code == 200, response.content
    assert client.get("/api/v1/public/credits/balance").status_code == 200
    created = client.post(url("api-keys"), {"name": "child", "scopes": ["credits:read"]},
                          format="json")
    assert created.status_code == 201, created.content
    rotated = client.post(url("api-key-rotate", created.json()["id"]), format="json")
    assert rotated.status_code == 200, rotated.content


def test_the_step_up_check_is_one_function_other_flows_can_call(
    alice: Any, session: dict[str, Any], clock: Any
) -> None:
    """``require_recent_factor(user, session)`` is what an OAuth consent or a device
    approval calls (with the browser's or the token's session row)."""
    from ainative_auth.exceptions import StepUpRequired
    from ainative_auth.models import RefreshSession
    from ainative_auth.services.sessions import require_recent_factor

    user, _, _ = alice
    sid = jwt.decode(session["access_token"], options={"verify_signature": False})["sid"]
    row = RefreshSession.objects.get(pk=sid)
    require_recent_factor(user, row)
    require_recent_factor(user, None)  # no interactive session: never asked
    clock.advance(601)
    with pytest.raises(StepUpRequired):
        require_recent_factor(user, row)
    with pytest.raises(StepUpRequired):
        require_recent_factor(user, row.pk)
