"""Sessions: logout, logout-all, the sessions list and users/me (R20, R38, R45, R46, R61, R62).

Also run under a custom user model:
``pytest --ds=tests.settings_custom_user tests/flows/test_sessions.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ainative_auth.models import RefreshSession
from tests.conftest import PASSWORD, assert_error

# The Bearer challenge first; other schemes (API keys) may be offered next to it.
BEARER = 'Bearer realm="api"'

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
LOGOUT_ALL = "/api/v1/auth/logout-all"
SESSIONS = "/api/v1/auth/sessions"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/users/me"

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
SESSION_KEYS = {"id", "device", "ip_address", "user_agent", "created_at", "last_used_at",
                "expires_at", "current"}
USER_KEYS = {"id", "email", "name", "email_verified", "created_at"}


def log_in(email: str = "alice@example.com", *, user_agent: str = FIREFOX,
           ip: str = "198.51.100.7") -> dict[str, Any]:
    response = APIClient().post(LOGIN, {"email": email, "password": PASSWORD}, format="json",
                                HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    assert response.status_code == 200, response.content
    return response.json()


def as_bearer(body: dict[str, Any]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    return client


def sid(body: dict[str, Any]) -> str:
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    return str(uuid.UUID(hex=claims["sid"]))


def can_use(body: dict[str, Any]) -> bool:
    return as_bearer(body).get(ME).status_code == 200


def can_refresh(body: dict[str, Any]) -> bool:
    response = APIClient().post(REFRESH, {"refresh_token": body["refresh_token"]}, format="json")
    return response.status_code == 200


@pytest.fixture
def alice(make_user: Any) -> Any:
    return make_user()


@pytest.fixture
def bob(make_user: Any) -> Any:
    return make_user(email="bob@example.com", name="Bob")


# --- logout -------------------------------------------------------------------------------


def test_logout_ends_the_session_so_its_access_and_refresh_tokens_are_401(alice: Any) -> None:
    body = log_in()

    response = as_bearer(body).post(LOGOUT)

    assert response.status_code == 200, response.content
    assert response.json()["detail"]
    assert response["Cache-Control"] == "no-store"
    assert_error(as_bearer(body).get(ME), 401, "token_invalid", challenge=BEARER)
    assert not can_refresh(body)
    assert RefreshSession.objects.get(pk=sid(body)).revoke_reason == "logout"


def test_logging_out_twice_is_401_the_second_time(alice: Any) -> None:
    client = as_bearer(log_in())
    assert client.post(LOGOUT).status_code == 200

    assert_error(client.post(LOGOUT), 401, "token_invalid", challenge=BEARER)


def test_logout_without_a_token_is_401_with_www_authenticate(db: Any) -> None:
    assert_error(APIClient().post(LOGOUT), 401, "not_authenticated", challenge=BEARER)


def test_logout_with_a_garbage_token_is_401(db: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    assert_error(client.post(LOGOUT), 401, "token_invalid", challenge=BEARER)


def test_logout_ends_only_the_callers_session(alice: Any) -> None:
    laptop, phone = log_in(), log_in(user_agent=IPHONE)

    as_bearer(laptop).post(LOGOUT)

    assert not can_use(laptop)
    assert can_use(phone) and can_refresh(phone)


# --- each login is a new session (R20) ----------------------------------------------------


def test_each_login_starts_a_new_session_and_leaves_the_others_alone(alice: Any) -> None:
    first, second = log_in(), log_in()

    assert sid(first) != sid(second)
    assert first["refresh_token"] != second["refresh_token"]
    claims = [jwt.decode(b["access_token"], options={"verify_signature": False})
              for b in (first, second)]
    assert claims[0]["jti"] != claims[1]["jti"]
    assert RefreshSession.objects.filter(revoked_at__isnull=True).count() == 2
    assert can_use(first) and can_use(second)


# --- the sessions list --------------------------------------------------------------------


def test_the_sessions_list_shows_every_live_session_and_marks_the_current_one(
    alice: Any,
) -> None:
    laptop = log_in(user_agent=FIREFOX, ip="198.51.100.7")
    phone = log_in(user_agent=IPHONE, ip="203.0.113.9")

    response = as_bearer(phone).get(SESSIONS)

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    listed = {item["id"]: item for item in response.json()}
    assert set(listed) == {sid(laptop), sid(phone)}
    assert all(set(item) == SESSION_KEYS for item in listed.values())
    assert listed[sid(phone)]["current"] is True
    assert listed[sid(laptop)]["current"] is False
    assert listed[sid(phone)]["device"] == "Safari on iOS"
    assert listed[sid(phone)]["ip_address"] == "203.0.113.9"
    assert listed[sid(phone)]["user_agent"] == IPHONE
    assert listed[sid(laptop)]["device"] == "Firefox on Linux"
    assert listed[sid(laptop)]["ip_address"] == "198.51.100.7"


def test_the_sessions_list_holds_no_secrets(alice: Any) -> None:
    body = log_in()
    session = RefreshSession.objects.get(pk=sid(body))

    text = as_bearer(body).get(SESSIONS).content.decode()

    assert session.salt not in text
    assert body["refresh_token"] not in text
    assert body["access_token"] not in text
    assert "generation" not in text and "salt" not in text


def test_the_sessions_list_leaves_out_ended_sessions_and_other_users(
    alice: Any, bob: Any
) -> None:
    ended, current = log_in(), log_in()
    as_bearer(ended).post(LOGOUT)
    log_in("bob@example.com")

    listed = [item["id"] for item in as_bearer(current).get(SESSIONS).json()]

    assert listed == [sid(current)]


def test_the_session_records_the_peer_address_not_a_client_sent_forwarded_for(
    alice: Any,
) -> None:
    response = APIClient().post(LOGIN, {"email": "alice@example.com", "password": PASSWORD},
                                format="json", REMOTE_ADDR="198.51.100.7",
                                HTTP_X_FORWARDED_FOR="1.2.3.4")

    session = RefreshSession.objects.get(pk=sid(response.json()))
    assert session.ip_address == "198.51.100.7"


def test_the_sessions_list_needs_a_token(db: Any) -> None:
    assert_error(APIClient().get(SESSIONS), 401, "not_authenticated", challenge=BEARER)


# --- revoking one session -----------------------------------------------------------------


def test_revoking_another_session_kills_its_tokens_and_keeps_the_callers(alice: Any) -> None:
    laptop, phone = log_in(), log_in(user_agent=IPHONE)

    response = as_bearer(laptop).delete(f"{SESSIONS}/{sid(phone)}")

    assert response.status_code == 204, response.content
    assert not can_use(phone) and not can_refresh(phone)
    assert can_use(laptop) and can_refresh(laptop)


def test_revoking_ones_own_session_logs_the_caller_out(alice: Any) -> None:
    body = log_in()

    assert as_bearer(body).delete(f"{SESSIONS}/{sid(body)}").status_code == 204

    assert not can_use(body)


@pytest.mark.parametrize("session_id", [
    pytest.param(lambda other: str(uuid.uuid4()), id="unknown uuid"),
    pytest.param(lambda other: other, id="another users session"),
    pytest.param(lambda other: other.replace("-", ""), id="another users session, hex form"),
    pytest.param(lambda other: "not-a-uuid", id="garbage"),
    pytest.param(lambda other: "1" * 300, id="very long"),
    pytest.param(lambda other: "%00", id="nul byte"),
    pytest.param(lambda other: "' OR 1=1 --", id="sql-ish"),
])
def test_revoking_a_session_that_is_not_the_callers_is_404(
    alice: Any, bob: Any, session_id: Any
) -> None:
    mine, bobs = log_in(), log_in("bob@example.com")

    response = as_bearer(mine).delete(f"{SESSIONS}/{session_id(sid(bobs))}")

    assert response.status_code == 404, response.content
    assert response.json()["error_code"] == "not_found"
    assert response.json()["detail"]
    assert can_use(bobs) and can_use(mine)


def test_revoking_an_already_ended_session_is_404(alice: Any) -> None:
    current, ended = log_in(), log_in()
    as_bearer(ended).post(LOGOUT)

    response = as_bearer(current).delete(f"{SESSIONS}/{sid(ended)}")

    assert response.status_code == 404
    assert response.json()["error_code"] == "not_found"


# --- logout everywhere (R46) --------------------------------------------------------------


def test_logout_all_ends_every_session_of_the_user_and_no_one_elses(alice: Any, bob: Any) -> None:
    laptop, phone = log_in(), log_in(user_agent=IPHONE)
    bobs = log_in("bob@example.com")

    response = as_bearer(phone).post(LOGOUT_ALL)

    assert response.status_code == 200, response.content
    assert response.json()["revoked"] == 2
    for body in (laptop, phone):
        assert not can_use(body)
        assert not can_refresh(body)
    assert can_use(bobs) and can_refresh(bobs)


def test_logout_all_needs_a_token(db: Any) -> None:
    assert_error(APIClient().post(LOGOUT_ALL), 401, "not_authenticated", challenge=BEARER)


# --- users/me (R61, R62) ------------------------------------------------------------------


def test_users_me_and_its_alias_return_the_user_object(alice: Any) -> None:
    client = as_bearer(log_in())

    me, alias = client.get(ME), client.get("/api/v1/auth/me")

    assert me.status_code == alias.status_code == 200
    assert me.json() == alias.json()
    assert set(me.json()) == USER_KEYS
    assert me.json()["id"] == alice.pk
    assert me.json()["email"] == "alice@example.com"
    assert me.json()["name"] == "Alice"
    assert me.json()["email_verified"] is False
    assert me["Cache-Control"] == "no-store"


def test_users_me_never_shows_the_password_hash(alice: Any) -> None:
    text = as_bearer(log_in()).get(ME).content.decode()

    alice.refresh_from_db()
    assert alice.password.split("$")[-1] not in text
    assert "password" not in text and "argon2" not in text


def test_users_me_without_credentials_is_401_with_www_authenticate(db: Any) -> None:
    assert_error(APIClient().get(ME), 401, "not_authenticated", challenge=BEARER)


def test_patching_the_name_changes_it(alice: Any) -> None:
    client = as_bearer(log_in())

    response = client.patch(ME, {"name": "Alice Liddell"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Alice Liddell"
    assert client.get(ME).json()["name"] == "Alice Liddell"
    assert set(response.json()) == USER_KEYS


def test_the_alias_accepts_the_same_patch(alice: Any) -> None:
    response = as_bearer(log_in()).patch("/api/v1/auth/me", {"name": "A."}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "A."


@pytest.mark.parametrize("field, value", [
    ("is_staff", True),
    ("is_superuser", True),
    ("is_active", False),
    ("email", "mallory@example.com"),
    ("password", "a new password 123"),
    ("id", 999),
    ("email_verified", True),
    ("date_joined", "2000-01-01T00:00:00Z"),
])
def test_patching_anything_but_the_name_is_a_400_and_changes_nothing(
    alice: Any, field: str, value: Any
) -> None:
    client = as_bearer(log_in())
    user_model = get_user_model()
    before = user_model._default_manager.filter(pk=alice.pk).values().get()

    response = client.patch(ME, {"name": "Mallory", field: value}, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error_code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == [field]
    after = user_model._default_manager.filter(pk=alice.pk).values().get()
    assert after == before
    assert client.get(ME).json()["name"] == "Alice"


@pytest.mark.parametrize("value", [123, None, True, ["x"], {"first": "x"}, "x" * 151, "a\x00b"])
def test_patching_the_name_with_a_bad_value_is_a_400(alice: Any, value: Any) -> None:
    client = as_bearer(log_in())

    response = client.patch(ME, {"name": value}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "validation_error"
    assert client.get(ME).json()["name"] == "Alice"


def test_users_me_reflects_the_current_email_under_an_old_token(alice: Any) -> None:
    """R39: the token names the user by id, so an email change does not orphan it."""
    body = log_in()
    email_field = get_user_model().get_email_field_name()
    get_user_model()._default_manager.filter(pk=alice.pk).update(
        **{email_field: "alice.new@example.com"})

    response = as_bearer(body).get(ME)

    assert response.status_code == 200
    assert response.json()["email"] == "alice.new@example.com"
    assert response.json()["id"] == alice.pk
