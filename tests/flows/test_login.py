"""POST auth/login: JSON and the OAuth2 password form, one generic 401, fresh sessions.

Runs under ``auth.User`` and under the custom user model (``make test-custom-user``).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

import argon2
import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model, user_logged_in, user_login_failed
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.exceptions import PermissionDenied

from ainative_auth.models import RefreshSession
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in", "user"}


class DenyingBackend:
    """A backend that vetoes every login, as a lockout or MFA backend would."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        raise PermissionDenied

    def get_user(self, user_id: Any) -> None:
        return None


@pytest.fixture
def hash_ops(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """The argon2 work of every hash or verification Django runs, as (m, t, p)."""
    ops: list[tuple[int, int, int]] = []
    encode, verify = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify

    def spy_encode(self: Any, password: str, salt: str) -> str:
        p = self.params()
        ops.append((p.memory_cost, p.time_cost, p.parallelism))
        return encode(self, password, salt)

    def spy_verify(self: Any, password: str, encoded: str) -> bool:
        p = argon2.extract_parameters("$" + encoded.split("$", 1)[1])
        ops.append((p.memory_cost, p.time_cost, p.parallelism))
        return verify(self, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", spy_encode)
    monkeypatch.setattr(Argon2PasswordHasher, "verify", spy_verify)
    return ops


def form_login(api: Any, username: str, password: str, **extra: Any) -> Any:
    return api.post(LOGIN, urlencode({"username": username, "password": password}),
                    content_type="application/x-www-form-urlencoded", **extra)


def claims(token: str) -> dict[str, Any]:
    """The JWT payload, decoded without verifying (we only read what we issued)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def email_is_username() -> bool:
    model = get_user_model()
    return model.USERNAME_FIELD == model.get_email_field_name()


# --- success -------------------------------------------------------------------------


def test_json_login_answers_200_with_the_token_response(make_user, login, api):
    user = make_user(name="Alice Liddell")

    response = login()

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    assert body["user"]["id"] == user.pk
    assert body["user"]["email"] == "alice@example.com"
    assert body["user"]["name"] == "Alice Liddell"
    assert response["Cache-Control"] == "no-store"
    me = api.get(ME, HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200 and me.json()["id"] == user.pk


def test_the_oauth2_password_form_logs_in_too(make_user, api):
    user = make_user()

    response = form_login(api, "alice@example.com", PASSWORD)

    assert response.status_code == 200, response.content
    assert set(response.json()) == TOKEN_KEYS
    assert response.json()["user"]["id"] == user.pk


def test_the_form_login_fails_like_the_json_login(make_user, api, login):
    make_user()

    json_failure = login(password="wrong password!")
    form_failure = form_login(api, "alice@example.com", "wrong password!")

    assert form_failure.status_code == json_failure.status_code == 401
    assert form_failure.content == json_failure.content


@pytest.mark.parametrize(
    "spelling", ["ALICE@EXAMPLE.COM", "Alice@Example.com", " alice@example.com "]
)
def test_login_matches_the_email_case_insensitively(make_user, login, spelling):
    user = make_user(email="alice@example.com")

    response = login(email=spelling)

    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == user.pk


def test_a_user_made_outside_the_api_logs_in_by_email_in_any_casing(login):
    model = get_user_model()
    fields = {model.get_email_field_name(): "Bob@Example.com"}
    if not email_is_username():
        fields[model.USERNAME_FIELD] = "bob"
    user = model(**fields)
    user.set_password(PASSWORD)
    user.save()

    response = login(email="bob@example.COM")

    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == user.pk


def test_unverified_users_may_log_in_by_default(make_user, login):
    make_user()

    response = login()

    assert response.status_code == 200
    assert response.json()["user"]["email_verified"] is False


def test_with_unverified_login_disallowed_the_gate_shows_only_after_the_password(
    make_user, login, auth_settings
):
    auth_settings(ALLOW_UNVERIFIED_LOGIN=False)
    make_user(email="alice@example.com")
    verified = make_user(email="verified@example.com")
    EmailAddress.objects.filter(user=verified).update(verified=True)

    wrong = login(email="alice@example.com", password="wrong password!")
    right = login(email="alice@example.com")
    ok = login(email="verified@example.com")

    assert wrong.status_code == 401 and wrong.json()["error_code"] == "invalid_credentials"
    assert right.status_code == 403 and right.json()["error_code"] == "email_not_verified"
    assert ok.status_code == 200 and ok.json()["user"]["email_verified"] is True
    assert not RefreshSession.objects.filter(user__email="alice@example.com").exists()


def test_login_records_last_login(make_user, login):
    user = make_user()
    assert user.last_login is None

    assert login().status_code == 200

    user.refresh_from_db()
    assert user.last_login is not None


# --- one generic 401 -----------------------------------------------------------------


@pytest.fixture
def failed_logins(make_user, login) -> dict[str, Any]:
    """The 401 of each failure kind R18 lists, plus an inactive user's right password."""
    make_user(email="alice@example.com")
    make_user(email="inactive@example.com", is_active=False)
    social = make_user(email="social@example.com")
    social.set_unusable_password()
    social.save()
    return {
        "wrong password": login(email="alice@example.com", password="wrong password!"),
        "unknown email": login(email="nobody@example.com", password="wrong password!"),
        "inactive, wrong password": login(email="inactive@example.com",
                                          password="wrong password!"),
        "inactive, right password": login(email="inactive@example.com"),
        "unusable password": login(email="social@example.com", password="wrong password!"),
    }


def test_every_failed_login_answers_401_invalid_credentials(failed_logins):
    for kind, response in failed_logins.items():
        assert response.status_code == 401, kind
        assert response.json()["error_code"] == "invalid_credentials", kind
        assert response["WWW-Authenticate"].startswith("Bearer"), kind


def test_failed_logins_have_byte_identical_bodies_and_identical_headers(failed_logins):
    responses = list(failed_logins.values())

    assert len({r.content for r in responses}) == 1
    assert len({tuple(sorted(r.headers.items())) for r in responses}) == 1


def test_failed_logins_start_no_session(failed_logins):
    assert not RefreshSession.objects.exists()


def test_every_failed_login_spends_the_same_hashing_work(make_user, login, hash_ops):
    make_user(email="alice@example.com")
    make_user(email="inactive@example.com", is_active=False)
    social = make_user(email="social@example.com")
    social.set_unusable_password()
    social.save()
    work: dict[str, list[tuple[int, int, int]]] = {}

    for kind, email in [("wrong password", "alice@example.com"),
                        ("unknown email", "nobody@example.com"),
                        ("inactive", "inactive@example.com"),
                        ("unusable password", "social@example.com")]:
        hash_ops.clear()
        assert login(email=email, password="wrong password!").status_code == 401
        work[kind] = list(hash_ops)

    assert work["wrong password"], "a failed login must run the hasher"
    for kind, ops in work.items():
        assert ops == work["wrong password"], kind


# --- through django.contrib.auth.authenticate -------------------------------------------


def test_login_goes_through_the_configured_authentication_backends(make_user, login, settings):
    make_user()
    settings.AUTHENTICATION_BACKENDS = [
        "tests.flows.test_login.DenyingBackend", *settings.AUTHENTICATION_BACKENDS
    ]

    response = login()

    assert response.status_code == 401
    assert response.json()["error_code"] == "invalid_credentials"
    assert not RefreshSession.objects.exists()


def test_without_the_email_backend_only_an_email_username_model_can_log_in(
    make_user, login, settings
):
    make_user()
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

    response = login()

    if email_is_username():
        # ModelBackend finds the user by USERNAME_FIELD, which is the email here.
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 401
        assert response.json()["error_code"] == "invalid_credentials"


def test_login_sends_user_logged_in_with_the_user(make_user, login):
    user = make_user()
    seen: list[Any] = []

    def receiver(sender: Any, user: Any, **kwargs: Any) -> None:
        seen.append(user.pk)

    user_logged_in.connect(receiver)
    try:
        assert login().status_code == 200
    finally:
        user_logged_in.disconnect(receiver)

    assert seen == [user.pk]


def test_a_failed_login_sends_user_login_failed_without_the_password(make_user, login):
    make_user()
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
        seen.append(credentials)

    user_login_failed.connect(receiver)
    try:
        assert login(password="wrong password!").status_code == 401
    finally:
        user_login_failed.disconnect(receiver)

    assert len(seen) == 1
    assert seen[0]["email"] == "alice@example.com"
    assert "wrong password!" not in json.dumps(seen[0])


# --- a fresh session per login ---------------------------------------------------------


def test_each_login_starts_a_new_session_with_its_own_sid(make_user, login, api):
    user = make_user()

    first, second = login().json(), login().json()

    first_claims, second_claims = claims(first["access_token"]), claims(second["access_token"])
    assert first_claims["sid"] != second_claims["sid"]
    assert first_claims["jti"] != second_claims["jti"]
    assert first["refresh_token"] != second["refresh_token"]
    assert first_claims["sub"] == second_claims["sub"] == str(user.pk)
    sessions = {s.id.hex for s in RefreshSession.objects.filter(user=user)}
    assert sessions == {first_claims["sid"], second_claims["sid"]}


def test_logging_in_again_leaves_the_earlier_session_working(make_user, login, api):
    make_user()
    first = login().json()

    assert login().status_code == 200

    me = api.get(ME, HTTP_AUTHORIZATION=f"Bearer {first['access_token']}")
    assert me.status_code == 200
    refreshed = api.post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]},
                         format="json")
    assert refreshed.status_code == 200


