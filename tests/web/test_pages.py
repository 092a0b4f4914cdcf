"""The pages over HTTP: login rules, open redirects, CSRF on every form, the dashboard."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from ainative_auth.credentials import browser_session
from ainative_auth.models import APIKey, RefreshSession
from tests.conftest import PASSWORD
from tests.web.helpers import (
    FIREFOX_ON_LINUX,
    HTML,
    browser_client,
    browser_session_id,
    csrf_token,
    sign_in,
)

pytestmark = pytest.mark.django_db


def _html(response: Any) -> str:
    return response.content.decode()


def _create(client: Client, name: str = "deploy-bot", scopes: str = "credits:read",
            expires: str = "") -> Any:
    return client.post("/dashboard/keys", {"name": name, "scopes": scopes, "expires": expires})


def _new_key(response: Any) -> str:
    found = re.search(r'id="new-key-value"[^>]*value="(ak_[^"]+)"', _html(response))
    assert found, "no new key on the page"
    return found.group(1)


# --- the login page ------------------------------------------------------------------------


def test_the_login_page_has_the_contracts_fields_and_button() -> None:
    html = _html(Client().get("/login"))
    assert re.search(r'<label for="id_email">Email</label>', html)
    assert re.search(r'<input id="id_email" name="email" type="email"', html)
    assert re.search(r'<label for="id_password">Password</label>', html)
    assert re.search(r'<input id="id_password" name="password" type="password"', html)
    assert re.search(r'<button type="submit"[^>]*>Sign in</button>', html)
    assert 'name="csrfmiddlewaretoken"' in html
    # No provider configured: no "Sign in with <provider>" (the passkey button is the MFA app's).
    assert re.search(r"Sign in with (?!a passkey)", html) is None


def test_the_login_page_is_not_cached_framed_or_scripted_inline() -> None:
    response = Client().get("/login")
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "<script>" not in _html(response) and " on" + "submit=" not in _html(response)


def test_signing_in_lands_on_the_dashboard(alice: Any) -> None:
    client = browser_client()
    response = sign_in(client)
    assert response.status_code == 303
    assert response["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_signing_in_starts_one_session_row_for_this_browser(alice: Any) -> None:
    client = browser_client()
    sign_in(client)
    row = RefreshSession.objects.get(pk=browser_session_id(client))
    assert row.user_id == alice.pk and row.revoked_at is None
    assert row.device == "Chrome on Linux"
    assert RefreshSession.objects.filter(user=alice).count() == 1


def test_signing_in_announces_the_login_once(alice: Any) -> None:
    from django.contrib.auth.signals import user_logged_in

    seen: list[Any] = []

    def receiver(sender: Any, user: Any, **kwargs: Any) -> None:
        seen.append(user.pk)

    user_logged_in.connect(receiver)
    try:
        assert sign_in(browser_client()).status_code == 303
    finally:
        user_logged_in.disconnect(receiver)
    assert seen == [alice.pk]


def test_signing_in_rotates_the_session_id(alice: Any) -> None:
    client = browser_client()
    client.get("/login")
    session = client.session
    session["planted"] = "by an attacker who fixed this session id"
    session.save()
    fixed = client.cookies["sessionid"].value
    sign_in(client)
    assert client.cookies["sessionid"].value != fixed
    assert "planted" not in client.session


def test_signing_in_again_ends_the_previous_browser_session(signed_in: Client) -> None:
    first = browser_session_id(signed_in)
    sign_in(signed_in)
    assert browser_session_id(signed_in) != first
    assert RefreshSession.objects.get(pk=first).revoked_at is not None


def test_a_wrong_password_is_a_401_with_the_apis_sentence(alice: Any) -> None:
    client = browser_client()
    response = sign_in(client, password="wrong password")
    assert response.status_code == 401
    html = _html(response)
    assert re.search(r'role="alert"[^>]*>Invalid email or password\.<', html)
    assert PASSWORD not in html and "wrong password" not in html
    assert browser_session.SESSION_ID_KEY not in client.session
    assert not RefreshSession.objects.exists()


@pytest.mark.parametrize(("email", "password", "field", "message"), [
    ("", PASSWORD, "email", "Enter your email address."),
    ("alice@example.com", "", "password", "Enter your password."),
    ("not an email", PASSWORD, "email", None),
    ("a@example.com", "x" * 1025, "password", "no more than 1024"),
])
def test_bad_input_is_a_400_announced_next_to_its_field(
    email: str, password: str, field: str, message: str | None
) -> None:
    response = sign_in(browser_client(), email=email, password=password)
    assert response.status_code == 400
    html = _html(response)
    assert f'aria-describedby="id_{field}-error"' in html
    assert re.search(rf'id="id_{field}".*aria-invalid="true"', html)
    error = re.search(rf'<p class="field-error" id="id_{field}-error" role="alert">([^<]+)</p>',
                      html)
    assert error, html
    if message:
        assert message in error.group(1)


def test_the_page_and_the_api_share_the_login_throttle(alice: Any, auth_settings: Any,
                                                       login: Any) -> None:
    auth_settings.rates(login="2/minute")
    assert login(password="wrong").status_code == 401
    assert sign_in(browser_client(), password="wrong").status_code == 401
    response = sign_in(browser_client())
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many sign-in attempts" in _html(response)
    assert not RefreshSession.objects.exists()


def test_the_lockout_applies_to_the_page(alice: Any, auth_settings: Any) -> None:
    auth_settings(LOGIN_LOCKOUT_RATE="2/day")
    for _ in range(2):
        assert sign_in(browser_client(), password="wrong").status_code == 401
    assert sign_in(browser_client()).status_code == 429


def test_an_inactive_user_gets_the_same_401(alice: Any) -> None:
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    response = sign_in(browser_client())
    assert response.status_code == 401
    assert "Invalid email or password." in _html(response)


def test_the_verified_email_rule_applies_to_the_page(alice: Any, auth_settings: Any) -> None:
    auth_settings(ALLOW_UNVERIFIED_LOGIN=False)
    response = sign_in(browser_client())
    assert response.status_code == 403
    assert "Verify your email address" in _html(response)


def test_get_logout_is_not_allowed(signed_in: Client) -> None:
    assert signed_in.get("/logout").status_code == 405
    assert signed_in.get("/dashboard").status_code == 200


def test_logout_revokes_the_session_row_and_ends_the_django_session(signed_in: Client) -> None:
    session_id = browser_session_id(signed_in)
    response = signed_in.post("/logout")
    assert response.status_code == 303 and response["Location"] == "/login"
    row = RefreshSession.objects.get(pk=session_id)
    assert row.revoked_at is not None and row.revoke_reason == "logout"
    assert browser_session.SESSION_ID_KEY not in signed_in.session
    assert signed_in.get("/dashboard")["Location"] == "/login?next=%2Fdashboard"


def test_a_signed_in_visitor_of_the_login_page_sees_who_and_log_out(signed_in: Client) -> None:
    html = _html(signed_in.get("/login"))
    assert "You are signed in" in html and "alice@example.com" in html
    assert re.search(r'<button type="submit"[^>]*>Log out</button>', html)


# --- open redirects -----------------------------------------------------------------------------

EVIL_NEXT = [
    "//evil.example",
    "//evil.example/dashboard",
    "https://evil.example",
    "http://evil.example/dashboard",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "%2F%2Fevil.example",  # as posted; in a query string it decodes to //evil.example
    "///evil.example",
    "////evil.example",
    "/\t/evil.example",  # browsers drop tabs and newlines: //evil.example
    "/\n/evil.example",
    " //evil.example",
    "https:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "dashboard",
    "",
    "/" + "a" * 2001,
    "/dashboard\r\nSet-Cookie: x=1",
    "/\x00/evil.example",
]


@pytest.mark.parametrize("next_value", EVIL_NEXT)
def test_an_unsafe_next_is_never_followed_after_login(alice: Any, next_value: str) -> None:
    response = sign_in(browser_client(), next=next_value)
    assert response.status_code == 303
    assert response["Location"] == "/dashboard"


@pytest.mark.parametrize("query", [
    "next=%2F%2Fevil.example", "next=//evil.example", "next=https://evil.example",
    "next=/%5Cevil.example", "next=%2F%5Cevil.example", "next=%2F%09%2Fevil.example",
    "next=%252F%252Fevil.example", "next=/dashboard&next=//evil.example",
])
def test_an_unsafe_next_in_the_login_url_is_dropped(alice: Any, query: str) -> None:
    client = browser_client()
    html = _html(client.get(f"/login?{query}"))
    assert "evil.example" not in html
    response = client.post(f"/login?{query}", {
        "email": "alice@example.com", "password": PASSWORD,
        "csrfmiddlewaretoken": csrf_token(client.get("/login")),
    })
    assert response["Location"] == "/dashboard"


@pytest.mark.parametrize("next_value", [
    "/dashboard", "/dashboard?tab=keys", "/api/protected/whoami", "/%2F%2Fevil.example",
])
def test_a_local_next_is_followed(alice: Any, next_value: str) -> None:
    client = browser_client()
    html = _html(client.get("/login", {"next": next_value}))
    assert 'name="next"' in html
    response = sign_in(client, next=next_value)
    assert response["Location"] == next_value


def test_the_redirect_to_login_and_back_round_trips(alice: Any) -> None:
    client = browser_client()
    to_login = client.get("/dashboard?tab=keys")["Location"]
    next_value = re.search(r"next=([^&]+)", to_login)
    assert next_value
    from urllib.parse import unquote

    response = sign_in(client, next=unquote(next_value.group(1)))
    assert response["Location"] == "/dashboard?tab=keys"


# --- CSRF on every form ------------------------------------------------------------------------


def _csrf_client(alice: Any) -> Client:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT=HTML,
                    HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0")
    assert sign_in(client).status_code == 303
    return client


def test_the_login_form_needs_its_csrf_token(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/login")
    response = client.post("/login", {"email": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert not RefreshSession.objects.exists()
    assert sign_in(client).status_code == 303  # with the token it works


def test_every_dashboard_form_needs_its_csrf_token(alice: Any, make_api_key: Any,
                                                   verify: Any) -> None:
    verify(alice)
    client = _csrf_client(alice)
    key, _ = make_api_key(alice, name="victim")
    other = Client(HTTP_USER_AGENT=FIREFOX_ON_LINUX).post(
        "/api/v1/auth/login", {"email": "alice@example.com", "password": PASSWORD},
        content_type="application/json").json()
    from ainative_auth.credentials.tokens import decode_access_token

    other_id = decode_access_token(other["access_token"])["sid"]
    forms = [
        ("/dashboard/keys", {"name": "made-by-csrf"}),
        (f"/dashboard/keys/{key.public_id}/rotate", {"confirmed": "yes"}),
        (f"/dashboard/keys/{key.public_id}/revoke", {"confirmed": "yes"}),
        (f"/dashboard/sessions/{other_id}/revoke", {"confirmed": "yes"}),
        ("/logout", {}),
    ]
    secret_hash = key.secret_hash
    for path, data in forms:
        assert client.post(path, data).status_code == 403, path
    key.refresh_from_db()
    assert key.revoked_at is None and key.secret_hash == secret_hash
    assert not APIKey.objects.filter(name="made-by-csrf").exists()
    assert RefreshSession.objects.live().filter(pk=other_id).exists()
    assert client.get("/dashboard").status_code == 200  # still signed in

    # The forms on the page carry the token, and then each one works.
    token = csrf_token(client.get("/dashboard"))
    for path, data in forms:
        response = client.post(path, {**data, "csrfmiddlewaretoken": token})
        assert response.status_code in (200, 201, 303), (path, response.status_code)
        if path != "/logout":
            token = csrf_token(client.get("/dashboard"))
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert APIKey.objects.filter(name="made-by-csrf").exists()
    assert not RefreshSession.objects.live().filter(pk=other_id).exists()


def test_the_token_login_form_needs_its_csrf_token(api_tokens: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/token", {"access_token": api_tokens["access_token"]})
    assert response.status_code == 403
    assert browser_session.SESSION_ID_KEY not in client.session


# --- the dashboard -------------------------------------------------------------------------------


def test_the_dashboard_needs_a_browser_session_not_a_header_credential(
    api_key: tuple[Any, str], api_tokens: dict[str, Any]
) -> None:
    assert Client().get("/dashboard", HTTP_X_API_KEY=api_key[1]).status_code == 401
    bearer = f"Bearer {api_tokens['access_token']}"
    assert Client().get("/dashboard", HTTP_AUTHORIZATION=bearer).status_code == 401
    response = Client().post("/dashboard/keys", {"name": "x"}, HTTP_X_API_KEY=api_key[1])
    assert response.status_code in (401, 403)
    assert not APIKey.objects.filter(name="x").exists()


def test_the_dashboard_shows_who_keys_and_sessions(signed_in: Client, alice: Any,
                                                   make_api_key: Any, login: Any) -> None:
    make_api_key(alice, name="deploy-bot", scopes=["credits:read", "keys:write"])
    Client(HTTP_USER_AGENT=FIREFOX_ON_LINUX).post(
        "/api/v1/auth/login", {"email": "alice@example.com", "password": PASSWORD},
        content_type="application/json")
    response = signed_in.get("/dashboard")
    assert response["Cache-Control"] == "no-store"
    html = _html(response)
    assert "alice@example.com" in html
    key = APIKey.objects.get(name="deploy-bot")
    assert key.prefix in html and "credits:read" in html and "keys:write" in html
    assert ">Active<" in html and ">Never<" in html
    assert 'aria-label="Rotate key deploy-bot"' in html
    assert 'aria-label="Revoke key deploy-bot"' in html
    assert 'aria-label="Revoke session Firefox on Linux"' in html
    # This browser's own session is marked, and is ended with "Log out", not "Revoke".
    assert "This browser" in html and 'aria-label="Revoke session Chrome on Linux"' not in html
    assert re.search(r'<button type="submit"[^>]*>Log out</button>', html)
    for label in ("Name", "Scopes", "Expires"):
        assert f">{label}</label>" in html
    assert re.search(r'<button type="submit"[^>]*>Create key</button>', html)


def test_rows_with_the_same_name_get_buttons_that_tell_them_apart(
    signed_in: Client, alice: Any, make_api_key: Any
) -> None:
    first, _ = make_api_key(alice, name="bot")
    second, _ = make_api_key(alice, name="bot")
    for _ in range(2):
        Client(HTTP_USER_AGENT=FIREFOX_ON_LINUX).post(
            "/api/v1/auth/login", {"email": "alice@example.com", "password": PASSWORD},
            content_type="application/json")
    html = _html(signed_in.get("/dashboard"))
    names = re.findall(r'aria-label="([^"]+)"', html)
    assert f"Revoke key bot ({first.prefix})" in names
    assert f"Revoke key bot ({second.prefix})" in names
    assert len(names) == len(set(names)), names
    assert sum(name.startswith("Revoke session Firefox on Linux (") for name in names) == 2


def test_a_created_key_is_shown_once_and_works(signed_in: Client, verify: Any) -> None:
    verify()
    response = _create(signed_in)
    assert response.status_code == 201
    plaintext = _new_key(response)
    assert response["Cache-Control"] == "no-store"
    assert "Copy key" in _html(response)
    found = re.search(r'id="new-key-secret"[^>]*value="(aks_[^"]+)"', _html(response))
    assert found, "no signing secret on the page"
    secret = found.group(1)
    key = APIKey.objects.get(name="deploy-bot")
    assert key.scopes == ["credits:read"] and key.expires_at is None
    ok = Client().get("/api/v1/public/credits/balance", HTTP_X_API_KEY=plaintext)
    assert ok.status_code == 200
    # The secret shown is the key's: a v1-signed request with it passes.
    from tests.signing import v1_headers

    signed = Client().get("/api/v1/public/credits/balance", **v1_headers(plaintext, secret))
    assert signed.status_code == 200, signed.content
    again = _html(signed_in.get("/dashboard"))
    assert plaintext not in again and secret not in again


def test_empty_scopes_give_the_default_scopes_and_expiry_is_a_choice(
    signed_in: Client, clock: Any, verify: Any
) -> None:
    verify()
    _create(signed_in, name="full", scopes="", expires="30")
    key = APIKey.objects.get(name="full")
    assert key.scopes == ["*"]
    assert key.expires_at is not None
    assert abs(key.expires_at.timestamp() - (clock.now + 30 * 86400)) < 2


@pytest.mark.parametrize(("data", "field"), [
    ({"name": "", "scopes": ""}, "name"),
    ({"name": "x" * 101, "scopes": ""}, "name"),
    ({"name": "ok", "scopes": "Not A Scope!"}, "scopes"),
    ({"name": "ok", "scopes": "", "expires": "3650"}, "expires"),
])
def test_a_bad_create_form_is_a_400_next_to_its_field(signed_in: Client, data: dict[str, str],
                                                      field: str) -> None:
    response = signed_in.post("/dashboard/keys", data)
    assert response.status_code == 400
    html = _html(response)
    assert f'id="id_{field}-error" role="alert"' in html
    assert re.search(rf'id="id_{field}"[^>]*aria-invalid="true"', html)
    assert not APIKey.objects.exists()


def test_the_key_limit_is_shown_not_a_500(signed_in: Client, auth_settings: Any,
                                          verify: Any) -> None:
    verify()
    auth_settings(API_KEY_MAX_PER_USER=1)
    assert _create(signed_in, name="one").status_code == 201
    response = _create(signed_in, name="two")
    assert response.status_code == 400
    assert "maximum number of API keys" in _html(response)


def test_a_signing_secret_is_shown_when_the_service_returns_one(
    signed_in: Client, monkeypatch: pytest.MonkeyPatch, alice: Any, make_api_key: Any,
    verify: Any,
) -> None:
    verify(alice)
    from ainative_auth.web import dashboard as views

    key, plaintext = make_api_key(alice, name="signed")
    result = SimpleNamespace(key=key, plaintext=plaintext, signing_secret="sig_s3cret")
    monkeypatch.setattr(views.api_keys, "create_key", lambda *a, **k: result)
    html = _html(_create(signed_in, name="signed"))
    assert plaintext in html
    assert 'value="sig_s3cret"' in html and "Copy signing secret" in html


def test_without_confirmation_rotate_and_revoke_answer_with_a_second_page(
    signed_in: Client, alice: Any, make_api_key: Any
) -> None:
    key, plaintext = make_api_key(alice, name="deploy-bot")
    for action, button in (("rotate", "Rotate key deploy-bot"),
                           ("revoke", "Revoke key deploy-bot")):
        response = signed_in.post(f"/dashboard/keys/{key.public_id}/{action}")
        assert response.status_code == 200
        assert re.search(rf'name="confirmed" value="yes"[^>]*>{button}</button>', _html(response))
    key.refresh_from_db()
    assert key.revoked_at is None and key.rotated_at is None
    assert Client().get("/api/v1/users/me", HTTP_X_API_KEY=plaintext).status_code == 200


def test_rotate_shows_the_new_key_once_and_the_old_one_stops(
    signed_in: Client, alice: Any, make_api_key: Any
) -> None:
    key, old = make_api_key(alice, name="deploy-bot")
    response = signed_in.post(f"/dashboard/keys/{key.public_id}/rotate", {"confirmed": "yes"})
    assert response.status_code == 200
    new = _new_key(response)
    assert new != old and new.startswith(key.prefix)
    assert Client().get("/api/v1/users/me", HTTP_X_API_KEY=old).status_code == 401
    assert Client().get("/api/v1/users/me", HTTP_X_API_KEY=new).status_code == 200


def test_revoke_key_ends_the_key(signed_in: Client, alice: Any, make_api_key: Any) -> None:
    key, plaintext = make_api_key(alice, name="deploy-bot")
    response = signed_in.post(f"/dashboard/keys/{key.public_id}/revoke", {"confirmed": "yes"})
    assert response.status_code == 303 and response["Location"] == "/dashboard"
    assert "Key deploy-bot was revoked." in _html(signed_in.get("/dashboard"))
    assert Client().get("/api/v1/users/me", HTTP_X_API_KEY=plaintext).status_code == 401
    html = _html(signed_in.get("/dashboard"))
    assert "Key deploy-bot was revoked." not in html  # the notice is shown once
    assert ">Revoked<" in html and 'aria-label="Revoke key deploy-bot"' not in html


def test_rotating_a_revoked_key_is_a_notice_not_a_500(signed_in: Client, alice: Any,
                                                      make_api_key: Any) -> None:
    from ainative_auth.services import api_keys

    key, _ = make_api_key(alice, name="gone")
    api_keys.revoke_key(key)
    response = signed_in.post(f"/dashboard/keys/{key.public_id}/rotate", {"confirmed": "yes"})
    assert response.status_code == 303
    assert "This API key is revoked." in _html(signed_in.get("/dashboard"))


def test_revoke_session_ends_that_session(signed_in: Client, api_tokens: dict[str, Any]) -> None:
    from ainative_auth.credentials.tokens import decode_access_token

    other_id = decode_access_token(api_tokens["access_token"])["sid"]
    response = signed_in.post(f"/dashboard/sessions/{other_id}/revoke", {"confirmed": "yes"})
    assert response.status_code == 303
    refreshed = Client().post("/api/v1/auth/refresh",
                              {"refresh_token": api_tokens["refresh_token"]},
                              content_type="application/json")
    assert refreshed.status_code == 401
    assert signed_in.get("/dashboard").status_code == 200  # this browser is not affected


def test_another_users_key_or_session_is_a_404(signed_in: Client, make_user: Any,
                                              make_api_key: Any, login: Any) -> None:
    bob = make_user(email="bob@example.com")
    key, plaintext = make_api_key(bob, name="bobs")
    bob_tokens = login(email="bob@example.com").json()
    from ainative_auth.credentials.tokens import decode_access_token

    bob_session = decode_access_token(bob_tokens["access_token"])["sid"]
    for path in (f"/dashboard/keys/{key.public_id}/revoke",
                 f"/dashboard/keys/{key.public_id}/rotate",
                 f"/dashboard/sessions/{bob_session}/revoke",
                 "/dashboard/keys/nope/revoke", "/dashboard/sessions/not-a-uuid/revoke"):
        assert signed_in.post(path, {"confirmed": "yes"}).status_code == 404, path
    assert Client().get("/api/v1/users/me", HTTP_X_API_KEY=plaintext).status_code == 200
    assert RefreshSession.objects.live().filter(pk=bob_session).exists()


def test_get_on_an_action_url_is_not_allowed(signed_in: Client) -> None:
    assert signed_in.get("/dashboard/keys").status_code == 405


@pytest.mark.parametrize("data", [
    {"email": "a\x00@example.com", "password": PASSWORD},
    {"email": "alice@example.com", "password": "pass\x00word"},
    {"email": ["x"], "password": {"a": 1}},
    "email=%ED%A0%80%40example.com&password=x",  # a UTF-8-encoded lone surrogate
    "email=%FF%FE&password=%C0%AF",  # not UTF-8 at all
])
def test_odd_login_input_is_a_4xx_never_a_500(alice: Any, data: Any) -> None:
    client = browser_client()
    token = csrf_token(client.get("/login"))
    if isinstance(data, str):
        response = client.post("/login", f"{data}&csrfmiddlewaretoken={token}",
                               content_type="application/x-www-form-urlencoded")
    else:
        response = client.post("/login", {**data, "csrfmiddlewaretoken": token})
    assert 400 <= response.status_code < 500
    assert browser_session.SESSION_ID_KEY not in client.session


@pytest.mark.parametrize("data", [
    {"name": "bot\x00", "scopes": ""},
    {"name": "bot", "scopes": "credits:read\x00"},
    {"name": "bot", "scopes": "é:read"},
    {"name": "bot", "scopes": " ".join(f"s{i}" for i in range(40))},
    {"name": "bot", "expires": "-1"},
])
def test_odd_create_input_is_a_400_never_a_500(signed_in: Client, data: dict[str, str]) -> None:
    assert signed_in.post("/dashboard/keys", data).status_code == 400
    assert not APIKey.objects.exists()
