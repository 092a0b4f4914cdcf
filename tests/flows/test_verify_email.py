"""Email verification: mail on register, verify, resend, the verified gate (R51-R54)."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.decorators import api_view
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from ainative_auth.api.views.base import AuthenticatedAPIView
from ainative_auth.credentials.email_tokens import (
    VerifyEmailTokenGenerator,
    reset_password_tokens,
)
from ainative_auth.permissions import HasVerifiedEmail
from tests.conftest import PASSWORD

# Real commits, so mail goes out after commit exactly as in production.
pytestmark = pytest.mark.django_db(transaction=True)

VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/resend-verification"
ME = "/api/v1/users/me"


def verify(api, token, **extra):
    return api.post(VERIFY, {"token": token}, format="json", **extra)


def me(api, access):
    return api.get(ME, HTTP_AUTHORIZATION=f"Bearer {access}").json()


def test_registering_mails_a_verification_link_to_the_frontend(register):
    r = register(email="alice@example.com")
    assert r.status_code == 201, r.content
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Verify your email address"
    assert "https://app.example.com/verify-email?token=" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert 'href="https://app.example.com/verify-email?token=' in html


def test_full_cycle_register_mail_verify_then_me_shows_verified(api, register, mail_token):
    access = register().json()["access_token"]
    assert me(api, access)["email_verified"] is False
    r = verify(api, mail_token("verify"))
    assert r.status_code == 200, r.content
    assert set(r.json()) == {"detail"}  # no tokens: verifying does not log anyone in
    assert me(api, access)["email_verified"] is True
    assert EmailAddress.objects.get(email="alice@example.com").verified is True


def test_verifying_twice_is_harmless_the_second_time_is_token_invalid(api, register,
                                                                      mail_token):
    register()
    token = mail_token("verify")
    assert verify(api, token).status_code == 200
    r = verify(api, token)
    assert r.status_code == 400
    assert r.json()["error_code"] == "token_invalid"
    assert EmailAddress.objects.get(email="alice@example.com").verified is True


@pytest.mark.parametrize("token", [
    "garbage", "x.y", "MQ.abc-def", "MQ.zzzzzzzzz-0123", ".", "MQ.", "%%%.a-b", "MQ.a-b.c",
    "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5.c3k2g0-0123456789abcdef0123456789abcdef",
    "bm90LWFuLWlk.c3k2g0-0123456789abcdef0123456789abcdef",
])
def test_garbage_tokens_are_token_invalid(api, make_user, token):
    make_user()
    r = verify(api, token)
    assert r.status_code == 400, r.content
    assert r.json()["error_code"] == "token_invalid"


def test_a_tampered_token_is_token_invalid(api, register, mail_token):
    register()
    token = mail_token("verify")
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    r = verify(api, tampered)
    assert (r.status_code, r.json()["error_code"]) == (400, "token_invalid")
    assert verify(api, token).status_code == 200


def test_malformed_bodies_are_validation_errors(api, db):
    for body in ({}, {"token": 123}, {"token": ""}, {"token": "MQ\u0000.a-b"},
                 {"token": "a" * 257}, {"token": ["x"]}):
        r = api.post(VERIFY, body, format="json")
        assert r.status_code == 400, body
        assert r.json()["error_code"] == "validation_error"
        assert r.json()["errors"][0]["field"] == "token"


def test_get_does_not_verify_and_keeps_the_token_usable(api, register, mail_token):
    register()
    token = mail_token("verify")
    r = api.get(VERIFY, {"token": token})
    assert r.status_code == 405
    assert EmailAddress.objects.get(email="alice@example.com").verified is False
    assert verify(api, token).status_code == 200


def test_the_token_expires_after_the_configured_lifetime(api, register, mail_token,
                                                         auth_settings):
    auth_settings(VERIFY_EMAIL_TOKEN_LIFETIME=600)
    register()
    token = mail_token("verify")
    later = datetime.now() + timedelta(seconds=601)
    with mock.patch.object(VerifyEmailTokenGenerator, "_now", return_value=later):
        r = verify(api, token)
    assert (r.status_code, r.json()["error_code"]) == (400, "token_invalid")
    sooner = datetime.now() + timedelta(seconds=590)
    with mock.patch.object(VerifyEmailTokenGenerator, "_now", return_value=sooner):
        assert verify(api, token).status_code == 200


def test_the_default_lifetime_is_a_day_at_most(api, register, mail_token):
    register()
    token = mail_token("verify")
    later = datetime.now() + timedelta(hours=24, seconds=5)
    with mock.patch.object(VerifyEmailTokenGenerator, "_now", return_value=later):
        assert verify(api, token).status_code == 400


def test_changing_the_email_kills_the_token_and_verifies_nothing(api, register, mail_token):
    register(email="alice@example.com")
    token = mail_token("verify")
    user = get_user_model().objects.get(email="alice@example.com")
    user.email = "bob@example.com"
    user.save()
    r = verify(api, token)
    assert (r.status_code, r.json()["error_code"]) == (400, "token_invalid")
    assert not EmailAddress.objects.filter(verified=True).exists()


def test_after_an_email_change_a_new_link_verifies_the_new_address_only(api, register,
                                                                       mail_token):
    register(email="alice@example.com")
    old_token = mail_token("verify")
    user = get_user_model().objects.get(email="alice@example.com")
    user.email = "alice.new@example.com"
    user.save()
    mail.outbox.clear()
    api.post(RESEND, {"email": "alice.new@example.com"}, format="json")
    assert [m.to for m in mail.outbox] == [["alice.new@example.com"]]
    assert verify(api, mail_token("verify")).status_code == 200
    assert verify(api, old_token).status_code == 400
    verified = set(EmailAddress.objects.filter(verified=True).values_list("email", flat=True))
    assert verified == {"alice.new@example.com"}


def test_a_token_for_one_account_never_verifies_another(api, register, mail_token):
    register(email="alice@example.com")
    alice_token = mail_token("verify", to="alice@example.com")
    register(email="bob@example.com")
    bob = get_user_model().objects.get(email="bob@example.com")
    # Alice's HMAC with Bob's user reference.
    forged = urlsafe_base64_encode(force_bytes(bob.pk)) + "." + alice_token.split(".", 1)[1]
    assert verify(api, forged).status_code == 400
    assert not EmailAddress.objects.filter(verified=True).exists()


def test_a_reset_token_is_not_a_verification_token(api, make_user):
    user = make_user()
    r = verify(api, reset_password_tokens.make_email_token(user))
    assert (r.status_code, r.json()["error_code"]) == (400, "token_invalid")


def test_an_inactive_users_token_is_invalid(api, register, mail_token):
    register()
    token = mail_token("verify")
    get_user_model().objects.filter(email="alice@example.com").update(is_active=False)
    assert verify(api, token).status_code == 400


def test_a_user_without_an_address_record_gets_one_verified(api, make_user):
    from ainative_auth.credentials.email_tokens import verify_email_tokens

    user = make_user()
    EmailAddress.objects.filter(user=user).delete()  # e.g. made by createsuperuser
    assert verify(api, verify_email_tokens.make_email_token(user)).status_code == 200
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("alice@example.com", True, True)


def test_verification_sends_the_email_verified_signal_once(api, register, mail_token):
    from ainative_auth.signals import email_verified

    received = []

    def on_verified(sender, user, email, **kwargs):
        received.append(email)

    email_verified.connect(on_verified)
    try:
        register()
        token = mail_token("verify")
        verify(api, token)
        verify(api, token)
    finally:
        email_verified.disconnect(on_verified)
    assert received == ["alice@example.com"]


# --- resend ---------------------------------------------------------------------------

def test_resend_answers_the_same_for_every_kind_of_address(api, register, make_user,
                                                           mail_token):
    register(email="unverified@example.com")
    register(email="verified@example.com")
    assert verify(api, mail_token("verify", to="verified@example.com")).status_code == 200
    make_user(email="inactive@example.com", is_active=False)
    mail.outbox.clear()

    answers = {}
    for email in ("unverified@example.com", "verified@example.com", "inactive@example.com",
                  "nobody@example.com"):
        r = api.post(RESEND, {"email": email}, format="json")
        answers[email] = (r.status_code, r.content, r["Content-Type"])
    assert len(set(answers.values())) == 1, answers
    assert answers["nobody@example.com"][0] == 200
    assert [m.to for m in mail.outbox] == [["unverified@example.com"]]


def test_a_resent_link_verifies(api, register, mail_token):
    register()
    mail.outbox.clear()
    api.post(RESEND, {"email": "ALICE@example.com"}, format="json")
    assert mail.outbox[0].to == ["alice@example.com"]
    assert verify(api, mail_token("verify")).status_code == 200


@pytest.mark.parametrize("body", [{}, {"email": "not-an-email"}, {"email": 5},
                                  {"email": ["a@example.com"]}, {"email": ""}])
def test_resend_with_a_malformed_body_is_400(api, db, body):
    r = api.post(RESEND, body, format="json")
    assert r.status_code == 400
    assert r.json()["error_code"] == "validation_error"


def test_resend_past_the_per_email_limit_answers_200_and_sends_nothing(
    api, register, auth_settings
):
    register()
    auth_settings.rates(resend_verification="2/hour")
    mail.outbox.clear()
    responses = [api.post(RESEND, {"email": "alice@example.com"}, format="json",
                          REMOTE_ADDR=f"10.0.0.{n}") for n in range(1, 5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    assert len({r.content for r in responses}) == 1
    assert len(mail.outbox) == 2


def test_resend_is_throttled_per_ip_with_retry_after(api, db, auth_settings):
    auth_settings.rates(resend_verification="3/hour")
    codes = []
    for n in range(4):
        r = api.post(RESEND, {"email": f"user{n}@example.com"}, format="json")
        codes.append(r.status_code)
    assert codes == [200, 200, 200, 429]
    assert r.json()["error_code"] == "throttled"
    assert int(r["Retry-After"]) > 0


def test_verify_is_throttled_per_ip(api, db, auth_settings):
    auth_settings.rates(verify_email="3/minute")
    codes = [verify(api, f"dXNlcj{n}.c3k2g0-abc").status_code for n in range(4)]
    assert codes == [400, 400, 400, 429]


def test_verify_is_throttled_per_account_across_ips(api, make_user, auth_settings):
    user = make_user()
    auth_settings.rates(verify_email="3/minute")
    from ainative_auth.credentials.email_tokens import verify_email_tokens

    uid = verify_email_tokens.make_email_token(user).split(".")[0]
    codes = [verify(api, f"{uid}.c3k2g0-{n:032x}", REMOTE_ADDR=f"10.0.0.{n}").status_code
             for n in range(1, 5)]
    assert codes == [400, 400, 400, 429]


def test_a_valid_verification_link_works_while_the_account_is_flooded(
    api, make_user, mail_token, auth_settings
):
    # Failures are counted after the token was checked: garbage naming the account (its
    # uid is guessable) never blocks the owner's real link (R27).
    make_user()
    token = mail_token("verify")
    auth_settings.rates(verify_email="3/minute")
    uid = token.split(".")[0]
    for n in range(1, 10):
        verify(api, f"{uid}.c3k2g0-{n:032x}", REMOTE_ADDR=f"10.0.0.{n}")
    response = verify(api, token, REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 200, response.content


# --- the verified gate ----------------------------------------------------------------

class VerifiedOnlyView(AuthenticatedAPIView):
    permission_classes = [IsAuthenticated, HasVerifiedEmail]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


def test_has_verified_email_gives_403_email_not_verified(make_user):
    user = make_user()
    factory = APIRequestFactory()
    view = VerifiedOnlyView.as_view()

    request = factory.get("/verified-only")
    force_authenticate(request, user=user)
    r = view(request)
    assert r.status_code == 403
    assert r.data == {"detail": "Verify your email address to use this endpoint.",
                      "error_code": "email_not_verified"}

    EmailAddress.objects.filter(user=user).update(verified=True)
    request = factory.get("/verified-only")
    force_authenticate(request, user=user)
    assert view(request).status_code == 200

    r = view(factory.get("/verified-only"))
    assert r.status_code == 401


def test_has_verified_email_looks_at_the_current_address(make_user):
    user = make_user()
    EmailAddress.objects.filter(user=user).update(verified=True)
    user.email = "new@example.com"
    user.save()

    @api_view(["GET"])
    def probe(request):
        return Response(HasVerifiedEmail().has_permission(request, None))

    request = APIRequestFactory().get("/probe")
    force_authenticate(request, user=user)
    assert probe(request).status_code == 403


def test_unverified_users_may_log_in_by_default(api, make_user, login):
    make_user()
    r = login()
    assert r.status_code == 200
    assert r.json()["user"]["email_verified"] is False


def test_with_allow_unverified_login_off_only_the_right_password_learns_it(
        api, register, login, mail_token, auth_settings):
    auth_settings(ALLOW_UNVERIFIED_LOGIN=False)
    register()
    r = login(password="wrong password entirely")
    assert (r.status_code, r.json()["error_code"]) == (401, "invalid_credentials")
    r = login(email="nobody@example.com")
    assert (r.status_code, r.json()["error_code"]) == (401, "invalid_credentials")
    r = login(password=PASSWORD)
    assert (r.status_code, r.json()["error_code"]) == (403, "email_not_verified")
    assert verify(api, mail_token("verify")).status_code == 200
    r = login(password=PASSWORD)
    assert r.status_code == 200
    assert r.json()["user"]["email_verified"] is True


def test_resend_costs_the_same_queries_for_known_and_unknown_addresses(api, register,
                                                                      monkeypatch):
    # The mail is only recorded: its rendering (in the background by default) is not the
    # request's work.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ainative_auth.outbox import messages as mail_messages

    register(email="known@example.com")
    jobs: list = []
    monkeypatch.setattr(mail_messages, "dispatch", jobs.append)
    counts = {}
    for email in ("known@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            assert api.post(RESEND, {"email": email}, format="json").status_code == 200
        counts[email] = len(queries)
    assert counts["known@example.com"] == counts["nobody@example.com"], counts
    assert [job.to for job in jobs] == ["known@example.com"]
