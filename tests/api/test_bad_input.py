"""Hostile and malformed requests (section 3, F1-F29; R1, R7, R8, R10).

Every row: a 4xx with the error body (``detail`` + ``error_code``), never a 500, and
nothing changed: no user, address, session, rotation, key, social account or profile
edit, no mail, and no token consumed (the request's valid twin still works afterwards).

The body rows run against every endpoint that takes a body (``TARGETS``); the matrix of
the other rows is in ``test_hostile_inputs.py``, which reuses ``Target``, ``state`` and
``assert_rejected`` from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import TestCase
from rest_framework.test import APIClient

from ainative_auth.models import AccountEmail, APIKey, RefreshSession
from tests.conftest import PASSWORD
from tests.oauth_standins import CALLBACK, github_user, serving_github, sign_in_at

pytestmark = pytest.mark.django_db

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NEW_PASSWORD = "a brand new passphrase 42"


class Client(APIClient):
    """An API client whose requests run their on-commit callbacks (the mail) when they
    return, as a real commit would: inside the test's transaction nothing commits, so a
    mail a request queued would otherwise never reach the outbox to be counted."""

    def request(self, **kwargs: Any) -> Any:  # type: ignore[override]
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().request(**kwargs)


def bearer(access_token: str) -> Client:
    client = Client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


@dataclass
class Target:
    """One endpoint, a client allowed to call it, and a body it accepts.

    ``required``: the fields whose absence is a 400 (the rest are optional);
    ``nullable``: the fields for which ``null`` is a valid value;
    ``standin``: the stand-in provider it calls, if any (``None``: it calls none)."""

    name: str
    client: APIClient
    method: str
    path: str
    valid: dict[str, Any]
    required: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()
    standin: Any = None
    success: tuple[int, ...] = (200, 201)

    def send(self, body: bytes, content_type: str = JSON, **extra: Any) -> Any:
        return self.client.generic(self.method, self.path, body, content_type=content_type,
                                   **extra)

    def send_json(self, data: Any, **extra: Any) -> Any:
        return self.send(json.dumps(data).encode(), **extra)

    def outbound(self) -> int:
        """Requests the stand-in provider has received so far (0 without one)."""
        return len(self.standin.seen) if self.standin is not None else 0

    def assert_still_accepted(self) -> None:
        """The valid body still works: whatever token, code or state it carries was not
        consumed by the rejected requests before it."""
        response = self.send_json(self.valid)
        assert response.status_code in self.success, response.content[:300]


def state() -> tuple:
    """Everything a rejected request must leave alone: the rows of every table a request
    can write (users with their password hashes, both address tables, sessions with their
    rotation state, keys, social accounts) and the mail outbox."""
    users = list(get_user_model()._default_manager.order_by("pk").values())
    addresses = list(AccountEmail.objects.order_by("pk").values())
    verified = list(EmailAddress.objects.order_by("pk").values())
    sessions = list(RefreshSession.objects.order_by("pk").values(
        "pk", "user_id", "generation", "rotated_at", "revoked_at", "last_used_at",
        "expires_at"))
    keys = list(APIKey.objects.order_by("pk").values())
    social = list(SocialAccount.objects.order_by("pk").values())
    outbox = [(message.subject, tuple(message.to)) for message in mail.outbox]
    return users, addresses, verified, sessions, keys, social, outbox


def assert_rejected(response: Any, before: tuple, statuses: tuple[int, ...] = (400,),
                    codes: tuple[str, ...] | None = None) -> None:
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith(JSON)
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["error_code"], str) and body["error_code"]
    if codes is not None:
        assert body["error_code"] in codes, body
    assert state() == before


# --- the endpoints that take a body ------------------------------------------------------

# Every endpoint of DESIGN.md with a request body ("all" in F1-F29: register, login,
# refresh, verify, forgot, reset, the OAuth callback, key create; and the others).
TARGETS = ["register", "login", "refresh", "users-me", "verify-email",
           "resend-verification", "forgot-password", "reset-password", "change-password",
           "github-callback", "github-connect", "api-key-create", "api-key-update"]


def _provider_grant(standin: Any, access_token: str | None = None) -> dict[str, str]:
    """A code and state from the stand-in GitHub, as the browser brings them back."""
    client = bearer(access_token) if access_token else Client()
    started = client.get("/api/v1/auth/github/authorize", {"redirect_uri": CALLBACK})
    assert started.status_code == 200, started.content
    grant = sign_in_at(standin, started.json()["authorization_url"],
                       github_user(uid=9001, email="octo@example.com"))
    return {**grant, "redirect_uri": CALLBACK}


def make_target(name: str, tokens: dict[str, Any], request: Any) -> Target:
    """``name``'s target for the user of ``tokens`` (alice); a provider call is answered
    by a stand-in GitHub that lives as long as the test."""
    from ainative_auth.credentials.email_tokens import (
        reset_password_tokens,
        verify_email_tokens,
    )
    from ainative_auth.services import api_keys

    user = get_user_model()._default_manager.get(pk=tokens["user"]["id"])
    access = tokens["access_token"]
    if name in ("github-connect", "api-key-create"):
        # Adding a credential needs a verified address; here only the input is in question.
        from ainative_auth.services.verification import mark_email_verified

        mark_email_verified(user)
    if name == "register":
        return Target(name, Client(), "POST", "/api/v1/auth/register",
                      {"email": "new@example.com", "password": PASSWORD, "name": "New"},
                      required=("email", "password"))
    if name == "login":
        return Target(name, Client(), "POST", "/api/v1/auth/login",
                      {"email": "alice@example.com", "password": PASSWORD},
                      required=("email", "password"))
    if name == "refresh":
        return Target(name, Client(), "POST", "/api/v1/auth/refresh",
                      {"refresh_token": tokens["refresh_token"]}, required=("refresh_token",))
    if name == "users-me":
        return Target(name, bearer(access), "PATCH", "/api/v1/users/me", {"name": "Changed"})
    if name == "verify-email":
        return Target(name, Client(), "POST", "/api/v1/auth/verify-email",
                      {"token": verify_email_tokens.make_email_token(user)},
                      required=("token",))
    if name in ("resend-verification", "forgot-password"):
        return Target(name, Client(), "POST", f"/api/v1/auth/{name}",
                      {"email": "alice@example.com"}, required=("email",))
    if name == "reset-password":
        return Target(name, Client(), "POST", "/api/v1/auth/reset-password",
                      {"token": reset_password_tokens.make_email_token(user),
                       "new_password": NEW_PASSWORD}, required=("token", "new_password"))
    if name == "change-password":
        return Target(name, bearer(access), "POST", "/api/v1/auth/change-password",
                      {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                      required=("current_password", "new_password"))
    if name in ("github-callback", "github-connect"):
        standin = request.getfixturevalue("standin_github")
        connect = name == "github-connect"
        grant = _provider_grant(standin, access if connect else None)
        return Target(name, bearer(access) if connect else Client(), "POST",
                      f"/api/v1/auth/github/{'connect' if connect else 'callback'}", grant,
                      required=("code", "redirect_uri", *(("state",) if connect else ())),
                      nullable=() if connect else ("state",), standin=standin)
    if name == "api-key-create":
        return Target(name, bearer(access), "POST", "/api/v1/api-keys", {"name": "deploy-bot"},
                      required=("name",))
    if name == "api-key-update":
        key = api_keys.create_key(user, name="agent").key
        return Target(name, bearer(access), "PATCH", f"/api/v1/api-keys/{key.public_id}",
                      {"name": "renamed"})
    raise AssertionError(name)


@pytest.fixture
def standin_github(settings: Any) -> Iterator[Any]:
    with serving_github(settings) as server:
        yield server


@pytest.fixture(params=TARGETS)
def target(request: Any, tokens: dict[str, Any]) -> Target:
    return make_target(request.param, tokens, request)


def test_the_valid_body_is_accepted_and_changes_state(target: Target) -> None:
    """Control: each row below would have changed something, had it been accepted."""
    before = state()

    response = target.send_json(target.valid)

    assert response.status_code in target.success, response.content
    assert state() != before


# --- malformed JSON (F4, F7, F8, F9, F10) -------------------------------------------------


def _raw(text: str) -> Callable[[dict[str, Any]], bytes]:
    return lambda valid: text.encode()


def _valid_plus(member: str) -> Callable[[dict[str, Any]], bytes]:
    """The valid body with one more raw member appended (so only that member is wrong)."""
    return lambda valid: (json.dumps(valid)[:-1] + ", " + member + "}").encode()


def _valid_plus_bytes(member: bytes) -> Callable[[dict[str, Any]], bytes]:
    return lambda valid: json.dumps(valid)[:-1].encode() + b", " + member + b"}"


def _duplicate_first_key(valid: dict[str, Any]) -> bytes:
    key = next(iter(valid))
    return ("{" + json.dumps(key) + ": " + json.dumps("decoy") + ", "
            + json.dumps(valid)[1:]).encode()


def _deep(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


MALFORMED: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "empty body object cut short": _raw('{"email": '),
    "truncated": lambda valid: json.dumps(valid)[:-1].encode(),
    "trailing garbage": lambda valid: (json.dumps(valid) + " x").encode(),
    "two documents": lambda valid: (json.dumps(valid) * 2).encode(),
    "single quotes": lambda valid: json.dumps(valid).replace('"', "'").encode(),
    "comment": lambda valid: (json.dumps(valid) + " // hi").encode(),
    "100000 nested arrays": _raw("[" * 100_000 + "]" * 100_000),
    "100000 nested arrays, unclosed": _raw("[" * 100_000),
    "50000 nested objects": _raw(_deep(50_000)),
    "nesting past the depth limit inside a valid body": _valid_plus('"x": ' + _deep(40)),
    "NaN": _valid_plus('"x": NaN'),
    "Infinity": _valid_plus('"x": Infinity'),
    "-Infinity": _valid_plus('"x": -Infinity'),
    "1e999": _valid_plus('"x": 1e999'),
    "-1e999": _valid_plus('"x": -1e999'),
    "a 5000-digit integer": _valid_plus('"x": ' + "9" * 5000),
    "top-level array": _raw("[]"),
    "top-level array of the body": lambda valid: json.dumps([valid]).encode(),
    "top-level string": _raw('"x"'),
    "top-level number": _raw("1"),
    "top-level null": _raw("null"),
    "top-level true": _raw("true"),
    "duplicate key": _duplicate_first_key,
    "invalid utf-8": _valid_plus_bytes(b'"x": "\xff\xfe"'),
    "overlong utf-8 slash": _valid_plus_bytes(b'"x": "\xc0\xaf"'),
    "utf-8 encoded surrogate": _valid_plus_bytes(b'"x": "\xed\xa0\x80"'),
    "utf-8 byte order mark": lambda valid: b"\xef\xbb\xbf" + json.dumps(valid).encode(),
    "nul byte outside a string": lambda valid: json.dumps(valid).encode() + b"\x00",
}


@pytest.mark.parametrize("build", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_json_body_is_a_400(target: Target, build: Callable[..., bytes]) -> None:
    before = state()

    response = target.send(build(target.valid))

    assert_rejected(response, before, codes=("malformed_request",))
    target.assert_still_accepted()


def test_a_body_over_the_upload_limit_is_a_413(target: Target, settings: Any) -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < 3_000_000
    before = state()

    response = target.send_json({**target.valid, "padding": "a" * 3_000_000})

    assert_rejected(response, before, statuses=(413,), codes=("request_too_large",))
    target.assert_still_accepted()


# --- charsets and content types (F5, F6, R1) ----------------------------------------------


@pytest.mark.parametrize("charset", ["bz2_codec", "zlib_codec", "base64_codec", "rot_13",
                                     "hex_codec", "utf-7", "utf-16", "utf-32", "latin-1",
                                     "x-unknown"])
def test_a_charset_other_than_utf8_is_refused(target: Target, charset: str) -> None:
    before = state()

    response = target.send(json.dumps(target.valid).encode(), f"{JSON}; charset={charset}")

    assert_rejected(response, before, statuses=(400, 415),
                    codes=("malformed_request", "unsupported_media_type"))
    target.assert_still_accepted()


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8"])
def test_utf8_named_in_any_spelling_is_accepted(target: Target, charset: str) -> None:
    response = target.send(json.dumps(target.valid).encode(), f"{JSON}; charset={charset}")

    assert response.status_code in target.success, response.content


@pytest.mark.parametrize("content_type", [
    "text/plain",
    "application/xml",
    "text/html",
    "multipart/form-data; boundary=xyz",
    FORM,
    "application/json-patch+json",
    "application/jsonx",
    "",
])
def test_a_body_that_is_not_json_is_a_415(target: Target, content_type: str) -> None:
    before = state()

    response = target.send(json.dumps(target.valid).encode(), content_type)

    if target.name == "login" and content_type == FORM:
        # Login also takes the OAuth2 password form (DESIGN.md): a JSON text sent as a form
        # is read as a form without username/password, so it is a 400, not a 415.
        assert_rejected(response, before, statuses=(400,), codes=("validation_error",))
    else:
        assert_rejected(response, before, statuses=(415,), codes=("unsupported_media_type",))
    target.assert_still_accepted()


def test_login_accepts_the_oauth2_password_form(make_user: Any) -> None:
    make_user()

    response = Client().post("/api/v1/auth/login",
                                urlencode({"username": "alice@example.com", "password": PASSWORD}),
                                content_type=FORM)

    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "bearer"


def test_login_by_form_with_a_wrong_password_is_the_generic_401(make_user: Any) -> None:
    make_user()

    response = Client().post("/api/v1/auth/login",
                                urlencode({"username": "alice@example.com",
                                           "password": "wrong one!"}),
                                content_type=FORM)

    assert response.status_code == 401
    assert response.json()["error_code"] == "invalid_credentials"


@pytest.mark.parametrize("body", [
    "username=alice%40example.com&username=mallory%40example.com&password=x",
    "username=alice%40example.com&password=" + PASSWORD.replace(" ", "+") + "&password=other",
    "email=alice%40example.com&email=alice%40example.com&password=x",
])
def test_a_repeated_form_key_at_login_is_a_400_as_a_duplicate_json_key_is(
        make_user: Any, body: str, hash_ops: list[str]) -> None:
    # F10: a first-wins proxy and a last-wins server must not disagree on who logs in.
    make_user()
    hash_ops.clear()
    before = state()

    response = Client().post("/api/v1/auth/login", body, content_type=FORM)
    duplicate_json = Client().post(
        "/api/v1/auth/login", b'{"email": "alice@example.com", "email": "m@example.com", '
        b'"password": "x"}', content_type=JSON)

    assert_rejected(response, before, codes=("malformed_request",))
    assert (response.status_code, response.json()["error_code"]) == (
        duplicate_json.status_code, duplicate_json.json()["error_code"])
    assert hash_ops == []


def test_the_login_form_takes_the_address_as_username_or_as_email(make_user: Any) -> None:
    make_user()
    for name in ("username", "email"):
        response = Client().post("/api/v1/auth/login",
                                    urlencode({name: "Alice@Example.com", "password": PASSWORD}),
                                    content_type=FORM)
        assert response.status_code == 200, (name, response.content)


def test_a_login_form_with_both_username_and_email_is_a_400(make_user: Any) -> None:
    make_user()
    before = state()

    response = Client().post("/api/v1/auth/login", urlencode(
        {"username": "alice@example.com", "email": "alice@example.com", "password": PASSWORD}),
        content_type=FORM)

    assert_rejected(response, before, codes=("validation_error",))
    assert [e["field"] for e in response.json()["errors"]] == ["email"]


def test_an_oversized_login_form_is_a_413(make_user: Any) -> None:
    make_user()
    before = state()

    response = Client().post("/api/v1/auth/login", urlencode(
        {"username": "alice@example.com", "password": PASSWORD, "pad": "a" * 3_000_000}),
        content_type=FORM)

    assert_rejected(response, before, statuses=(413,), codes=("request_too_large",))


def test_a_login_form_with_too_many_fields_is_a_400(make_user: Any) -> None:
    make_user()
    before = state()
    fields = {f"f{n}": "x" for n in range(2000)}

    response = Client().post("/api/v1/auth/login", urlencode(
        {"username": "alice@example.com", "password": PASSWORD, **fields}), content_type=FORM)

    assert_rejected(response, before, codes=("bad_request", "malformed_request"))


def test_an_empty_body_without_a_content_type_is_a_validation_error(target: Target) -> None:
    before = state()

    response = target.send(b"", "")

    if not target.required:
        # PATCH is a partial update: no body changes nothing (as `{}` does).
        assert response.status_code == 200, response.content
        assert state() == before
    else:
        assert_rejected(response, before, codes=("validation_error",))
    target.assert_still_accepted()


def test_an_html_accept_header_still_gets_json(target: Target) -> None:
    """R1: no browsable or admin renderer, whatever the client asks for."""
    response = target.send(b"{", HTTP_ACCEPT="text/html")

    assert response.status_code in (400, 406)
    assert response["Content-Type"].startswith(JSON)
    assert response.json()["error_code"]


def test_logout_takes_no_body_so_any_body_is_ignored(bearer_client: APIClient) -> None:
    """DESIGN.md: the Bearer token names the session; a body, even a broken one, is unread."""
    response = bearer_client.generic("POST", "/api/v1/auth/logout", b"[" * 100_000,
                                     content_type="text/plain")

    assert response.status_code == 200, response.content
    assert bearer_client.get("/api/v1/users/me").status_code == 401


# --- field values (F11, F12, F14, F16, F7) ------------------------------------------------


@pytest.mark.parametrize("value", [12345678, 1.5, True, False, None, [], ["x"], {}, {"a": "b"}],
                         ids=repr)
def test_a_field_of_the_wrong_type_is_a_400(target: Target, value: Any) -> None:
    before = state()
    for field in target.valid:
        if value is None and field in target.nullable:
            continue  # null is a valid value there (an absent OAuth state)
        response = target.send_json({**target.valid, field: value})

        if value is None and field == "state":
            # A connect's state is required: null is a missing one, refused as such.
            assert_rejected(response, before, codes=("invalid_state",))
            continue
        assert_rejected(response, before, codes=("validation_error",))
        assert field in [error["field"] for error in response.json()["errors"]]
    target.assert_still_accepted()


@pytest.mark.parametrize("insert", ["\x00", "\ud800", "\udfff"], ids=["nul", "lone high surrogate",
                                                                       "lone low surrogate"])
def test_a_nul_byte_or_lone_surrogate_in_any_string_field_is_a_400(
    target: Target, insert: str
) -> None:
    before = state()
    for field, value in target.valid.items():
        response = target.send_json({**target.valid, field: value[:3] + insert + value[3:]})

        assert_rejected(response, before, codes=("validation_error",))
    target.assert_still_accepted()


# F16's sizes, each within the body limit.
OVERSIZED = {"email": 10_000, "password": 1_000_000, "current_password": 1_000_000,
             "new_password": 1_000_000, "refresh_token": 1_000_000, "token": 1_000_000,
             "code": 1_000_000, "redirect_uri": 65_536, "state": 65_536, "name": 1_000_000}


def test_an_oversized_field_is_a_400_before_any_hashing_or_provider_call(
    target: Target, hash_ops: list[str]
) -> None:
    before, calls = state(), target.outbound()
    hash_ops.clear()
    for field in target.valid:
        size = OVERSIZED[field]
        value = ("a" * (size - len("@example.com")) + "@example.com") if field == "email" \
            else "a" * size

        response = target.send_json({**target.valid, field: value})

        assert_rejected(response, before, codes=("validation_error",))
        assert field in [error["field"] for error in response.json()["errors"]]
    assert hash_ops == []
    assert target.outbound() == calls
    target.assert_still_accepted()


def test_a_missing_field_is_a_400_naming_it(target: Target) -> None:
    before = state()
    for field in target.required:
        response = target.send_json({k: v for k, v in target.valid.items() if k != field})

        assert_rejected(response, before, codes=("validation_error", "invalid_state"))
        if response.json()["error_code"] == "validation_error":
            assert field in [error["field"] for error in response.json()["errors"]]
        else:  # a connect without a state: refused before the code goes anywhere
            assert field == "state"
    target.assert_still_accepted()


def test_every_target_requires_something_or_is_a_partial_update(target: Target) -> None:
    """The missing-field row is not vacuous: only the PATCHes have no required field."""
    assert bool(target.required) == (target.method != "PATCH"), target.name


@pytest.fixture(params=["register", "users-me", "api-key-create", "api-key-update"])
def profile_target(request: Any, tokens: dict[str, Any]) -> Target:
    """F13's endpoints: those that create or edit a user or a key."""
    return make_target(request.param, tokens, request)