def test_the_session_records_the_client_ip_and_device(make_user, api):
    make_user()

    response = api.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD},
                        format="json", REMOTE_ADDR="203.0.113.7",
                        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")

    assert response.status_code == 200
    session = RefreshSession.objects.get()
    assert session.ip_address == "203.0.113.7"
    assert session.device == "Firefox on Linux"


# --- account state -------------------------------------------------------------------


def test_a_deactivated_user_loses_access_and_refresh_at_once(make_user, login, api):
    user = make_user()
    tokens = login().json()
    user.is_active = False
    user.save()

    me = api.get(ME, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    refreshed = api.post("/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]},
                         format="json")

    assert me.status_code == 401
    assert refreshed.status_code == 401
    assert login().status_code == 401


@pytest.mark.parametrize(
    ("email", "password"),
    [("admin@example.com", "admin"), ("admin@localhost", "admin"),
     ("test@example.com", "test"), ("root@localhost", "root"),
     ("admin@example.com", "password")],
)
def test_a_fresh_install_has_no_default_accounts(login, email, password):
    assert not get_user_model().objects.exists()

    response = login(email=email, password=password)

    assert response.status_code == 401
    assert response.json()["error_code"] == "invalid_credentials"


# --- malformed input -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"email": "alice@example.com", "password": 12345678},
        {"email": "alice@example.com", "password": None},
        {"email": "alice@example.com", "password": ["x"]},
        {"email": 1, "password": PASSWORD},
        {"email": "alice@example.com"},
        {"password": PASSWORD},
        {"username": "alice@example.com", "password": PASSWORD},
        {"email": "alice@example.com", "password": "correct horse\x00battery staple"},
    ],
)
def test_a_malformed_login_body_answers_400(make_user, api, body, hash_ops):
    make_user()
    hash_ops.clear()

    response = api.post(LOGIN, body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "validation_error"
    assert hash_ops == []


def test_a_form_login_without_username_answers_400(api):
    response = api.post(LOGIN, "password=x", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
