"""POST auth/register: the 201 token response, one canonical email, no mass assignment.

Runs under ``auth.User`` and under the custom user model (``make test-custom-user``), so
names are read through the adapter and user fields through ``get_user_model()``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import argon2
import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import IntegrityError, OperationalError, transaction

from ainative_auth.adapter import get_adapter
from ainative_auth.models import AccountEmail, RefreshSession
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in", "user"}
USER_KEYS = {"id", "email", "name", "email_verified", "created_at"}


@pytest.fixture
def hash_ops(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int, int]]:
    """Every argon2 hash or verification Django runs, as (operation, m, t, p)."""
    ops: list[tuple[str, int, int, int]] = []
    encode, verify = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify

    def spy_encode(self: Any, password: str, salt: str) -> str:
        p = self.params()
        ops.append(("encode", p.memory_cost, p.time_cost, p.parallelism))
        return encode(self, password, salt)

    def spy_verify(self: Any, password: str, encoded: str) -> bool:
        p = argon2.extract_parameters("$" + encoded.split("$", 1)[1])
        ops.append(("verify", p.memory_cost, p.time_cost, p.parallelism))
        return verify(self, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", spy_encode)
    monkeypatch.setattr(Argon2PasswordHasher, "verify", spy_verify)
    return ops


def create_plain_user(email: str, password: str = PASSWORD) -> Any:
    """A user made outside the API (as ``createsuperuser`` would): no AccountEmail row."""
    model = get_user_model()
    fields = {model.get_email_field_name(): email}
    if model.USERNAME_FIELD != model.get_email_field_name():
        fields[model.USERNAME_FIELD] = "legacy-user"
    user = model(**fields)
    user.set_password(password)
    user.save()
    return user


def error_fields(response: Any) -> set[str | None]:
    return {item["field"] for item in response.json()["errors"]}


# --- the 201 -----------------------------------------------------------------------


def test_register_answers_201_with_the_token_response_of_the_design(register, api):
    response = register(email="alice@example.com", name="Alice Liddell")

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert type(body["expires_in"]) is int and body["expires_in"] == 1800
    assert isinstance(body["access_token"], str) and body["access_token"].count(".") == 2
    assert isinstance(body["refresh_token"], str) and body["refresh_token"]
    assert body["refresh_token"] != body["access_token"]

    user = get_user_model().objects.get()
    assert set(body["user"]) == USER_KEYS
    assert body["user"]["id"] == user.pk
    assert body["user"]["email"] == "alice@example.com"
    assert body["user"]["name"] == "Alice Liddell"
    assert body["user"]["email_verified"] is False
    created = body["user"]["created_at"]
    assert created.endswith("Z")
    created_at = datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - created_at) < timedelta(minutes=1)

    # The tokens work: the access token reads the same user, one session was started.
    me = api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200
    assert me.json() == body["user"]
    assert RefreshSession.objects.filter(user=user, revoked_at__isnull=True).count() == 1


def test_register_response_never_contains_the_password_or_its_hash(register):
    response = register(password=PASSWORD)

    assert response.status_code == 201
    user = get_user_model().objects.get()
    text = response.content.decode()
    assert user.password not in text
    assert "argon2" not in text
    assert PASSWORD not in text
    assert "password" not in text


def test_register_response_is_not_cacheable(register):
    response = register()

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_register_stores_an_unverified_primary_allauth_email_address(register):
    register(email="Alice@Example.com")

    user = get_user_model().objects.get()
    address = EmailAddress.objects.get(user=user)
    assert address.email == "alice@example.com"
    assert address.verified is False
    assert address.primary is True
    assert AccountEmail.objects.get(user=user).email == "alice@example.com"


def test_register_stores_the_name_through_the_adapter(register):
    response = register(name="Ada King, Countess of Lovelace")

    assert response.status_code == 201
    user = get_user_model().objects.get()
    assert get_adapter().get_name(user) == "Ada King, Countess of Lovelace"
    model = get_user_model()
    field_names = {field.name for field in model._meta.get_fields()}
    stored_in = "name" if "name" in field_names else "first_name"
    assert getattr(user, stored_in) == "Ada King, Countess of Lovelace"


def test_register_without_a_name_stores_an_empty_name(api):
    response = api.post(REGISTER, {"email": "bob@example.com", "password": PASSWORD},
                        format="json")

    assert response.status_code == 201, response.content
    assert response.json()["user"]["name"] == ""
    assert get_adapter().get_name(get_user_model().objects.get()) == ""


def test_register_refuses_a_name_longer_than_the_limit(register):
    response = register(name="x" * 151)

    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert {"field": "name", "code": "max_length"} in [
        {"field": e["field"], "code": e["code"]} for e in response.json()["errors"]
    ]
    assert not get_user_model().objects.exists()


def test_register_stores_the_password_as_an_argon2id_hash(register):
    register()

    encoded = get_user_model().objects.get().password
    assert encoded.startswith("argon2$argon2id$v=19$")


# --- one canonical email -------------------------------------------------------------


def test_register_stores_and_returns_the_email_lower_cased(register):
    response = register(email="Alice@Example.com")

    assert response.status_code == 201
    assert response.json()["user"]["email"] == "alice@example.com"
    user = get_user_model().objects.get()
    assert getattr(user, get_user_model().get_email_field_name()) == "alice@example.com"


@pytest.mark.parametrize(
    "variant", ["alice@example.com", "ALICE@EXAMPLE.COM", " alice@example.com ",
                "aLiCe@eXaMpLe.CoM"]
)
def test_register_answers_409_for_every_spelling_of_a_taken_email(register, variant):
    assert register(email="Alice@Example.com").status_code == 201

    response = register(email=variant, password="another fine passphrase", name="Mallory")

    assert response.status_code == 409, response.content
    assert response.json()["error_code"] == "email_taken"
    assert set(response.json()) == {"detail", "error_code"}
    assert response["Cache-Control"] == "no-store"
    assert get_user_model().objects.count() == 1


def test_the_409_body_is_identical_whatever_the_spelling(register):
    register(email="Alice@Example.com")

    bodies = {
        register(email=variant, password=f"another fine passphrase {n}").content
        for n, variant in enumerate(
            ["alice@example.com", "ALICE@EXAMPLE.COM", " alice@example.com "]
        )
    }

    assert len(bodies) == 1


def test_the_409_is_identical_for_verified_unverified_inactive_and_passwordless_accounts(
    make_user, register
):
    make_user(email="unverified@example.com")
    verified = make_user(email="verified@example.com")
    EmailAddress.objects.filter(user=verified).update(verified=True)
    make_user(email="inactive@example.com", is_active=False)
    social_only = make_user(email="social@example.com")
    social_only.set_unusable_password()
    social_only.save()

    responses = [
        register(email=email, password="another fine passphrase", name="Mallory")
        for email in ("unverified@example.com", "verified@example.com",
                      "inactive@example.com", "social@example.com")
    ]

    assert {r.status_code for r in responses} == {409}
    assert len({r.content for r in responses}) == 1
    assert len({tuple(sorted(r.headers.items())) for r in responses}) == 1
    assert responses[0].json()["error_code"] == "email_taken"


def test_an_email_of_a_user_made_outside_the_api_is_taken_in_any_casing(register):
    create_plain_user("Bob@Example.com")

    response = register(email="bob@example.com")

    assert response.status_code == 409
    assert response.json()["error_code"] == "email_taken"
    assert get_user_model().objects.count() == 1


def test_an_email_of_a_user_row_with_no_uniqueness_record_is_taken(register):
    """Rows no save signal saw (``bulk_create``, rows older than the app) have no
    ``AccountEmail``: the user table itself is asked too."""
    model = get_user_model()
    fields = {model.get_email_field_name(): "Bob@Example.com"}
    if model.USERNAME_FIELD != model.get_email_field_name():
        fields[model.USERNAME_FIELD] = "legacy-user"
    model._default_manager.bulk_create([model(**fields)])
    assert not AccountEmail.objects.exists()

    response = register(email="bob@example.com")

    assert response.status_code == 409
    assert response.json()["error_code"] == "email_taken"
    assert model.objects.count() == 1


def test_the_database_refuses_two_account_emails_differing_only_in_case(make_user):
    make_user(email="alice@example.com")
    other = create_plain_user("someone@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountEmail.objects.create(user=other, email="ALICE@example.com")


def test_a_409_costs_the_same_hashing_as_a_201(register, hash_ops):
    assert register(email="alice@example.com").status_code == 201
    created = list(hash_ops)
    hash_ops.clear()

    assert register(email="ALICE@example.com").status_code == 409

    assert created and hash_ops == created


# --- no mass assignment --------------------------------------------------------------


def test_register_never_applies_privilege_or_state_fields(register, api):
    response = register(
        email="mallory@example.com",
        is_staff=True, is_superuser=True, is_active=False, email_verified=True,
        id=4242, pk=4242, date_joined="2000-01-01T00:00:00Z", groups=[1],
        user_permissions=[1], last_login="2000-01-01T00:00:00Z",
    )

    assert response.status_code in (201, 400), response.content
    users = get_user_model().objects.all()
    if response.status_code == 400:
        assert not users.exists()
        return
    user = users.get()
    assert user.pk != 4242
    assert getattr(user, "is_staff", False) is False
    assert getattr(user, "is_superuser", False) is False
    assert user.is_active is True
    assert user.last_login is None or user.last_login.year != 2000
    assert user.date_joined.year != 2000
    assert not user.groups.exists() and not user.user_permissions.exists()
    assert not EmailAddress.objects.filter(user=user, verified=True).exists()
    body = response.json()["user"]
    assert body["email_verified"] is False and body["id"] == user.pk
    me = api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    assert me.status_code == 200
    assert me.json()["email_verified"] is False and me.json()["id"] == user.pk


# --- malformed input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("password", 12345678901),
        ("password", ["correct horse battery staple"]),
        ("password", {"value": "correct horse battery staple"}),
        ("password", None),
        ("password", True),
        ("email", 42),
        ("email", None),
        ("email", ["alice@example.com"]),
        ("email", {"address": "alice@example.com"}),
        ("name", 5),
        ("name", ["Alice"]),
    ],
)
def test_register_refuses_values_of_the_wrong_type(api, field, value):
    body = {"email": "alice@example.com", "password": PASSWORD, "name": "Alice", field: value}

    response = api.post(REGISTER, body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "validation_error"
    assert field in error_fields(response)
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("password", "correct horse\x00battery staple"),
        ("email", "alice\x00@example.com"),
        ("name", "Ali\x00ce"),
    ],
)
def test_register_refuses_a_nul_byte_in_any_field(api, field, value):
    body = {"email": "alice@example.com", "password": PASSWORD, "name": "Alice", field: value}

    response = api.post(REGISTER, body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "validation_error"
    assert field in error_fields(response)
    assert not get_user_model().objects.exists()


def test_register_names_every_missing_field(api):
    response = api.post(REGISTER, {}, format="json")

    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert {"email", "password"} <= error_fields(response)


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "alice@", "@example.com", "ａlice@example.com", "a" * 10_000 + "@x.co",
     "a@" + "b." * 3000 + "com"],
)
def test_register_refuses_a_malformed_email(register, email):
    response = register(email=email)

    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert error_fields(response) == {"email"}
    assert not get_user_model().objects.exists()


def test_register_refuses_duplicate_keys_in_the_body(api):
    raw = (
        '{"email": "alice@example.com", "password": "correct horse battery staple", '
        '"password": "another fine passphrase", "name": "Alice"}'
    )

    response = api.generic("POST", REGISTER, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error_code"] == "malformed_request"
    assert not get_user_model().objects.exists()


def test_register_refuses_a_form_encoded_body(api):
    response = api.post(REGISTER, "email=alice%40example.com&password=correct+horse+battery",
                        content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["error_code"] == "unsupported_media_type"


# --- atomicity -----------------------------------------------------------------------


def test_a_database_failure_mid_registration_leaves_no_half_made_account(
    register, monkeypatch
):
    def fail(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection lost")

    monkeypatch.setattr(EmailAddress.objects, "create", fail)

    response = register(email="alice@example.com")

    assert response.status_code == 503
    assert response.json()["error_code"] == "service_unavailable"
    assert not get_user_model().objects.exists()
    assert not AccountEmail.objects.exists()

    monkeypatch.undo()
    assert register(email="alice@example.com").status_code == 201


def test_register_sends_the_user_registered_signal_once_after_commit(
    register, django_capture_on_commit_callbacks
):
    from ainative_auth.signals import user_registered

    seen: list[Any] = []

    def receiver(sender: Any, user: Any, request: Any, **kwargs: Any) -> None:
        seen.append(user)

    user_registered.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = register(email="alice@example.com")
    finally:
        user_registered.disconnect(receiver)

    assert response.status_code == 201
    assert [user.pk for user in seen] == [json.loads(response.content)["user"]["id"]]


def test_a_409_mails_the_owner_of_the_address_and_nobody_else(
    register, mailoutbox, django_capture_on_commit_callbacks
):
    # R23: the 409 is the one enumeration oracle; its owner learns of every probe.
    assert register(email="Owner@Example.com").status_code == 201
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = register(email="OWNER@example.COM", name="Mallory")

    assert response.status_code == 409
    assert [m.to for m in mailoutbox] == [["owner@example.com"]]
    assert "tried to sign up" in mailoutbox[0].subject
    assert "already has an account" in mailoutbox[0].body
    assert "Mallory" not in mailoutbox[0].body


def test_a_201_sends_no_account_exists_notice(
    register, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert register(email="new@example.com").status_code == 201

    assert [m.to for m in mailoutbox] == [["new@example.com"]]  # the verification mail only
    assert all("tried to sign up" not in m.subject for m in mailoutbox)


def test_changing_a_users_email_moves_its_uniqueness_claim(register):
    from ainative_auth.models import AccountEmail

    assert register(email="old@example.com").status_code == 201
    user = get_user_model().objects.get(email="old@example.com")
    user.email = "New@Example.com"
    user.save()

    assert AccountEmail.objects.get(user=user).email == "new@example.com"
    assert register(email="new@example.com").status_code == 409
    assert register(email="old@example.com").status_code == 201


def test_an_email_change_onto_a_taken_address_keeps_the_old_claim(register):
    from ainative_auth.models import AccountEmail

    assert register(email="a@example.com").status_code == 201
    assert register(email="b@example.com").status_code == 201
    user = get_user_model().objects.get(email="b@example.com")
    user.email = "A@example.com"
    user.save()  # the project's save is not refused

    assert AccountEmail.objects.get(user=user).email == "b@example.com"
    assert AccountEmail.objects.filter(email="a@example.com").count() == 1