@pytest.mark.parametrize("extra", [
    {"is_staff": True}, {"is_superuser": True}, {"is_active": False},
    {"email_verified": True}, {"id": 1}, {"user_id": 1}, {"scopes": ["*"]},
], ids=lambda e: next(iter(e)))
def test_extra_privileged_fields_are_never_applied(profile_target: Target, extra: dict,
                                                   tokens: dict[str, Any]) -> None:
    """F13/R24/R62: ignored or refused, never applied."""
    target = profile_target
    alice = tokens["user"]["id"]
    keys_before = {key.public_id: key.user_id for key in APIKey.objects.all()}
    verified_before = set(EmailAddress.objects.filter(verified=True).values_list("pk"))

    response = target.send_json({**target.valid, **extra})

    assert response.status_code in (200, 201, 400), response.content
    for user in get_user_model()._default_manager.all():
        assert not getattr(user, "is_staff", False)
        assert not getattr(user, "is_superuser", False)
        assert user.is_active
    assert set(EmailAddress.objects.filter(verified=True).values_list("pk")) == verified_before
    assert get_user_model()._default_manager.filter(pk=alice).exists()
    for key in APIKey.objects.all():  # no key moved to another user
        assert keys_before.get(key.public_id, alice) == key.user_id
    if "scopes" in extra and target.name == "users-me":
        assert APIKey.objects.count() == len(keys_before)


