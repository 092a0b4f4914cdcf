"""What the authentication hot path's optimizations must never change.

- the compiled session lookup returns the ORM's objects (deferred columns load on access);
- ``RefreshSession.is_live`` and ``RefreshSession.objects.live()`` are one rule;
- the verified-token cache never lets through what a fresh verification would refuse:
  expiry, a retired key, another audience or issuer;
- a Bearer request costs exactly one query, and revocation, deactivation and expiry still
  take effect on the next request of the same process.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from ainative_auth.credentials import tokens as access_tokens
from ainative_auth.credentials.lookups import SESSION_FIELDS, fetch_session
from ainative_auth.models import RefreshSession
from ainative_auth.services import sessions
from tests.conftest import FrozenClock, me

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


def test_the_compiled_session_lookup_returns_what_the_orm_returns(
    tokens: dict[str, Any], django_assert_num_queries: Any
) -> None:
    session = RefreshSession.objects.get()
    with django_assert_num_queries(1):
        fetched = fetch_session(session.pk)
        assert fetched is not None
        user = fetched.user
        loaded = {name: getattr(fetched, RefreshSession._meta.get_field(name).attname)
                  for name in SESSION_FIELDS}
    expected = RefreshSession.objects.select_related("user").get(pk=session.pk)
    for name, value in loaded.items():
        assert value == getattr(expected, RefreshSession._meta.get_field(name).attname), name
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(expected.user, field.attname), field.name
    # The deferred columns are still there, one query away.
    with django_assert_num_queries(1):
        assert fetched.device == expected.device
    assert fetched.user_agent == expected.user_agent and fetched.salt == expected.salt
    assert not fetched._state.adding
    assert fetch_session(sessions.uuid.uuid4()) is None


def test_is_live_and_the_live_queryset_are_one_rule(
    make_user: Any, clock: FrozenClock
) -> None:
    user = make_user()
    now = clock.datetime
    states = {
        "live": {},
        "revoked": {"revoked_at": now - timedelta(seconds=1)},
        "idle": {"expires_at": now},
        "absolute": {"absolute_expires_at": now - timedelta(seconds=1)},
        "just_alive": {"expires_at": now + timedelta(seconds=1)},
    }
    for name, changes in states.items():
        session = sessions.start_session(user, user_agent=name)
        RefreshSession.objects.filter(pk=session.pk).update(**changes)
    by_queryset = set(RefreshSession.objects.live(now).values_list("user_agent", flat=True))
    by_instance = {s.user_agent for s in RefreshSession.objects.all() if s.is_live(now)}
    assert by_queryset == by_instance == {"live", "just_alive"}


def test_a_bearer_request_is_one_query(
    tokens: dict[str, Any], django_assert_num_queries: Any
) -> None:
    me(tokens["access_token"])  # first use on this connection compiles the lookup
    with django_assert_num_queries(2):  # the session + user lookup, and email_verified
        assert me(tokens["access_token"]).status_code == 200


def test_a_cached_token_still_expires(clock: FrozenClock, tokens: dict[str, Any]) -> None:
    # (clock first: the tokens are minted under the frozen clock)
    access = tokens["access_token"]
    assert me(access).status_code == 200  # verified now, and cached
    claims = tokens_claims(access)
    clock.set(tokens_datetime(claims["exp"] + 31))  # past exp + the 30 s leeway
    response = me(access)
    assert response.status_code == 401
    assert response.json()["error_code"] == "token_invalid"


def test_a_cached_token_dies_with_the_key_that_signed_it(
    settings: Any, make_user: Any, login: Any, auth_settings: Any
) -> None:
    auth_settings(SIGNING_KEY="old-key-" * 8)
    make_user()
    access = login().json()["access_token"]
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "SIGNING_KEY": "new-key-" * 8,
                              "SIGNING_KEY_FALLBACKS": ["old-key-" * 8]}
    assert me(access).status_code == 200  # verified under the fallback, and cached
    auth_settings(SIGNING_KEY_FALLBACKS=[])
    assert me(access).status_code == 401


@pytest.mark.parametrize(("setting", "value"), [("JWT_AUDIENCE", "another-api"),
                                                ("JWT_ISSUER", "another-issuer")])
def test_a_cached_token_is_judged_again_under_another_audience_or_issuer(
    settings: Any, tokens: dict[str, Any], setting: str, value: str
) -> None:
    assert me(tokens["access_token"]).status_code == 200
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, setting: value}
    assert me(tokens["access_token"]).status_code == 401


def test_a_refused_token_is_not_cached(tokens: dict[str, Any]) -> None:
    tampered = tokens["access_token"][:-2] + ("AA" if not tokens["access_token"].endswith("AA")
                                              else "BB")
    tokens_module_cache_clear()
    assert me(tampered).status_code == 401
    assert access_tokens._verified_claims.cache_info().currsize == 0


def test_revocation_and_deactivation_are_seen_by_the_next_request_of_the_same_process(
    tokens: dict[str, Any], make_user: Any
) -> None:
    access = tokens["access_token"]
    assert me(access).status_code == 200
    session = RefreshSession.objects.get()
    get_user_model().objects.filter(pk=session.user_id).update(is_active=False)
    assert me(access).status_code == 401
    get_user_model().objects.filter(pk=session.user_id).update(is_active=True)
    assert me(access).status_code == 200
    sessions.revoke_session(session, "logout")
    assert me(access).status_code == 401


def tokens_claims(access: str) -> dict[str, Any]:
    return access_tokens.decode_access_token(access)


def tokens_datetime(timestamp: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC)


def tokens_module_cache_clear() -> None:
    access_tokens._verified_claims.cache_clear()
