"""Forgot / reset password over HTTP (R55-R60, the seed's snippets)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail

from ainative_auth.credentials.email_tokens import (
    ResetPasswordTokenGenerator,
    verify_email_tokens,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

FORGOT = "/api/v1/auth/forgot-password"
RESET = "/api/v1/auth/reset-password"
VERIFY = "/api/v1/auth/verify-email"
NEW_PASSWORD = "a brand new passphrase 42"


def forgot(api, email, **extra):
    return api.post(FORGOT, {"email": email}, format="json", **extra)


def reset(api, token, new_password=NEW_PASSWORD, **extra):
    return api.post(RESET, {"token": token, "new_password": new_password}, format="json",
                    **extra)


@pytest.fixture
def reset_token(make_user, api, mail_token):
    """A user alice@example.com and the token of a reset mail she was sent."""
    make_user()
    mail.outbox.clear()
    assert forgot(api, "alice@example.com").status_code == 200
    return mail_token("reset")


def fingerprint(response):
    return response.status_code, response.content, response["Content-Type"]


def test_the_seeds_snippets_work_as_written(api, make_user, mail_token):
    make_user(email="user@example.com")
    mail.outbox.clear()
    # requests.post(".../auth/forgot-password", json={"email": "user@example.com"})
    r = api.post(FORGOT, {"email": "user@example.com"}, format="json")
    assert r.status_code == 200
    token = mail_token("reset")
    # requests.post(".../auth/reset-password", json={"token": ..., "new_password": "newpassword"})
    r = api.post(RESET, {"token": token, "new_password": "newpassword"}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["error_code"] == "validation_error"
    assert body["errors"][0]["field"] == "new_password"
    assert body["detail"].startswith("new_password: ")
    assert "common" in body["detail"]
    # A strong password then succeeds with the same token.
    r = api.post(RESET, {"token": token, "new_password": NEW_PASSWORD}, format="json")
    assert r.status_code == 200, r.content


def test_the_seeds_literal_body_names_new_password(api, db):
    r = api.post(RESET, {"token": "reset_token_from_email", "new_password": "newpassword"},
                 format="json")
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "new_password"


def test_full_cycle_forgot_mail_reset_then_everything_old_is_dead(api, make_user, login,
                                                                  mail_token):
    make_user()
    first, second = login().json(), login().json()
    mail.outbox.clear()

    r = forgot(api, "alice@example.com")
    assert r.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your password"
    assert message.alternatives[0][1] == "text/html"
    token = mail_token("reset")

    r = reset(api, token)
    assert r.status_code == 200, r.content
    assert set(r.json()) == {"detail"}  # no tokens: no automatic login

    assert login(password=PASSWORD).status_code == 401
    assert login(password=NEW_PASSWORD).status_code == 200
    r = reset(api, token, "yet another passphrase 7")
    assert (r.status_code, r.json()["error_code"]) == (400, "token_invalid")
    for old in (first, second):
        r = api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {old['access_token']}")
        assert r.status_code == 401
        r = api.post("/api/v1/auth/refresh", {"refresh_token": old["refresh_token"]},
                     format="json")
        assert r.status_code == 401
    notice = mail.outbox[-1]
    assert notice.subject == "Your password was changed"
    assert notice.to == ["alice@example.com"]
    assert "reset" in notice.body


def test_forgot_answers_the_same_for_every_kind_of_address(api, make_user):
    make_user(email="known@example.com")
    make_user(email="inactive@example.com", is_active=False)
    social = make_user(email="social@example.com")
    social.set_unusable_password()
    social.save()
    mail.outbox.clear()

    answers = {email: fingerprint(forgot(api, email)) for email in (
        "known@example.com", "nobody@example.com", "inactive@example.com",
        "social@example.com")}
    assert len(set(answers.values())) == 1, answers
    assert answers["known@example.com"][0] == 200
    assert [m.to for m in mail.outbox] == [["known@example.com"]]


def test_forgot_answers_the_same_when_smtp_is_down(api, make_user, smtp_down, caplog):
    make_user(email="known@example.com")
    up = fingerprint(forgot(api, "nobody@example.com"))
    with caplog.at_level(logging.ERROR, logger="ainative_auth"):
        known = fingerprint(forgot(api, "known@example.com"))
        unknown = fingerprint(forgot(api, "other@example.com"))
    assert known == unknown == up
    assert known[0] == 200
    failures = [r for r in caplog.records if "could not send reset_password" in r.getMessage()]
    assert len(failures) == 1
    assert "known@example.com" not in failures[0].getMessage()


def test_the_link_ignores_a_hostile_host_header(api, make_user, mail_token, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.USE_X_FORWARDED_HOST = True
    make_user()
    mail.outbox.clear()
    r = forgot(api, "alice@example.com", HTTP_HOST="evil.example",
               HTTP_X_FORWARDED_HOST="evil2.example")
    assert r.status_code == 200
    body = mail.outbox[0].body + mail.outbox[0].alternatives[0][0]
    assert "evil" not in body
    assert "https://app.example.com/reset-password?token=" in body
    assert mail_token("reset")


def test_mail_goes_to_the_stored_address_not_the_typed_one(api, make_user):
    user = make_user(email="alice@example.com")
    get_user_model().objects.filter(pk=user.pk).update(email="Alice@Example.com")
    mail.outbox.clear()
    assert forgot(api, "aLiCe@EXAMPLE.com").status_code == 200
    assert [m.to for m in mail.outbox] == [["Alice@Example.com"]]


def test_ambiguous_addresses_get_no_mail(api, make_user):
    first = make_user(email="alice@example.com")
    second = make_user(email="other@example.com")
    get_user_model().objects.filter(pk=second.pk).update(email=first.email.upper())
    mail.outbox.clear()
    assert forgot(api, "alice@example.com").status_code == 200
    assert mail.outbox == []


def test_the_token_carries_the_user_reference_and_nothing_personal(api, reset_token):
    user = get_user_model().objects.get(email="alice@example.com")
    uid, _, rest = reset_token.partition(".")
    assert uid and rest
    assert "alice" not in reset_token.lower()
    assert user.password not in reset_token
    link = mail.outbox[-1].body
    assert "alice@example.com" not in link.split("token=")[1].split()[0]


def test_the_token_expires_after_an_hour_by_default(api, reset_token):
    later = datetime.now() + timedelta(seconds=3601)
    with mock.patch.object(ResetPasswordTokenGenerator, "_now", return_value=later):
        r = reset(api, reset_token)
    assert (r.status_code, r.json()["error_code"]) == (400, "token_invalid")
    sooner = datetime.now() + timedelta(seconds=3500)
    with mock.patch.object(ResetPasswordTokenGenerator, "_now", return_value=sooner):
        assert reset(api, reset_token).status_code == 200


def test_the_lifetime_setting_is_honoured(api, reset_token, auth_settings):
    auth_settings(RESET_PASSWORD_TOKEN_LIFETIME=60)
    later = datetime.now() + timedelta(seconds=61)
    with mock.patch.object(ResetPasswordTokenGenerator, "_now", return_value=later):
        assert reset(api, reset_token).status_code == 400


def test_the_lifetime_is_not_djangos_password_reset_timeout(api, reset_token, settings):
    settings.PASSWORD_RESET_TIMEOUT = 10
    later = datetime.now() + timedelta(seconds=600)
    with mock.patch.object(ResetPasswordTokenGenerator, "_now", return_value=later):
        assert reset(api, reset_token).status_code == 200


def test_changing_the_email_kills_the_token(api, reset_token):
    user = get_user_model().objects.get(email="alice@example.com")
    user.email = "alice2@example.com"
    user.save()
    assert reset(api, reset_token).status_code == 400


def test_changing_the_password_otherwise_kills_the_token(api, reset_token):
    user = get_user_model().objects.get(email="alice@example.com")
    user.set_password("something else entirely 9")
    user.save()
    assert reset(api, reset_token).status_code == 400


def test_a_weak_password_is_400_and_leaves_the_token_usable(api, reset_token):
    for weak in ("short", "12345678901", "password1234", "alice@example.com"):
        r = reset(api, reset_token, weak)
        assert r.status_code == 400, weak
        assert r.json()["errors"][0]["field"] == "new_password"
    assert reset(api, reset_token).status_code == 200


@pytest.mark.parametrize("body,field", [
    ({"token": "x.y-z"}, "new_password"),
    ({"new_password": NEW_PASSWORD}, "token"),
    ({"token": "x.y-z", "new_password": 12345678}, "new_password"),
    ({"token": 5, "new_password": NEW_PASSWORD}, "token"),
    ({"token": "x.y-z", "new_password": "x" * 1025}, "new_password"),
])
def test_malformed_reset_bodies_name_the_field(api, db, body, field):
    r = api.post(RESET, body, format="json")
    assert r.status_code == 400
    assert r.json()["error_code"] == "validation_error"
    assert r.json()["errors"][0]["field"] == field


def test_passwords_are_not_trimmed(api, reset_token, login):
    spaced = "  spaced out passphrase  "
    assert reset(api, reset_token, spaced).status_code == 200
    assert login(password=spaced).status_code == 200
    assert login(password=spaced.strip()).status_code == 401


def test_invalid_expired_and_used_tokens_get_one_body(api, reset_token):
    garbage = reset(api, "MQ.c3k2g0-0123456789abcdef0123456789abcdef")
    later = datetime.now() + timedelta(hours=2)
    with mock.patch.object(ResetPasswordTokenGenerator, "_now", return_value=later):
        expired = reset(api, reset_token)
    assert reset(api, reset_token).status_code == 200
    used = reset(api, reset_token, "another passphrase 99")
    assert fingerprint(garbage) == fingerprint(expired) == fingerprint(used)
    assert garbage.json()["error_code"] == "token_invalid"


def test_verification_and_reset_tokens_do_not_cross(api, reset_token, make_user):
    r = api.post(VERIFY, {"token": reset_token}, format="json")
    assert r.status_code == 400
    user = get_user_model().objects.get(email="alice@example.com")
    assert reset(api, verify_email_tokens.make_email_token(user)).status_code == 400


def test_a_reset_proves_the_address(api, reset_token):
    assert not EmailAddress.objects.filter(email="alice@example.com", verified=True).exists()
    assert reset(api, reset_token).status_code == 200
    assert EmailAddress.objects.get(email="alice@example.com").verified is True


def test_an_inactive_user_cannot_reset(api, reset_token):
    get_user_model().objects.filter(email="alice@example.com").update(is_active=False)
    assert reset(api, reset_token).status_code == 400


@pytest.mark.parametrize("body", [{}, {"email": "nope"}, {"email": 1}, {"email": None}])
def test_forgot_with_a_malformed_body_is_400(api, db, body):
    r = api.post(FORGOT, body, format="json")
    assert (r.status_code, r.json()["error_code"]) == (400, "validation_error")


def test_forgot_past_the_per_email_limit_answers_200_and_sends_nothing(
    api, make_user, auth_settings
):
    # A 429 here would be seen by the address's owner too (and would tell a prober the
    # limit was reached): past the per-address limit the answer stays the same 200, and no
    # more mail goes out. The links already mailed keep working.
    make_user()
    auth_settings.rates(forgot_password="2/hour")
    mail.outbox.clear()
    responses = [forgot(api, "alice@example.com", REMOTE_ADDR=f"10.0.0.{n}")
                 for n in range(1, 5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    assert len({r.content for r in responses}) == 1
    assert len(mail.outbox) == 2
    # Another spelling of the same address counts against the same limit.
    assert forgot(api, "ALICE@example.com", REMOTE_ADDR="10.0.0.9").status_code == 200
    assert len(mail.outbox) == 2
    # The first mailed link still resets the password.
    token = re.search(r"token=([A-Za-z0-9_.\-]+)", mail.outbox[0].body).group(1)
    assert reset(api, token).status_code == 200


def test_forgot_is_throttled_per_ip_with_retry_after(api, db, auth_settings):
    auth_settings.rates(forgot_password="3/hour")
    responses = [forgot(api, f"user{n}@example.com") for n in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].json()["error_code"] == "throttled"
    assert responses[-1]["Retry-After"].isdigit()
    assert int(responses[-1]["Retry-After"]) > 0


def test_reset_is_throttled_per_ip(api, db, auth_settings):
    auth_settings.rates(reset_password="5/minute")
    codes = [reset(api, f"dXNlcj{n}.c3k2g0-{n:032x}").status_code for n in range(6)]
    assert codes == [400] * 5 + [429]


def test_reset_failures_are_throttled_per_account_across_ips(api, reset_token, auth_settings):
    auth_settings.rates(reset_password="3/minute")
    uid = reset_token.split(".")[0]
    codes = [reset(api, f"{uid}.c3k2g0-{n:032x}", REMOTE_ADDR=f"10.0.0.{n}").status_code
             for n in range(1, 5)]
    assert codes == [400, 400, 400, 429]


def test_a_valid_reset_link_works_while_the_account_is_flooded(api, reset_token, auth_settings):
    # The account part of a token is the base64 of its sequential id: anyone can name it.
    # Only failures are counted, after the token was checked, so garbage sent in the
    # owner's name never blocks the owner's real link (R27).
    auth_settings.rates(reset_password="3/minute")
    uid = reset_token.split(".")[0]
    for n in range(1, 10):
        reset(api, f"{uid}.c3k2g0-{n:032x}", REMOTE_ADDR=f"10.0.0.{n}")
    response = reset(api, reset_token, REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 200, response.content


def test_known_and_unknown_addresses_cost_the_same_queries(api, make_user, monkeypatch):
    # A deterministic stand-in for "similar timing": the same lookups either way (the
    # mail itself is sent after the response's work, in the background by default: here
    # it is only recorded, so its rendering's queries are not counted as the request's).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ainative_auth.outbox import messages as mail_messages

    make_user(email="known@example.com")
    jobs: list = []
    monkeypatch.setattr(mail_messages, "dispatch", jobs.append)
    counts = {}
    for email in ("known@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            assert forgot(api, email).status_code == 200
        counts[email] = len(queries)
    assert counts["known@example.com"] == counts["nobody@example.com"], counts
    assert [job.to for job in jobs] == ["known@example.com"]