# --- parameter pollution (F27, R7) --------------------------------------------------------


def test_credentials_in_the_query_string_are_ignored(make_user: Any) -> None:
    make_user()
    before = state()

    response = Client().post(
        f"/api/v1/auth/login?email=alice@example.com&password={PASSWORD}",
        {"email": "alice@example.com", "password": "not the password"}, format="json")

    assert_rejected(response, before, statuses=(401,), codes=("invalid_credentials",))


def test_a_refresh_token_in_the_query_string_is_refused(tokens: dict[str, Any]) -> None:
    before = state()

    response = Client().post(f"/api/v1/auth/refresh?refresh_token={tokens['refresh_token']}",
                                {}, format="json")

    assert_rejected(response, before, codes=("credentials_in_query",))


# --- paths and methods (F28, R8) ----------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/api/v1/auth/login/",
    "/api/v1/auth//login",
    "/api/v1//auth/login",
    "/api/v1/auth/%2e%2e/auth/login",
    "/api/v1/auth/LOGIN",
    "/api/v1/auth/login%00",
    "/api/v1/auth/login;x=1",
])
def test_a_path_variant_of_login_is_a_json_404(make_user: Any, path: str) -> None:
    make_user()
    before = state()

    response = Client().post(path, {"email": "alice@example.com", "password": PASSWORD},
                                format="json")

    assert_rejected(response, before, statuses=(404,), codes=("not_found",))


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/auth/login"),
    ("PUT", "/api/v1/auth/login"),
    ("DELETE", "/api/v1/auth/login"),
    ("TRACE", "/api/v1/auth/login"),
    ("GET", "/api/v1/auth/register"),
    ("GET", "/api/v1/auth/refresh"),
    ("PATCH", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/health"),
])
def test_an_unsupported_method_is_a_json_405(make_user: Any, method: str, path: str) -> None:
    make_user()
    before = state()

    response = Client().generic(method, path)

    assert_rejected(response, before, statuses=(405,), codes=("method_not_allowed",))
    assert "POST" in response["Allow"] or "GET" in response["Allow"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/auth/logout"),
    ("PUT", "/api/v1/auth/logout"),
    ("POST", "/api/v1/users/me"),
    ("DELETE", "/api/v1/users/me"),
    ("TRACE", "/api/v1/users/me"),
    ("GET", "/api/v1/auth/logout-all"),
])
def test_an_unsupported_method_with_a_valid_token_is_a_json_405(
    bearer_client: APIClient, method: str, path: str
) -> None:
    before = state()

    response = bearer_client.generic(method, path)

    assert_rejected(response, before, statuses=(405,), codes=("method_not_allowed",))


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/register",
                                  "/api/v1/auth/refresh", "/api/v1/auth/logout",
                                  "/api/v1/auth/logout-all", "/api/v1/users/me"])
