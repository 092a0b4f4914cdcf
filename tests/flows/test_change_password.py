"""Change password while logged in (R16)."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIRequestFactory, force_authenticate

from ainative_auth.api.views.passwords import ChangePasswordView
from tests.conftest import PASSWORD, bearer

pytestmark = pytest.mark.django_db(transaction=True)

CHANGE = "/api/v1/auth/change-password"
NEW_PASSWORD = "a brand new passphrase 42"


def change(client, current=PASSWORD, new=NEW_PASSWORD, **extra):
    return client.post(CHANGE, {"current_password": current, "new_password": new},
                       format="json", **extra)


def test_change_keeps_this_session_and_logs_out_the_others(api, make_user, login):
    make_user()
    mine, other = login().json(), login().json()
    mail.outbox.clear()

    r = change(bearer(mine["access_token"]))
    assert r.status_code == 200, r.content
    assert set(r.json()) == {"detail"}

    # This session: the access token and the refresh token keep working.
    assert bearer(mine["access_token"]).get("/api/v1/users/me").status_code == 200
    r = api.post("/api/v1/auth/refresh", {"refresh_token": mine["refresh_token"]},
                 format="json")
    assert r.status_code == 200
    # The other session: both dead.
    assert bearer(other["access_token"]).get("/api/v1/users/me").status_code == 401
    r = api.post("/api/v1/auth/refresh", {"refresh_token": other["refresh_token"]},
                 format="json")
    assert r.status_code == 401

    assert login(password=PASSWORD).status_code == 401
    assert login(password=NEW_PASSWORD).status_code == 200

    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert mail.outbox[0].subject == "Your password was changed"
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_a_wrong_current_password_is_400_and_changes_nothing(api, make_user, login):
    make_user()
    mine, other = login().json(), login().json()
    mail.outbox.clear()
    r = change(bearer(mine["access_token"]), current="not my password at all")
    assert r.status_code == 400
    assert r.json()["error_code"] == "invalid_current_password"
    assert "WWW-Authenticate" not in r
    assert bearer(other["access_token"]).get("/api/v1/users/me").status_code == 200
    assert login(password=PASSWORD).status_code == 200
    assert mail.outbox == []


@pytest.mark.parametrize("body,field", [
    ({"new_password": NEW_PASSWORD}, "current_password"),
    ({"current_password": PASSWORD}, "new_password"),
    ({"current_password": PASSWORD, "new_password": 123456789}, "new_password"),
    ({"current_password": PASSWORD, "new_password": "y" * 1025}, "new_password"),
])
def test_malformed_bodies_name_the_field(bearer_client, body, field):
    r = bearer_client.post(CHANGE, body, format="json")
    assert (r.status_code, r.json()["error_code"]) == (400, "validation_error")
    assert r.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("weak", ["newpassword", "short", "1234567890123", "alice@example.com"])
def test_the_validators_apply_to_the_new_password(bearer_client, login, weak):
    r = change(bearer_client, new=weak)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "new_password"
    assert login(password=PASSWORD).status_code == 200


def test_the_new_password_is_used_exactly_as_typed(bearer_client, login):
    spaced = "  spaced out passphrase  "
    assert change(bearer_client, new=spaced).status_code == 200
    assert login(password=spaced).status_code == 200
    assert login(password=spaced.strip()).status_code == 401


def test_anonymous_is_401(api, db):
    r = change(api)
    assert r.status_code == 401
    assert "WWW-Authenticate" in r


def test_a_credential_that_is_not_a_session_is_403(make_user):
    # An API key (or any non-session credential) may not change the password.
    user = make_user()
    request = APIRequestFactory().post(
        CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")
    force_authenticate(request, user=user, token="not-a-session")
    r = ChangePasswordView.as_view()(request)
    assert r.status_code == 403
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_change_kills_an_outstanding_reset_link(api, bearer_client, mail_token):
    api.post("/api/v1/auth/forgot-password", {"email": "alice@example.com"}, format="json")
    token = mail_token("reset")
    assert change(bearer_client).status_code == 200
    r = api.post("/api/v1/auth/reset-password",
                 {"token": token, "new_password": "attacker passphrase 1"}, format="json")
    assert (r.status_code, r.json()["error_code"]) == (400, "token_invalid")


def test_change_is_throttled_per_user(make_user, login, auth_settings):
    make_user()
    auth_settings.rates(change_password="3/hour")
    access = login().json()["access_token"]
    codes = [change(bearer(access), current=f"wrong guess {n}",
                    REMOTE_ADDR=f"10.0.0.{n}").status_code for n in range(4)]
    assert codes == [400, 400, 400, 429]
    r = change(bearer(access), REMOTE_ADDR="10.0.0.50")
    assert r.status_code == 429
    assert int(r["Retry-After"]) > 0


def test_an_smtp_failure_does_not_change_the_answer(bearer_client, smtp_down, login):
    r = change(bearer_client)
    assert r.status_code == 200
    assert login(password=NEW_PASSWORD).status_code == 200
