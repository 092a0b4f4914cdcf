"""A password or an address changed anywhere ends the user's sessions (security review F3),
not only through our services: ``manage.py changepassword``, ``set_password()`` +
``save()`` in a project's code, ``set_unusable_password()``, an address moved by a save.
One ``post_save`` receiver revokes; our services tell it the reason and the session to
keep. A login that only re-hashes the password ends nothing. (The admin's forms are in
``tests/web/test_admin_password_change.py``.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.models import AccountEmail, RefreshSession
from ainative_auth.services import passwords
from ainative_auth.signals import session_revoked
from tests.conftest import PASSWORD, assert_error
from tests.hashers import old_pbkdf2_hash

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"
User = get_user_model()


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
    assert me.status_code == 200, me.content
    refreshed = api.post(reverse("ainative_auth:refresh"),
                         {"refresh_token": tokens["refresh_token"]}, format="json")
    assert refreshed.status_code == 200, refreshed.content


@pytest.fixture
def revocations() -> Any:
    """Every ``session_revoked`` sent: (session id, reason)."""
    seen: list[tuple[Any, str]] = []

    def listen(sender: Any, session: Any, reason: str, **kwargs: Any) -> None:
        seen.append((session.pk, reason))

    session_revoked.connect(listen, dispatch_uid="test-revocations")
    yield seen
    session_revoked.disconnect(dispatch_uid="test-revocations")


def fresh(user: Any) -> Any:
    """The user as a project's code would load it."""
    return User._default_manager.get(pk=user.pk)


# --- outside the services ------------------------------------------------------------------


def test_changepassword_ends_every_session(make_user: Any, login: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    make_user()
    stolen = login().json()
    answers = iter([NEW_PASSWORD, NEW_PASSWORD])
    monkeypatch.setattr("django.contrib.auth.management.commands.changepassword.getpass.getpass",
                        lambda prompt="": next(answers))

    call_command("changepassword", "alice@example.com", stdout=None)

    assert_tokens_dead(stolen)
    assert login(password=NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize("update_fields", [None, ["password"]], ids=["save", "update_fields"])
def test_set_password_and_save_end_every_session(
    make_user: Any, login: Any, update_fields: list[str] | None, revocations: list
) -> None:
    alice = make_user()
    first, second = login().json(), login().json()

    user = fresh(alice)
    user.set_password(NEW_PASSWORD)
    user.save(update_fields=update_fields)

    assert_tokens_dead(first)
    assert_tokens_dead(second)
    assert sorted(reason for _, reason in revocations) == ["password_changed"] * 2


def test_set_unusable_password_and_save_end_every_session(make_user: Any, login: Any) -> None:
    alice = make_user()
    stolen = login().json()

    user = fresh(alice)
    user.set_unusable_password()
    user.save()

    assert_tokens_dead(stolen)


def test_saving_an_unchanged_user_ends_nothing(make_user: Any, login: Any) -> None:
    alice = make_user()
    social_only = make_user(email="bob@example.com")
    bob = login("bob@example.com").json()
    User._default_manager.filter(pk=social_only.pk).update(password=make_password(None))
    tokens = login().json()

    for user in (fresh(alice), fresh(social_only)):
        user.first_name = "Renamed"
        user.save()

    assert_tokens_alive(tokens)
    assert_tokens_alive(bob)


def test_a_login_that_rehashes_the_password_keeps_the_other_sessions(
    make_user: Any, login: Any, revocations: list
) -> None:
    alice = make_user()
    other = login().json()
    User._default_manager.filter(pk=alice.pk).update(
        password=old_pbkdf2_hash(PASSWORD))

    assert login().status_code == 200  # re-hashes with argon2id

    assert fresh(alice).password.startswith("argon2$argon2id$")
    assert_tokens_alive(other)
    assert revocations == []


def test_an_address_moved_by_a_save_ends_every_session(make_user: Any, login: Any,
                                                       revocations: list) -> None:
    alice = make_user()
    stolen = login().json()

    user = fresh(alice)
    user.email = "alice.elsewhere@example.com"
    user.save()

    assert_tokens_dead(stolen)
    assert [reason for _, reason in revocations] == ["email_changed"]


def test_an_address_respelled_to_its_canonical_form_ends_nothing(make_user: Any,
                                                                 login: Any) -> None:
    alice = make_user()
    tokens = login().json()
    # A row from before addresses were canonical: the claim as typed, too.
    User._default_manager.filter(pk=alice.pk).update(email="Alice@EXAMPLE.com")
    AccountEmail.objects.filter(user=alice).update(email="Alice@EXAMPLE.com")

    fresh(alice).save()  # the claim is rewritten to the canonical form, nothing more
    assert AccountEmail.objects.get(user=alice).email == "alice@example.com"
    call_command("ainative_canonicalize_emails", stdout=None)
    assert fresh(alice).email == "alice@example.com"
    user = fresh(alice)
    user.email = "ALICE@example.com"  # another spelling of the same mailbox
    user.save()

    assert_tokens_alive(tokens)


# --- the services: one revocation each, with its reason ------------------------------------


def test_change_password_keeps_the_callers_session_and_revokes_the_others_once(
    make_user: Any, login: Any, revocations: list
) -> None:
    alice = make_user()
    mine, other = login().json(), login().json()
    my_session = RefreshSession.objects.order_by("created_at", "pk").first()
    assert my_session is not None

    passwords.change_password(fresh(alice), current_password=PASSWORD,
                              new_password=NEW_PASSWORD, keep_session=my_session.pk)

    assert_tokens_alive(mine)
    assert_tokens_dead(other)
    assert len(revocations) == 1 and revocations[0][1] == "password_changed"
    assert revocations[0][0] != my_session.pk


def test_a_reset_revokes_every_session_once_as_a_reset(
    make_user: Any, login: Any, revocations: list
) -> None:
    from ainative_auth.credentials.email_tokens import reset_password_tokens

    alice = make_user()
    first, second = login().json(), login().json()

    passwords.reset_password(reset_password_tokens.make_email_token(fresh(alice)), NEW_PASSWORD)

    assert_tokens_dead(first)
    assert_tokens_dead(second)
    assert sorted(reason for _, reason in revocations) == ["password_reset"] * 2
