"""The identity module: canonical addresses, the one email lookup, who may authenticate,
account creation from every entry point (register, the admin, createsuperuser)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from ainative_auth.adapter import DefaultAdapter
from ainative_auth.exceptions import EmailTaken
from ainative_auth.models import AccountEmail
from ainative_auth.services import accounts, passwords
from ainative_auth.services.accounts import create_account
from ainative_auth.users import (
    InvalidEmail,
    canonical_email,
    find_user_by_email,
    may_authenticate,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"


def register(email: str, name: str = "Kate") -> Any:
    return APIClient().post(REGISTER, {"email": email, "password": PASSWORD, "name": name},
                            format="json")


# --- canonical addresses -------------------------------------------------------------------

# (what an attacker or a careless user types, for an account registered as the first form)
SAME_MAILBOX = [
    ("alice@exämple.com", "alice@xn--exmple-cua.com"),      # IDN vs its punycode
    ("alice@xn--exmple-cua.com", "alice@exämple.com"),
    ("alice@exämple.com", "alice@exa\u0308mple.com"),        # NFD spelling of the domain
    ("alice@exämple.com", "ALICE@EXÄMPLE.COM"),
    ("kate.st@example.com", "kate.st@ｅｘａｍｐｌｅ.com"),    # fullwidth domain (UTS-46 maps)
    ("kate.st@example.com", "  Kate.St@Example.COM "),
]

REFUSED = [
    "kate.st@ex\u00adample.com",        # soft hyphen (UTS-46 would silently drop it)
    "kate.st@example.com\u200d",        # zero-width joiner
    "kate\u200b.st@example.com",        # zero-width space
    "kate.st@example.com\u202e",        # right-to-left override
    "\u2066kate.st@example.com",        # bidi isolate
    "kate.st\ufeff@example.com",        # BOM / zero-width no-break space
    "kate.st@exam\u034fple.com",        # combining grapheme joiner (default-ignorable)
    "ſam@example.com",                  # long s: re.IGNORECASE would match it to [a-z]
    "tım@example.com",                  # dotless i
    "Kelvin\u212a@example.com",         # Kelvin sign
    "ａlice@example.com",               # fullwidth local part
    "ali\u0301ce@example.com",          # NFD accent in the local part
    "аlice@example.com",                # Cyrillic a in the local part
    "alice@example.com.",               # trailing-dot domain
    '"alice smith"@example.com',        # quoted local part
    "alice@@example.com",
    "alice@exa mple.com",
    "alice\r\n@example.com",
    "alice@" + "b." * 3000 + "com",     # F19: long domain, refused before any IDNA work
]


@pytest.mark.parametrize(("registered", "typed"), SAME_MAILBOX)
def test_spellings_of_one_mailbox_are_one_account(registered: str, typed: str) -> None:
    first = register(registered)
    assert first.status_code == 201, first.content
    second = register(typed)
    assert second.status_code == 409, second.content
    assert second.json()["error_code"] == "email_taken"
    assert get_user_model().objects.count() == 1
    response = APIClient().post("/api/v1/auth/login", {"email": typed, "password": PASSWORD},
                                format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("typed", REFUSED)
def test_invisible_or_non_ascii_local_characters_are_refused(typed: str, mailoutbox: Any) -> None:
    response = register(typed)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error_code"] == "validation_error"
    assert body["errors"][0]["field"] == "email"
    assert get_user_model().objects.count() == 0
    assert mailoutbox == []


def test_a_refused_look_alike_never_reaches_the_real_owner(
    mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert register("kate.st@example.com").status_code == 201
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for typed in ("kate.st@ex\u00adample.com", "kate.st@example.com\u200d"):
            assert register(typed).status_code == 400
            for path in ("forgot-password", "resend-verification"):
                response = APIClient().post(f"/api/v1/auth/{path}", {"email": typed},
                                            format="json")
                assert response.status_code == 400
    assert callbacks == []
    assert mailoutbox == []
    assert get_user_model().objects.count() == 1


def test_the_stored_address_is_what_the_mailer_sends_to(
    mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert register("Alice@EXÄMPLE.com").status_code == 201
    user = get_user_model().objects.get()
    assert user.email == "alice@xn--exmple-cua.com"
    assert AccountEmail.objects.get(user=user).email == "alice@xn--exmple-cua.com"
    assert EmailAddress.objects.get(user=user).email == "alice@xn--exmple-cua.com"
    assert [message.to for message in mailoutbox] == [["alice@xn--exmple-cua.com"]]
    assert user.email.isascii()


def test_canonical_email_is_idempotent_and_ascii() -> None:
    for registered, typed in SAME_MAILBOX:
        canonical = canonical_email(typed)
        assert canonical == canonical_email(registered)
        assert canonical == canonical_email(canonical)
        assert canonical.isascii()
    for typed in REFUSED:
        with pytest.raises(InvalidEmail):
            canonical_email(typed)


def test_the_lookup_finds_only_the_one_owner(make_user: Any) -> None:
    alice = make_user(email="alice@example.com")
    assert find_user_by_email("ALICE@example.com") == alice
    assert find_user_by_email("alice@ex\u00adample.com") is None
    assert find_user_by_email("bob@example.com") is None
    # auth.User's email is not unique: two rows with one address name nobody.
    twin = get_user_model().objects.create(username="twin", email="alice@example.com")
    assert twin.pk != alice.pk
    assert find_user_by_email("alice@example.com") is None


# --- who may authenticate ------------------------------------------------------------------


def test_may_authenticate_is_the_active_flag(make_user: Any) -> None:
    user = make_user()
    assert may_authenticate(user)
    user.is_active = False
    assert not may_authenticate(user)
    assert not may_authenticate(None)


# --- creating accounts ----------------------------------------------------------------------


def test_create_account_writes_the_user_its_claim_and_its_address_together() -> None:
    user = create_account("bob@example.com", "Bob", verified=True)
    assert not user.has_usable_password()
    assert AccountEmail.objects.get(user=user).email == "bob@example.com"
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("bob@example.com", True, True)


def test_create_account_stores_the_canonical_address_whoever_calls_it() -> None:
    """Code calling the service directly (a management command, a data migration) gets
    the same stored form as the API: the unique index, login and limits agree on it."""
    user = create_account("  Carol@EXAMPLE.com", password=PASSWORD)
    assert user.email == "carol@example.com"
    assert AccountEmail.objects.get(user=user).email == "carol@example.com"
    assert EmailAddress.objects.get(user=user).email == "carol@example.com"
    with pytest.raises(EmailTaken):
        create_account("CAROL@example.com", password=PASSWORD)
    with pytest.raises(InvalidEmail):
        create_account("carol\u200b@example.com")


class ClosedSignup(DefaultAdapter):
    def is_signup_allowed(self, request: Any, email: str) -> bool:
        return not email.endswith("@closed.example")


def test_signup_policy_of_the_adapter_is_honoured(settings: Any) -> None:
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH,
                              "ADAPTER": "tests.unit.test_identity.ClosedSignup"}
    response = register("eve@closed.example")
    assert response.status_code == 403
    assert response.json()["error_code"] == "signup_closed"
    assert get_user_model().objects.count() == 0
    assert register("eve@open.example").status_code == 201


def test_a_user_made_by_createsuperuser_cannot_be_registered_again(mailoutbox: Any) -> None:
    call_command("createsuperuser", interactive=False, username="root",
                 email="Root@Example.com", stdout=io.StringIO())
    root = get_user_model().objects.get(username="root")
    assert AccountEmail.objects.get(user=root).email == "root@example.com"
    response = register("root@example.com")
    assert response.status_code == 409
    assert get_user_model().objects.count() == 1


def test_a_user_made_in_the_admin_cannot_be_registered_again(admin_client: Any) -> None:
    response = admin_client.post("/admin/auth/user/add/", {
        "username": "staffer", "password1": PASSWORD, "password2": PASSWORD,
        "usable_password": "true",
    })
    assert response.status_code == 302, response.content
    staffer = get_user_model().objects.get(username="staffer")
    staffer.email = "staffer@example.com"
    staffer.save()
    assert AccountEmail.objects.get(user=staffer).email == "staffer@example.com"
    assert register("STAFFER@example.com").status_code == 409


def test_a_login_writes_nothing_to_the_email_tables(make_user: Any, login: Any) -> None:
    make_user()
    with CaptureQueriesContext(connection) as queries:
        assert login().status_code == 200
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "SAVEPOINT"))
              and ("accountemail" in q["sql"].lower() or "emailaddress" in q["sql"].lower()
                   or q["sql"].lstrip().upper().startswith("SAVEPOINT"))]
    assert writes == []


# --- the profile update writes only its columns ---------------------------------------------


def test_a_profile_update_from_a_stale_copy_keeps_a_newer_password(make_user: Any) -> None:
    user = make_user()
    stale = get_user_model().objects.get(pk=user.pk)  # what a PATCH request loaded
    passwords.change_password(user, current_password=PASSWORD,
                              new_password="a completely new passphrase")
    accounts.update_profile(stale, name="Alice Liddell")
    fresh = get_user_model().objects.get(pk=user.pk)
    assert fresh.first_name == "Alice Liddell"
    assert fresh.check_password("a completely new passphrase")


def test_a_profile_update_from_a_stale_copy_keeps_a_deactivation(make_user: Any) -> None:
    user = make_user()
    stale = get_user_model().objects.get(pk=user.pk)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    accounts.update_profile(stale, name="Alice Liddell")
    assert get_user_model().objects.get(pk=user.pk).is_active is False


# --- existing rows --------------------------------------------------------------------------


def _raw_user(username: str, email: str) -> Any:
    # As a version before canonical addresses stored it (queryset update: no receiver).
    user = get_user_model().objects.create(username=username)
    get_user_model().objects.filter(pk=user.pk).update(email=email)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


def test_the_canonicalize_command_rewrites_rows_and_reports_collisions() -> None:
    plain = _raw_user("plain", "Carol@EXÄMPLE.com")
    one = _raw_user("one", "dave@exämple.com")
    two = _raw_user("two", "dave@xn--exmple-cua.com")
    bad = _raw_user("bad", "eve\u200d@example.com")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError):
        call_command("ainative_canonicalize_emails", stdout=out, stderr=err)

    users = get_user_model().objects
    assert users.get(pk=plain.pk).email == "carol@xn--exmple-cua.com"
    assert AccountEmail.objects.get(user=plain).email == "carol@xn--exmple-cua.com"
    assert EmailAddress.objects.get(user=plain).email == "carol@xn--exmple-cua.com"
    # The colliding pair and the invalid address are reported, never merged or changed.
    assert users.get(pk=one.pk).email == "dave@exämple.com"
    assert users.get(pk=two.pk).email == "dave@xn--exmple-cua.com"
    assert users.get(pk=bad.pk).email == "eve\u200d@example.com"
    assert f"users {one.pk}, {two.pk}" in err.getvalue()
    assert f"user {bad.pk}" in err.getvalue()


def test_the_canonicalize_command_dry_run_writes_nothing() -> None:
    plain = _raw_user("plain", "Carol@EXÄMPLE.com")
    out = io.StringIO()
    call_command("ainative_canonicalize_emails", "--dry-run", stdout=out, stderr=io.StringIO())
    assert get_user_model().objects.get(pk=plain.pk).email == "Carol@EXÄMPLE.com"
    assert "would change 1 user(s)" in out.getvalue()
