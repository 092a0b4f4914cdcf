"""POST auth/refresh: rotation, reuse detection, the grace window, lifetimes (R34, R40-R44, R49).

Time is frozen and moved with the ``clock`` fixture (the app's one clock), never slept.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ainative_auth.credentials.keys import refresh_token_for
from ainative_auth.models import RefreshSession
from ainative_auth.signals import refresh_token_reused
from tests.conftest import FrozenClock, assert_error, me

pytestmark = pytest.mark.django_db

REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/users/me"
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in", "user"}


def refresh(token: Any) -> Any:
    return APIClient().post(REFRESH, {"refresh_token": token}, format="json")


def session_of(refresh_token: str) -> RefreshSession:
    return RefreshSession.objects.get(pk=refresh_token.split(".")[0])


# --- rotation (R40) -----------------------------------------------------------------------


def test_every_refresh_rotates_the_refresh_token(tokens: dict[str, Any]) -> None:
    r0 = tokens["refresh_token"]
    first = refresh(r0)
    assert first.status_code == 200, first.content
    r1 = first.json()["refresh_token"]
    second = refresh(r1)
    assert second.status_code == 200, second.content
    r2 = second.json()["refresh_token"]

    assert len({r0, r1, r2}) == 3
    assert len({tokens["access_token"], first.json()["access_token"],
                second.json()["access_token"]}) == 3
    assert session_of(r2).generation == 2


def test_refresh_answers_the_documented_token_response(tokens: dict[str, Any]) -> None:
    response = refresh(tokens["refresh_token"])

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    assert body["user"]["email"] == "alice@example.com"
    assert set(body["user"]) == {"id", "email", "name", "email_verified", "created_at"}
    assert response["Cache-Control"] == "no-store"
    assert me(body["access_token"]).status_code == 200


def test_refreshing_keeps_the_same_session(tokens: dict[str, Any]) -> None:
    before = session_of(tokens["refresh_token"])

    body = refresh(tokens["refresh_token"]).json()

    after = session_of(body["refresh_token"])
    assert after.pk == before.pk
    assert after.absolute_expires_at == before.absolute_expires_at
    assert RefreshSession.objects.count() == 1


# --- reuse detection (R41) ----------------------------------------------------------------


def test_replayed_refresh_token_outside_the_grace_window_revokes_the_session(
    tokens: dict[str, Any], clock: FrozenClock, login: Any
) -> None:
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    refresh_token_reused.connect(receiver)
    try:
        r0 = tokens["refresh_token"]
        rotated = refresh(r0).json()
        r1, a1 = rotated["refresh_token"], rotated["access_token"]
        clock.advance(11)  # REFRESH_REUSE_INTERVAL defaults to 10 s

        assert_error(refresh(r0), 401, "refresh_token_reused")
    finally:
        refresh_token_reused.disconnect(receiver)

    assert_error(refresh(r1), 401, "refresh_token_invalid")
    assert_error(me(a1), 401, "token_invalid")
    assert_error(me(tokens["access_token"]), 401, "token_invalid")
    session = session_of(r0)
    assert session.revoked_at is not None
    assert session.revoke_reason == "reuse_detected"
    assert len(received) == 1 and received[0]["session"].pk == session.pk
    # The account itself is fine: a fresh login starts a new, working session.
    assert login().status_code == 200


def test_replay_with_a_zero_reuse_interval_revokes_even_at_the_same_instant(
    tokens: dict[str, Any], clock: FrozenClock, auth_settings: Any
) -> None:
    auth_settings(REFRESH_REUSE_INTERVAL=0)
    r0 = tokens["refresh_token"]
    r1 = refresh(r0).json()["refresh_token"]

    assert_error(refresh(r0), 401, "refresh_token_reused")
    assert_error(refresh(r1), 401, "refresh_token_invalid")


def test_replaying_an_older_generation_inside_the_grace_window_revokes_the_session(
    tokens: dict[str, Any], clock: FrozenClock
) -> None:
    r0 = tokens["refresh_token"]
    r1 = refresh(r0).json()["refresh_token"]
    clock.advance(1)
    latest = refresh(r1).json()
    clock.advance(1)

    assert_error(refresh(r0), 401, "refresh_token_reused")
    assert_error(refresh(latest["refresh_token"]), 401, "refresh_token_invalid")
    assert_error(me(latest["access_token"]), 401, "token_invalid")


def test_replaying_the_previous_token_after_the_window_revokes_the_session(
    tokens: dict[str, Any], clock: FrozenClock
) -> None:
    r1 = refresh(tokens["refresh_token"]).json()["refresh_token"]
    clock.advance(30)
    r2 = refresh(r1).json()["refresh_token"]
    clock.advance(10.001)

    assert_error(refresh(r1), 401, "refresh_token_reused")
    assert_error(refresh(r2), 401, "refresh_token_invalid")


# --- the grace window (R42) ---------------------------------------------------------------


def test_replaying_the_previous_token_inside_the_grace_window_returns_the_same_successor(
    tokens: dict[str, Any], clock: FrozenClock
) -> None:
    r0 = tokens["refresh_token"]
    first = refresh(r0).json()
    clock.advance(5)

    again = refresh(r0)

    assert again.status_code == 200, again.content
    assert again.json()["refresh_token"] == first["refresh_token"]
    session = session_of(r0)
    assert session.revoked_at is None
    assert session.generation == 1
    # Both answers' access tokens work, and the lineage goes on from the one successor.
    assert me(first["access_token"]).status_code == 200
    assert me(again.json()["access_token"]).status_code == 200
    assert refresh(first["refresh_token"]).status_code == 200


def test_the_grace_window_ends_after_exactly_the_reuse_interval(
    tokens: dict[str, Any], clock: FrozenClock, auth_settings: Any
) -> None:
    auth_settings(REFRESH_REUSE_INTERVAL=3)
    r0 = tokens["refresh_token"]
    r1 = refresh(r0).json()["refresh_token"]
    clock.advance(3)
    assert refresh(r0).json()["refresh_token"] == r1
    clock.advance(0.001)

    assert_error(refresh(r0), 401, "refresh_token_reused")


def test_inside_the_window_only_the_immediate_predecessor_gets_the_successor(
    tokens: dict[str, Any], clock: FrozenClock
) -> None:
    r1 = refresh(tokens["refresh_token"]).json()["refresh_token"]
    r2 = refresh(r1).json()["refresh_token"]
    clock.advance(2)

    again = refresh(r1)

    assert again.status_code == 200, again.content
    assert again.json()["refresh_token"] == r2
    assert session_of(r2).revoked_at is None


# --- token kinds (R34) and bad values -----------------------------------------------------


def test_an_access_token_is_not_accepted_as_a_refresh_token(tokens: dict[str, Any]) -> None:
    assert_error(refresh(tokens["access_token"]), 401, "refresh_token_invalid")
    assert session_of(tokens["refresh_token"]).generation == 0


def test_a_refresh_token_is_not_accepted_as_a_bearer_token(tokens: dict[str, Any]) -> None:
    assert_error(me(tokens["refresh_token"]), 401, "token_invalid")


def _forged_generation(tokens: dict[str, Any]) -> str:
    session = session_of(tokens["refresh_token"])
    # The right format and session, a wrong secret (the salt is not known to a client).
    return refresh_token_for(session.pk, 1, "0" * 32)


BAD_REFRESH_TOKENS: list[tuple[str, Any]] = [
    ("empty", ""),
    ("garbage", "garbage"),
    ("three dots", "a.b.c"),
    ("one megabyte", "a" * 1_000_000),
    ("integer", 12345),
    ("float", 1.5),
    ("boolean", True),
    ("null", None),
    ("list", ["x"]),
    ("object", {"refresh_token": "x"}),
    ("nul byte", "abc\x00def"),
    ("unknown session", "0" * 32 + ".0." + "A" * 43),
    ("huge generation", "0" * 32 + ".999999999." + "A" * 43),
]


@pytest.mark.parametrize("value", [v for _, v in BAD_REFRESH_TOKENS],
                         ids=[name for name, _ in BAD_REFRESH_TOKENS])
def test_a_malformed_refresh_token_is_a_client_error_not_a_server_error(
    tokens: dict[str, Any], value: Any
) -> None:
    response = refresh(value)

    assert response.status_code in (400, 401), response.content
    body = response.json()
    assert body["error_code"] in ("validation_error", "refresh_token_invalid")
    assert body["detail"]
    # Nothing about the real session moved.
    session = session_of(tokens["refresh_token"])
    assert session.generation == 0 and session.revoked_at is None


@pytest.mark.parametrize("mangle", [
    pytest.param(lambda t: t + "==", id="appended padding"),
    pytest.param(lambda t: t.upper(), id="upper-cased"),
    pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="last char changed"),
    pytest.param(lambda t: t.replace(".", " ", 1), id="space for a dot"),
    pytest.param(lambda t: t.replace(".0.", ".00."), id="zero-padded generation"),
])
def test_a_mangled_refresh_token_is_rejected_without_touching_the_session(
    tokens: dict[str, Any], mangle: Any
) -> None:
    response = refresh(mangle(tokens["refresh_token"]))

    assert response.status_code in (400, 401), response.content
    assert response.json()["error_code"] in ("validation_error", "refresh_token_invalid")
    session = session_of(tokens["refresh_token"])
    assert session.generation == 0 and session.revoked_at is None
    assert refresh(tokens["refresh_token"]).status_code == 200


def test_a_token_with_a_forged_secret_is_rejected_and_revokes_nothing(
    tokens: dict[str, Any]
) -> None:
    assert_error(refresh(_forged_generation(tokens)), 401, "refresh_token_invalid")
    assert session_of(tokens["refresh_token"]).revoked_at is None


def test_a_missing_refresh_token_field_is_a_validation_error(db: Any) -> None:
    response = APIClient().post(REFRESH, {}, format="json")

    assert_error(response, 400, "validation_error")
    assert response.json()["errors"][0]["field"] == "refresh_token"


def test_refresh_after_logout_is_rejected(tokens: dict[str, Any]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert client.post("/api/v1/auth/logout").status_code == 200

    assert_error(refresh(tokens["refresh_token"]), 401, "refresh_token_invalid")


# --- idle and absolute lifetimes (R44) ----------------------------------------------------


def test_an_unused_session_expires_after_the_idle_lifetime(
    make_user: Any, login: Any, clock: FrozenClock, auth_settings: Any
) -> None:
    auth_settings(REFRESH_TOKEN_LIFETIME=100, SESSION_ABSOLUTE_LIFETIME=1000)
    make_user()
    r0 = login().json()["refresh_token"]
    clock.advance(101)

    assert_error(refresh(r0), 401, "refresh_token_invalid")


def test_refreshing_pushes_the_idle_expiry_forward(
    make_user: Any, login: Any, clock: FrozenClock, auth_settings: Any
) -> None:
    auth_settings(REFRESH_TOKEN_LIFETIME=100, SESSION_ABSOLUTE_LIFETIME=1000)
    make_user()
    token = login().json()["refresh_token"]
    for _ in range(5):  # 450 s in all, far beyond one idle lifetime
        clock.advance(90)
        response = refresh(token)
        assert response.status_code == 200, response.content
        token = response.json()["refresh_token"]


def test_refreshing_never_extends_the_absolute_lifetime(
    make_user: Any, login: Any, clock: FrozenClock, auth_settings: Any
) -> None:
    auth_settings(REFRESH_TOKEN_LIFETIME=100, SESSION_ABSOLUTE_LIFETIME=250)
    make_user()
    body = login().json()
    for _ in range(3):  # at 80, 160 and 240 s: alive, although the idle expiry is capped
        clock.advance(80)
        response = refresh(body["refresh_token"])
        assert response.status_code == 200, response.content
        body = response.json()
    assert session_of(body["refresh_token"]).expires_at <= session_of(
        body["refresh_token"]).absolute_expires_at

    clock.advance(11)  # 251 s: past the absolute end, though used 11 s ago

    assert_error(refresh(body["refresh_token"]), 401, "refresh_token_invalid")
    assert_error(me(body["access_token"]), 401, "token_invalid")


# --- account state (R49) ------------------------------------------------------------------


def test_an_inactive_users_refresh_token_is_rejected(tokens: dict[str, Any]) -> None:
    get_user_model()._default_manager.update(is_active=False)

    assert_error(refresh(tokens["refresh_token"]), 401, "refresh_token_invalid")


def test_a_deleted_users_refresh_token_is_401_not_404(tokens: dict[str, Any]) -> None:
    get_user_model()._default_manager.all().delete()

    assert_error(refresh(tokens["refresh_token"]), 401, "refresh_token_invalid")


def test_refreshing_one_session_is_limited_per_session_across_ips(api, tokens, settings, clock):
    settings.AINATIVE_AUTH = {
        **settings.AINATIVE_AUTH,
        "THROTTLE_RATES": {**settings.AINATIVE_AUTH["THROTTLE_RATES"], "refresh": "2/minute"},
    }
    token = tokens["refresh_token"]
    statuses = []
    for n in range(3):
        response = api.post("/api/v1/auth/refresh", {"refresh_token": token}, format="json",
                            REMOTE_ADDR=f"10.7.0.{n}")
        statuses.append(response.status_code)
        if response.status_code == 200:
            token = response.json()["refresh_token"]

    assert statuses == [200, 200, 429]
    assert response.json()["error_code"] == "throttled"