@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_change_nothing(bearer_client: APIClient, tokens: dict[str, Any],
                                         method: str, path: str) -> None:
    before = state()

    response = bearer_client.generic(method, path, json.dumps(
        {"refresh_token": tokens["refresh_token"], "name": "x"}), content_type=JSON)

    assert response.status_code in (200, 401, 405), response.content
    assert state() == before
    assert bearer_client.get("/api/v1/users/me").status_code == 200


# --- hostile Host and forwarding headers (F29, R9, R10) -----------------------------------


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "127.0.0.1:80@evil",
                                  "evil.example\r\nX-Injected: 1", "a" * 300])
def test_a_hostile_host_header_is_a_json_400(make_user: Any, host: str) -> None:
    make_user()
    before = state()

    response = Client().post("/api/v1/auth/login",
                                {"email": "alice@example.com", "password": PASSWORD},
                                format="json", HTTP_HOST=host)

    assert_rejected(response, before, codes=("bad_request",))


def test_a_forwarded_host_header_is_ignored(make_user: Any, settings: Any) -> None:
    assert not settings.USE_X_FORWARDED_HOST
    make_user()

    response = Client().post("/api/v1/auth/login",
                                {"email": "alice@example.com", "password": PASSWORD},
                                format="json", HTTP_X_FORWARDED_HOST="evil.example")

    assert response.status_code == 200


