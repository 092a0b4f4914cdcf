"""Account state: deactivated and deleted users lose every credential at once (R46, R49, R50)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ainative_auth.models import RefreshSession
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/users/me"


def get_me(access: str) -> Any:
    return APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")


def refresh(token: str) -> Any:
    return APIClient().post(REFRESH, {"refresh_token": token}, format="json")


def log_in(email: str = "alice@example.com", password: str = PASSWORD) -> Any:
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json")


def deactivate(user: Any) -> None:
    user.is_active = False
    user.save()


@pytest.fixture
def alice(make_user: Any) -> Any:
    return make_user()


# --- deactivation -------------------------------------------------------------------------


def test_a_deactivated_users_access_token_is_401_on_the_next_request(alice: Any) -> None:
    body = log_in().json()
    assert get_me(body["access_token"]).status_code == 200

    deactivate(alice)

    assert_error(get_me(body["access_token"]), 401, "token_invalid")


def test_a_deactivated_users_refresh_token_is_401(alice: Any) -> None:
    body = log_in().json()

    deactivate(alice)

    assert_error(refresh(body["refresh_token"]), 401, "refresh_token_invalid")


def test_a_deactivated_user_cannot_log_in_and_learns_nothing_about_why(
    alice: Any, make_user: Any
) -> None:
    make_user(email="bob@example.com")
    wrong_password = log_in("bob@example.com", "not the password at all")

    deactivate(alice)
    response = log_in()

    assert_error(response, 401, "invalid_credentials")
    assert response.content == wrong_password.content
    assert RefreshSession.objects.filter(user=alice).count() == 0


def test_a_deactivation_by_queryset_update_still_locks_the_user_out(alice: Any) -> None:
    """A queryset update skips signals; the per-request is_active check still holds."""
    body = log_in().json()

    get_user_model()._default_manager.filter(pk=alice.pk).update(is_active=False)

    assert_error(get_me(body["access_token"]), 401, "token_invalid")
    assert_error(refresh(body["refresh_token"]), 401, "refresh_token_invalid")


def test_deactivation_ends_the_users_sessions_for_good(alice: Any, make_user: Any) -> None:
    """R46: reactivating the account does not bring the old sessions back."""
    bob = make_user(email="bob@example.com")
    body, bobs = log_in().json(), log_in("bob@example.com").json()

    deactivate(alice)
    alice.is_active = True
    alice.save()

    assert_error(get_me(body["access_token"]), 401, "token_invalid")
    assert_error(refresh(body["refresh_token"]), 401, "refresh_token_invalid")
    assert RefreshSession.objects.get(user=alice).revoke_reason == "deactivated"
    assert get_me(bobs["access_token"]).status_code == 200
    assert RefreshSession.objects.get(user=bob).revoked_at is None
    # The account works again with a fresh login.
    assert log_in().status_code == 200


def test_saving_an_active_user_leaves_their_sessions_alone(alice: Any) -> None:
    body = log_in().json()

    alice.save()

    assert get_me(body["access_token"]).status_code == 200


# --- deletion -----------------------------------------------------------------------------


def test_a_deleted_users_tokens_are_401_not_404_or_500(alice: Any) -> None:
    body = log_in().json()

    alice.delete()

    assert_error(get_me(body["access_token"]), 401, "token_invalid")
    assert_error(refresh(body["refresh_token"]), 401, "refresh_token_invalid")
    assert_error(log_in(), 401, "invalid_credentials")


# --- no default accounts (R50) ------------------------------------------------------------


def test_a_fresh_install_has_no_accounts(db: Any) -> None:
    assert get_user_model()._default_manager.count() == 0


@pytest.mark.parametrize("email, password", [
    ("admin@example.com", "admin"),
    ("admin@localhost", "admin"),
    ("test@example.com", "test"),
    ("root@localhost", "root"),
])
def test_default_credentials_do_not_log_in(db: Any, email: str, password: str) -> None:
    assert_error(log_in(email, password), 401, "invalid_credentials")
