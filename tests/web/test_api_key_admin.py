"""The Django admin for API keys (and sessions), through the Django test client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from ainative_auth.models import APIKey, RefreshSession

ADD = "/admin/ainative_auth/apikey/add/"
CHANGELIST = "/admin/ainative_auth/apikey/"
KEY_IN_PAGE = re.compile(r"ak_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}")

pytestmark = pytest.mark.django_db


def add_key(admin_client: Client, user: Any, **fields: Any) -> Any:
    data = {"user": user.pk, "name": "ci", "scopes": "", "expires_at_0": "",
            "expires_at_1": "", "throttle_rate": "", **fields}
    return admin_client.post(ADD, data, follow=True)


def test_the_add_page_creates_a_key_and_shows_it_exactly_once(
    admin_client: Client, make_user: Any
) -> None:
    alice = make_user()
    page = admin_client.get(ADD)
    assert page.status_code == 200
    assert "secret_hash" not in page.content.decode()

    response = add_key(admin_client, alice, scopes="credits:read, keys:write",
                       throttle_rate="100/minute")
    assert response.status_code == 200
    shown = KEY_IN_PAGE.findall(response.content.decode())
    assert len(set(shown)) == 1
    plaintext = shown[0]
    key = APIKey.objects.get()
    assert key.user == alice and key.name == "ci"
    assert key.scopes == ["credits:read", "keys:write"]
    assert key.throttle_rate == "100/minute"
    assert plaintext.startswith(key.prefix + "_")
    # The key works over HTTP...
    me = APIClient().get("/api/v1/users/me", HTTP_X_API_KEY=plaintext)
    assert me.status_code == 200 and me.json()["email"] == "alice@example.com"
    # ...and is never shown again, neither in the list nor on its page.
    for url in (CHANGELIST, f"{CHANGELIST}{key.pk}/change/"):
        content = admin_client.get(url).content.decode()
        assert plaintext not in content
        assert KEY_IN_PAGE.search(content) is None
        assert key.secret_hash not in content
        assert key.prefix in content


def test_a_key_added_without_scopes_gets_the_default_once_full_access_is_confirmed(
    admin_client: Client, make_user: Any
) -> None:
    response = add_key(admin_client, make_user(), full_access="on")
    assert APIKey.objects.get().scopes == ["*"]
    assert "It has full access" in response.content.decode()


def test_a_key_added_without_scopes_asks_to_confirm_full_access(
    admin_client: Client, make_user: Any
) -> None:
    page = admin_client.get(ADD).content.decode()
    assert "Full access" in page and "full access, which needs" in page

    response = add_key(admin_client, make_user())

    assert response.status_code == 200  # the form again
    content = response.content.decode()
    assert "Without scopes this key gets full access" in content
    assert KEY_IN_PAGE.search(content) is None
    assert APIKey.objects.count() == 0


def test_a_key_with_scopes_needs_no_confirmation(
    admin_client: Client, make_user: Any
) -> None:
    add_key(admin_client, make_user(), scopes="credits:read")
    assert APIKey.objects.get().scopes == ["credits:read"]


def test_narrow_default_scopes_need_no_confirmation(
    admin_client: Client, make_user: Any, auth_settings: Any
) -> None:
    auth_settings(API_KEY_DEFAULT_SCOPES=["credits:read"])
    add_key(admin_client, make_user())
    assert APIKey.objects.get().scopes == ["credits:read"]


def test_bad_scopes_rate_or_expiry_are_form_errors(admin_client: Client, make_user: Any) -> None:
    alice = make_user()
    for fields in ({"scopes": "Not A Scope"}, {"throttle_rate": "lots"},
                   {"expires_at_0": "2000-01-01", "expires_at_1": "00:00:00"}):
        response = add_key(admin_client, alice, **fields)
        assert response.status_code == 200
        assert "errornote" in response.content.decode() or "errorlist" in response.content.decode()
        assert KEY_IN_PAGE.search(response.content.decode()) is None
    assert APIKey.objects.count() == 0


def test_the_add_page_respects_the_per_user_limit(
    admin_client: Client, make_user: Any, make_api_key: Any, auth_settings: Any
) -> None:
    auth_settings(API_KEY_MAX_PER_USER=1)
    alice = make_user()
    make_api_key(alice)
    response = add_key(admin_client, alice)
    assert "maximum" in response.content.decode()
    assert APIKey.objects.count() == 1


def test_the_list_shows_prefix_owner_scopes_and_state_never_the_hash(
    admin_client: Client, make_api_key: Any
) -> None:
    key, plaintext = make_api_key(name="deploy-bot", scopes=["credits:read"])
    content = admin_client.get(CHANGELIST).content.decode()
    for text in (key.prefix, "alice@example.com", "deploy-bot", "credits:read", "active"):
        assert text in content
    assert key.secret_hash not in content
    assert plaintext not in content


def test_search_by_prefix_and_owner_email(
    admin_client: Client, make_user: Any, make_api_key: Any
) -> None:
    alices, _ = make_api_key(name="alice-key")
    bobs, _ = make_api_key(make_user("bob@example.com", name="Bob"), name="bob-key")
    for term, present, absent in (
        (alices.prefix, alices, bobs),
        (alices.public_id, alices, bobs),
        ("bob@example.com", bobs, alices),
    ):
        content = admin_client.get(CHANGELIST, {"q": term}).content.decode()
        assert present.prefix in content, term
        assert absent.prefix not in content, term


def test_the_revoke_action_revokes_the_selected_keys(
    admin_client: Client, make_api_key: Any
) -> None:
    first, first_plaintext = make_api_key(name="first")
    second, _ = make_api_key(name="second")
    kept, kept_plaintext = make_api_key(name="kept")
    response = admin_client.post(CHANGELIST, {
        "action": "revoke_selected", "_selected_action": [first.pk, second.pk],
    }, follow=True)
    assert response.status_code == 200
    assert "Revoked 2 API key(s)." in response.content.decode()
    assert set(APIKey.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)) == {
        first.pk, second.pk}
    client = APIClient()
    assert client.get("/api/v1/users/me", HTTP_X_API_KEY=first_plaintext).status_code == 401
    assert client.get("/api/v1/users/me", HTTP_X_API_KEY=kept_plaintext).status_code == 200
    assert "revoked" in admin_client.get(CHANGELIST).content.decode()


def test_sessions_are_listed_and_can_be_revoked(
    admin_client: Client, bearer_client: APIClient, admin_user: Any
) -> None:
    # The admin's own session is a row too (the admin's login form makes one).
    session = RefreshSession.objects.exclude(user=admin_user).get()
    assert RefreshSession.objects.filter(user=admin_user, method="password").count() == 1
    content = admin_client.get("/admin/ainative_auth/refreshsession/").content.decode()
    assert str(session.id) in content
    assert session.salt not in content
    assert admin_client.get("/admin/ainative_auth/refreshsession/add/").status_code == 403
    admin_client.post("/admin/ainative_auth/refreshsession/", {
        "action": "revoke_selected", "_selected_action": [str(session.id)],
    })
    assert bearer_client.get("/api/v1/users/me").status_code == 401


def test_the_state_filter_separates_active_expired_and_revoked_keys(
    admin_client: Client, make_api_key: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone


    active, _ = make_api_key(name="active-key")
    expired, _ = make_api_key(name="expired-key")
    revoked, _ = make_api_key(name="revoked-key")
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    APIKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())

    def listed(state: str) -> set[str]:
        page = admin_client.get(f"{CHANGELIST}?state={state}").content.decode()
        return {name for name in ("active-key", "expired-key", "revoked-key") if name in page}

    assert listed("active") == {"active-key"}
    assert listed("expired") == {"expired-key"}
    assert listed("revoked") == {"revoked-key"}
