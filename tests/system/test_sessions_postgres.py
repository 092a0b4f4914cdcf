"""Concurrency on PostgreSQL: one refresh token used in parallel (C-2), logout racing a
refresh (C-3). R43: rotation is one conditional UPDATE, so a session never forks.

Run with
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/test``
``pytest tests/system/test_sessions_postgres.py``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from ainative_auth.models import RefreshSession
from tests.concurrency import run_together
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"
PARALLEL = 20


def log_in() -> dict[str, Any]:
    response = APIClient().post(LOGIN, {"email": "alice@example.com", "password": PASSWORD},
                                format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str) -> tuple[int, dict[str, Any]]:
    response = APIClient().post(REFRESH, {"refresh_token": token}, format="json")
    return response.status_code, response.json()


def logout(access: str) -> int:
    return APIClient().post(LOGOUT, HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def me_status(access: str) -> int:
    return APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def session_of(refresh_token: str) -> RefreshSession:
    return RefreshSession.objects.get(pk=refresh_token.split(".")[0])


@pytest.fixture
def alice(make_user: Any) -> Any:
    return make_user()


def test_the_database_is_postgresql() -> None:
    assert connection.vendor == "postgresql"


def test_parallel_refreshes_of_one_token_all_get_the_same_successor(alice: Any) -> None:
    """C-2, grace mode (the default): 20 x 200 with one successor, one generation step."""
    for _ in range(10):
        r0 = log_in()["refresh_token"]

        results = run_together([partial(refresh, r0)] * PARALLEL)

        assert [status for status, _ in results] == [200] * PARALLEL, results
        successors = {body["refresh_token"] for _, body in results}
        assert len(successors) == 1
        session = session_of(r0)
        assert session.generation == 1
        assert session.revoked_at is None
        (r1,) = successors
        assert all(me_status(body["access_token"]) == 200 for _, body in results[:3])
        status, body = refresh(r1)
        assert status == 200, body


def test_parallel_refreshes_in_strict_mode_never_fork_the_session(
    alice: Any, auth_settings: Any
) -> None:
    """C-2, strict mode (REFRESH_REUSE_INTERVAL=0): exactly one 200, no two live lineages.

    The losers are replays by definition, so they revoke the session (the documented price
    of strict mode, which is why the grace window is the default)."""
    auth_settings(REFRESH_REUSE_INTERVAL=0)
    for _ in range(10):
        r0 = log_in()["refresh_token"]

        results = run_together([partial(refresh, r0)] * PARALLEL)

        statuses = [status for status, _ in results]
        assert statuses.count(200) == 1, statuses
        assert set(statuses) == {200, 401}
        assert {body["error_code"] for status, body in results if status == 401} <= {
            "refresh_token_reused", "refresh_token_invalid"}
        assert session_of(r0).generation == 1
        winners = [body for status, body in results if status == 200]
        live = [body for body in winners if refresh(body["refresh_token"])[0] == 200]
        assert len(live) <= 1


def test_logout_racing_a_refresh_always_ends_revoked(alice: Any) -> None:
    """C-3: whichever wins, the session ends revoked and whatever the refresh handed out
    is dead afterwards."""
    refresh_won = 0
    for _ in range(30):
        tokens = log_in()

        logout_status, (refresh_status, refreshed) = run_together([
            partial(logout, tokens["access_token"]),
            partial(refresh, tokens["refresh_token"]),
        ])

        assert logout_status == 200
        assert refresh_status in (200, 401), refreshed
        session = session_of(tokens["refresh_token"])
        assert session.revoked_at is not None
        assert refresh(tokens["refresh_token"])[0] == 401
        assert me_status(tokens["access_token"]) == 401
        if refresh_status == 200:
            refresh_won += 1
            assert refresh(refreshed["refresh_token"])[0] == 401
            assert me_status(refreshed["access_token"]) == 401
        else:
            assert refreshed["error_code"] == "refresh_token_invalid"
    # Not asserted (scheduling decides), but a run where one side always wins tests less.
    print(f"refresh won {refresh_won} of 30 races")


def test_logout_racing_many_refreshes_of_a_rotated_token_ends_revoked(alice: Any) -> None:
    """C-3 with R1 (a token that has been rotated once) and several refreshing tabs."""
    for _ in range(10):
        tokens = log_in()
        status, rotated = refresh(tokens["refresh_token"])
        assert status == 200

        results = run_together(
            [partial(logout, rotated["access_token"])]
            + [partial(refresh, rotated["refresh_token"])] * 5
        )

        assert results[0] == 200
        assert session_of(rotated["refresh_token"]).revoked_at is not None
        for status, body in results[1:]:
            if status == 200:
                assert refresh(body["refresh_token"])[0] == 401
                assert me_status(body["access_token"]) == 401
