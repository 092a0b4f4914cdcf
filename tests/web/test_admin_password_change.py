"""A password or an address changed in the Django admin ends the user's sessions (security
review F3): the operator's remedy for a compromised account must not leave the stolen
access and refresh tokens working. An operator signs in through the admin's login form.
(The other ways, ``changepassword`` and ``set_password()`` + ``save()``, are in
``tests/flows/test_password_changed_anywhere.py``.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.models import RefreshSession
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db

OPERATOR = "root@example.com"
OPERATOR_PASSWORD = "the operator's long passphrase"
NEW_PASSWORD = "a fresh passphrase from the operator"


@pytest.fixture
def operator() -> Client:
    """A superuser signed in through /admin/login/."""
    get_user_model()._default_manager.create_superuser(
        username=OPERATOR, email=OPERATOR, password=OPERATOR_PASSWORD
    )
    client = Client()
    response = client.post(reverse("admin:login"),
                           {"username": OPERATOR, "password": OPERATOR_PASSWORD,
                            "next": reverse("admin:index")})
    assert response.status_code == 302, response.content[:300]
    assert client.get(reverse("admin:index")).status_code == 200
    return client


def assert_tokens_dead(tokens: dict[str, Any]) -> None:
    """The access token and the refresh token are refused on their next request."""
    api = APIClient()
    me = api.get(reverse("ainative_auth:me"), HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert_error(me, 401)
    refreshed = api.post(reverse("ainative_auth:refresh"),
                         {"refresh_token": tokens["refresh_token"]}, format="json")
    assert_error(refreshed, 401)


def assert_tokens_alive(tokens: dict[str, Any]) -> None:
    api = APIClient()
    me = api.get(reverse("ainative_auth:me"), HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert me.status_code == 200
    refreshed = api.post(reverse("ainative_auth:refresh"),
                         {"refresh_token": tokens["refresh_token"]}, format="json")
    assert refreshed.status_code == 200


def change_form(user: Any, **changes: str) -> dict[str, str]:
    """The admin's user change form as the page would post it, with ``changes``."""
    data = {
        "username": user.username, "email": user.email, "first_name": user.first_name,
        "last_name": user.last_name, "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    return {**data, **changes}


def test_a_password_set_in_the_admin_ends_every_session(
    operator: Client, make_user: Any, login: Any
) -> None:
    alice = make_user()
    stolen = login().json()
    other = login().json()

    response = operator.post(reverse("admin:auth_user_password_change", args=[alice.pk]),
                             {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                              "usable_password": "true"})

    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == reverse("admin:auth_user_change", args=[alice.pk])
    assert_tokens_dead(stolen)
    assert_tokens_dead(other)
    assert_error(login(), 401, "invalid_credentials")
    assert login(password=NEW_PASSWORD).status_code == 200
    revoked = RefreshSession.objects.exclude(revoked_at=None)
    assert set(revoked.values_list("revoke_reason", flat=True)) == {"password_changed"}


def test_a_password_disabled_in_the_admin_ends_every_session(
    operator: Client, make_user: Any, login: Any
) -> None:
    alice = make_user()
    stolen = login().json()

    response = operator.post(reverse("admin:auth_user_password_change", args=[alice.pk]),
                             {"usable_password": "false", "unset-password": "1"})

    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == reverse("admin:auth_user_change", args=[alice.pk])
    alice.refresh_from_db()
    assert not alice.has_usable_password()
    assert_tokens_dead(stolen)


def test_an_address_changed_in_the_admin_ends_every_session(
    operator: Client, make_user: Any, login: Any
) -> None:
    alice = make_user()
    stolen = login().json()

    response = operator.post(reverse("admin:auth_user_change", args=[alice.pk]),
                             change_form(alice, email="alice.new@example.com"))

    assert response.status_code == 302, response.content[:2000]
    assert response["Location"] == reverse("admin:auth_user_changelist")
    alice.refresh_from_db()
    assert alice.email == "alice.new@example.com"
    assert_tokens_dead(stolen)
    assert set(RefreshSession.objects.filter(user=alice)
               .values_list("revoke_reason", flat=True)) == {"email_changed"}


def test_other_changes_in_the_admin_keep_the_sessions(
    operator: Client, make_user: Any, login: Any
) -> None:
    alice = make_user()
    tokens = login().json()

    response = operator.post(reverse("admin:auth_user_change", args=[alice.pk]),
                             change_form(alice, first_name="Alicia"))

    assert response.status_code == 302, response.content[:2000]
    alice.refresh_from_db()
    assert alice.first_name == "Alicia"
    assert alice.check_password(PASSWORD)
    assert_tokens_alive(tokens)
