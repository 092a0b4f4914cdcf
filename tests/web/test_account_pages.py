"""The account pages behind the login page's "Forgot password?" and "Resend verification",
and the pages the mailed links land on, over HTTP.

They call the services of ``auth/forgot-password``, ``auth/reset-password``,
``auth/resend-verification`` and ``auth/verify-email``: the same answers (one sentence
whatever the address), throttles (429 with ``Retry-After``), and bad input (a 400 with the
sentence next to its field), with CSRF checked on every POST.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import resolve, reverse

from ainative_auth.models import RefreshSession
from tests.conftest import PASSWORD
from tests.web.helpers import browser_client, browser_session_id, csrf_token, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a brand new passphrase 42"


def url(name: str) -> str:
    return reverse(f"ainative_auth_pages:{name}")


def html(response: Any) -> str:
    return response.content.decode()


def post(client: Client, name: str, data: dict[str, str]) -> Any:
    """POST a page's form with the CSRF token its GET handed out (the GET of a link page
    carries a token, or it shows no form)."""
    page = client.get(url(name) + "?token=from-the-link")
    return client.post(url(name), {"csrfmiddlewaretoken": csrf_token(page), **data})


def without_csrf(response: Any) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html(response))


@pytest.fixture
def bob(make_user: Any) -> Any:
    user = make_user(email="bob@example.com", name="Bob")
    mail.outbox.clear()
    return user


# --- the login page links to them ---------------------------------------------------------


def test_the_login_page_links_forgot_password_and_resend_verification() -> None:
    page = html(Client().get(url("login")))
    assert f'<a href="{url("forgot-password")}">Forgot password?</a>' in page
    assert f'<a href="{url("resend-verification")}">Resend verification</a>' in page


@pytest.mark.parametrize("name", ["forgot-password", "resend-verification", "reset-password",
                                  "verify-email"])
def test_each_page_has_the_pages_headers_and_no_inline_script(name: str) -> None:
    response = Client().get(url(name) + "?token=abc")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in html(response)
    assert 'name="csrfmiddlewaretoken"' in html(response)


@pytest.mark.parametrize("middleware", [True, False], ids=["csrf-middleware", "no-middleware"])
@pytest.mark.parametrize("name", ["forgot-password", "resend-verification", "reset-password",
                                  "verify-email"])
def test_each_form_needs_its_csrf_token(name: str, middleware: bool, bob: Any,
                                        settings: Any) -> None:
    if not middleware:  # each view checks the token itself (csrf_protect)
        settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE
                               if not name.endswith("CsrfViewMiddleware")]
    client = Client(enforce_csrf_checks=True)
    client.get(url(name))
    response = client.post(url(name), {"email": "bob@example.com", "token": "abc",
                                       "new_password": NEW_PASSWORD})
    assert response.status_code == 403
    assert mail.outbox == []


# --- forgot password -------------------------------------------------------------------------


def test_forgot_password_has_an_email_field_and_a_button() -> None:
    page = html(Client().get(url("forgot-password")))
    assert '<label for="id_email">Email</label>' in page
    assert re.search(r'<input id="id_email" name="email" type="email"', page)
    assert re.search(r'<button type="submit"[^>]*>Send reset link</button>', page)


def test_forgot_password_mails_a_link_and_answers_like_the_api(bob: Any, mail_token: Any) -> None:
    from ainative_auth.api.views.passwords import FORGOT_ANSWER

    response = post(Client(), "forgot-password", {"email": "Bob@Example.com"})

    assert response.status_code == 200
    assert FORGOT_ANSWER["detail"] in html(response)
    assert [message.to for message in mail.outbox] == [["bob@example.com"]]
    assert mail_token("reset")


def test_forgot_password_says_the_same_for_an_unknown_address(bob: Any) -> None:
    known = post(Client(), "forgot-password", {"email": "bob@example.com"})
    unknown = post(Client(), "forgot-password", {"email": "nobody@example.com"})

    assert (unknown.status_code, without_csrf(unknown)) == (known.status_code, without_csrf(known))
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("email", ["", "not-an-address", "bob @example.com", "a" * 400])
def test_forgot_password_shows_bad_input_next_to_the_field_as_the_api_says_it(
        email: str, bob: Any) -> None:
    api = Client().post("/api/v1/auth/forgot-password", {"email": email},
                        content_type="application/json").json()
    message = {"": "Enter your email address."}.get(email, api["errors"][0]["message"])

    response = post(Client(), "forgot-password", {"email": email})

    assert response.status_code == 400
    page = html(response)
    assert re.search(r'id="id_email"[^>]*aria-invalid="true"', page)
    assert re.search(rf'id="id_email-error" role="alert">{re.escape(message)}</p>', page)
    assert mail.outbox == []


def test_forgot_password_is_throttled_per_ip_with_the_apis_scope(bob: Any,
                                                                auth_settings: Any) -> None:
    auth_settings.rates(forgot_password="2/hour")
    client = Client()
    statuses = [post(client, "forgot-password", {"email": "bob@example.com"}).status_code
                for _ in range(2)]
    refused = post(client, "forgot-password", {"email": "bob@example.com"})

    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many attempts. Try again in" in html(refused)
    # The API counts against the same budget: the page is no way around it.
    api = Client().post("/api/v1/auth/forgot-password", {"email": "bob@example.com"},
                        content_type="application/json")
    assert api.status_code == 429


# --- reset password --------------------------------------------------------------------------


def test_the_mailed_reset_link_lands_on_the_reset_page_when_frontend_url_is_this_site(
        bob: Any, auth_settings: Any) -> None:
    auth_settings(FRONTEND_URL="http://testserver")
    post(Client(), "forgot-password", {"email": "bob@example.com"})
    link = re.search(r"http://testserver\S+", mail.outbox[0].body).group(0)

    assert resolve(urlsplit(link).path).url_name == "reset-password"
    page = Client().get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert '<label for="id_new_password">New password</label>' in html(page)


def test_the_reset_page_keeps_the_token_in_the_form_and_drops_it_from_the_address() -> None:
    page = html(Client().get(url("reset-password") + "?token=abc.def"))
    assert '<input type="hidden" name="token" value="abc.def">' in page
    assert f'data-replace-url="{url("reset-password")}"' in page
    assert re.search(r'autocomplete="new-password"', page)


def test_a_reset_sets_the_password_and_signs_every_session_out(bob: Any, mail_token: Any) -> None:
    signed_in = browser_client()
    sign_in(signed_in, "bob@example.com")
    session_id = browser_session_id(signed_in)
    post(Client(), "forgot-password", {"email": "bob@example.com"})

    response = post(Client(), "reset-password",
                    {"token": mail_token("reset"), "new_password": NEW_PASSWORD})

    assert response.status_code == 200
    assert "Password changed" in html(response)
    bob.refresh_from_db()
    assert bob.check_password(NEW_PASSWORD)
    assert RefreshSession.objects.get(pk=session_id).revoked_at is not None
    assert signed_in.get(url("dashboard")).status_code == 302
    assert sign_in(browser_client(), "bob@example.com", NEW_PASSWORD).status_code == 303


def test_a_weak_password_is_shown_next_to_its_field_and_keeps_the_link(bob: Any,
                                                                       mail_token: Any) -> None:
    post(Client(), "forgot-password", {"email": "bob@example.com"})
    token = mail_token("reset")

    response = post(Client(), "reset-password", {"token": token, "new_password": "123"})

    assert response.status_code == 400
    page = html(response)
    assert re.search(r'id="id_new_password"[^>]*aria-invalid="true"', page)
    assert re.search(r'id="id_new_password-error" role="alert">[^<]+</p>', page)
    assert f'name="token" value="{token}"' in page
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
    again = post(Client(), "reset-password", {"token": token, "new_password": NEW_PASSWORD})
    assert again.status_code == 200


@pytest.mark.parametrize("token", ["garbage", "x" * 5000, ""])
def test_a_bad_reset_link_says_so_and_offers_a_new_one(token: str, bob: Any) -> None:
    from ainative_auth.exceptions import EmailTokenInvalid

    response = post(Client(), "reset-password", {"token": token, "new_password": NEW_PASSWORD})

    assert response.status_code == 400
    page = html(response)
    assert f'role="alert" id="link-error">{EmailTokenInvalid.default_detail}</div>' in page
    assert f'href="{url("forgot-password")}">Request a new link</a>' in page
    assert 'name="new_password"' not in page


def test_a_used_reset_link_is_refused(bob: Any, mail_token: Any) -> None:
    post(Client(), "forgot-password", {"email": "bob@example.com"})
    token = mail_token("reset")
    assert post(Client(), "reset-password",
                {"token": token, "new_password": NEW_PASSWORD}).status_code == 200

    again = post(Client(), "reset-password", {"token": token, "new_password": "another one 43"})

    assert again.status_code == 400
    assert 'id="link-error"' in html(again)


@pytest.mark.parametrize("name", ["reset-password", "verify-email"])
def test_a_link_page_without_its_token_asks_for_the_link_again(name: str) -> None:
    # Typed by hand, or reloaded after the page script took the token out of the address.
    from ainative_auth.web.account import NO_TOKEN

    response = Client().get(url(name))
    assert response.status_code == 400
    assert f'id="link-error">{NO_TOKEN}</div>' in html(response)
    assert "Request a new link</a>" in html(response)


def test_reset_attempts_are_throttled_with_the_apis_scope(auth_settings: Any) -> None:
    auth_settings.rates(reset_password="1/hour")
    client = Client()
    assert post(client, "reset-password",
                {"token": "garbage", "new_password": NEW_PASSWORD}).status_code == 400

    refused = post(client, "reset-password", {"token": "garbage", "new_password": NEW_PASSWORD})

    assert refused.status_code == 429
    assert refused["Retry-After"]


# --- resend verification and verify ----------------------------------------------------------


def test_resend_verification_mails_a_new_link_and_answers_like_the_api(
        bob: Any, mail_token: Any) -> None:
    from ainative_auth.api.views.verification import RESEND_ANSWER

    response = post(Client(), "resend-verification", {"email": "bob@example.com"})

    assert response.status_code == 200
    assert RESEND_ANSWER["detail"] in html(response)
    assert mail_token("verify", to="bob@example.com")


def test_resend_verification_says_the_same_for_unknown_and_verified_addresses(bob: Any) -> None:
    unverified = post(Client(), "resend-verification", {"email": "bob@example.com"})
    unknown = post(Client(), "resend-verification", {"email": "nobody@example.com"})
    EmailAddress.objects.filter(user=bob).update(verified=True)
    verified = post(Client(), "resend-verification", {"email": "bob@example.com"})

    answers = {(r.status_code, without_csrf(r)) for r in (unverified, unknown, verified)}
    assert len(answers) == 1
    assert len(mail.outbox) == 1


def test_resend_verification_is_throttled_with_the_apis_scope(bob: Any, auth_settings: Any) -> None:
    auth_settings.rates(resend_verification="1/hour")
    client = Client()
    assert post(client, "resend-verification", {"email": "bob@example.com"}).status_code == 200

    refused = post(client, "resend-verification", {"email": "bob@example.com"})

    assert refused.status_code == 429
    assert refused["Retry-After"]


def test_opening_the_verification_link_verifies_nothing_until_the_button(
        bob: Any, mail_token: Any) -> None:
    post(Client(), "resend-verification", {"email": "bob@example.com"})
    token = mail_token("verify")
    client = Client()

    page = client.get(url("verify-email") + f"?token={token}")

    assert page.status_code == 200
    assert re.search(r'<button type="submit"[^>]*>Verify email address</button>', html(page))
    assert not EmailAddress.objects.filter(user=bob, verified=True).exists()
    done = client.post(url("verify-email"), {"csrfmiddlewaretoken": csrf_token(page),
                                              "token": token})
    assert done.status_code == 200
    assert "Email address verified" in html(done)
    assert EmailAddress.objects.filter(user=bob, email="bob@example.com", verified=True).exists()


@pytest.mark.parametrize("token", ["garbage", ""])
def test_a_bad_verification_link_says_so_and_offers_a_new_one(token: str) -> None:
    response = post(Client(), "verify-email", {"token": token})

    assert response.status_code == 400
    assert 'id="link-error"' in html(response)
    assert f'href="{url("resend-verification")}">Request a new link</a>' in html(response)


def test_verify_attempts_are_throttled_with_the_apis_scope(auth_settings: Any) -> None:
    auth_settings.rates(verify_email="1/hour")
    client = Client()
    assert post(client, "verify-email", {"token": "garbage"}).status_code == 400

    refused = post(client, "verify-email", {"token": "garbage"})

    assert refused.status_code == 429
    assert refused["Retry-After"]


# --- the example project without a frontend --------------------------------------------------


def test_the_example_projects_mail_links_point_at_its_own_pages_by_default() -> None:
    import json
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "FRONTEND_URL"}
    env.update(PORT="8123", DJANGO_SETTINGS_MODULE="example_project.settings")
    out = subprocess.run(
        [sys.executable, "-c", "import json, django; django.setup(); "
         "from django.conf import settings as s; "
         "print(json.dumps(s.AINATIVE_AUTH['FRONTEND_URL']))"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == "http://localhost:8123"