def test_a_mailed_link_uses_the_frontend_url_never_the_request_host(
    make_user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """R9: Host and X-Forwarded-Host never reach an emailed link."""
    make_user()
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post("/api/v1/auth/forgot-password",
                                    {"email": "alice@example.com"}, format="json",
                                    HTTP_HOST="localhost",
                                    HTTP_X_FORWARDED_HOST="evil.example")

    assert response.status_code == 200, response.content
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert f"{settings.AINATIVE_AUTH['FRONTEND_URL']}/reset-password?token=" in body
    assert "evil.example" not in body and "localhost" not in body


def test_a_client_sent_forwarded_for_does_not_escape_the_per_ip_limit(
    db: Any, settings: Any
) -> None:
    """R10: with no trusted proxy configured, the limit keys on REMOTE_ADDR only."""
    settings.AINATIVE_AUTH = {
        **settings.AINATIVE_AUTH,
        "THROTTLE_RATES": {**settings.AINATIVE_AUTH["THROTTLE_RATES"], "login": "3/minute"},
    }
    client = APIClient(REMOTE_ADDR="198.51.100.7")

    def attempt(n: int, **extra: Any) -> Any:
        return client.post("/api/v1/auth/login",
                           {"email": f"user{n}@example.com", "password": "wrong password"},
                           format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}", **extra)

    assert [attempt(n).status_code for n in range(3)] == [401, 401, 401]
    throttled = attempt(3)

    assert throttled.status_code == 429
    assert throttled.json()["error_code"] == "throttled"
    assert int(throttled["Retry-After"]) >= 1
    # Another peer address is a different client.
    assert attempt(4, REMOTE_ADDR="198.51.100.8").status_code == 401


# --- CORS (R6) ---------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:3000"])
def test_no_origin_is_granted_cross_origin_access(bearer_client: APIClient, origin: str) -> None:
    # Nothing is reflected, not even the frontend's own origin: a project that serves an
    # SPA from another origin allows exactly that one with django-cors-headers
    # (docs/deployment.md).
    preflight = APIClient().options(
        "/api/v1/auth/login", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, authorization")
    me = bearer_client.get("/api/v1/users/me", HTTP_ORIGIN=origin)
    login = Client().post("/api/v1/auth/login", {"email": "alice@example.com",
                                                    "password": PASSWORD},
                             format="json", HTTP_ORIGIN=origin)

    assert me.status_code == login.status_code == 200
    for response in (preflight, me, login):
        granted = [name for name in response.headers if name.lower().startswith("access-control-")]
        assert granted == [], (origin, response.status_code, granted)
