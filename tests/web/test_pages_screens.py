"""Every page on a phone (390 px) and a laptop (1280 px), in headless Chromium.

Each page is screenshot at both widths (``test-output/pages/<page>-<width>.png``, for a
person to look at) and fails when anything sticks out sideways or a region scrolls
sideways (``browser.assert_fits``). On the phone, every key and session action is reached
by scrolling down only, and works. The account pages behind "Forgot password?" and "Resend
verification" are driven end to end, from the login page through the mailed link.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.web.browser import (
    DESKTOP,
    FIREFOX_ON_LINUX,
    PHONE,
    assert_fits,
    assert_reachable,
    chromium_page,
    http,
    require_chromium,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "alice.with.a.rather.long.address@subdomain.example.com"
# Long names with and without break opportunities, long scopes, a long device label and an
# IPv6 address: the values that push a page sideways.
LONG_KEY = "deploy-bot-for-the-production-cluster-in-eu-west-1-blue-green"
UNBROKEN_KEY = "ingest_pipeline_worker_with_an_unbroken_name_0123456789abcdef"
LONG_SCOPES = ["credits:read", "keys:write", "reports.monthly-usage:export-everything-at-once"]
LONG_DEVICE = "Acme Enterprise Browser 118.0.2088.46 (Managed) on Some Very Long Operating System"
IPV6 = "2001:db8:85a3:1234:5678:8a2e:370:7334"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_chromium()


def _url(name: str, **kwargs: Any) -> str:
    return reverse(f"ainative_auth_pages:{name}", kwargs=kwargs or None)


@pytest.fixture
def alice(make_user: Any) -> Any:
    """A verified staff user with a long address, three keys and three other sessions."""
    from allauth.account.models import EmailAddress

    from ainative_auth import clock
    from ainative_auth.models import RefreshSession
    from ainative_auth.services import api_keys, sessions

    user = make_user(email=EMAIL, name="Alice", is_staff=True, is_superuser=True)
    EmailAddress.objects.filter(user=user).update(verified=True)
    api_keys.create_key(user, name=LONG_KEY, scopes=LONG_SCOPES,
                        expires_at=clock.now() + timedelta(days=90))
    api_keys.create_key(user, name=UNBROKEN_KEY, scopes=["*"])
    api_keys.revoke_key(api_keys.create_key(user, name="old-ci-runner", scopes=[]).key)
    sessions.start_session(user, ip_address="127.0.0.1", user_agent=FIREFOX_ON_LINUX)
    sessions.start_session(user, ip_address=IPV6, user_agent=IPHONE)
    odd = sessions.start_session(user, ip_address=IPV6, user_agent="AcmeBrowser/118")
    # A project's adapter may describe devices at length (up to the column's 100).
    RefreshSession.objects.filter(pk=odd.pk).update(device=LONG_DEVICE)
    return user


def _sign_in(page: Any, email: str = EMAIL, password: str = PASSWORD) -> None:
    page.goto(_url("login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/dashboard$"))


def _admin_key_list(page: Any) -> None:
    # The browser signed in through /login: a password session, which the admin admits.
    page.goto("/admin/ainative_auth/apikey/")
    page.get_by_role("link", name=re.compile("^ak_")).first.wait_for()


def _tokens(user: Any) -> tuple[str, str]:
    from ainative_auth.credentials.email_tokens import reset_password_tokens, verify_email_tokens

    return (reset_password_tokens.make_email_token(user),
            verify_email_tokens.make_email_token(user))


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_every_page_fits_the_screen(live_server: Any, alice: Any, width: int) -> None:
    reset_token, verify_token = _tokens(alice)
    viewport = {"width": width, "height": 844 if width == PHONE else 800}

    with chromium_page(live_server.url, viewport=viewport) as page:
        page.goto(_url("login"))
        assert_fits(page, "login")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("alert").wait_for()
        assert_fits(page, "login-error")

        for name, heading in (("forgot-password", "Forgot your password?"),
                              ("resend-verification", "Resend verification")):
            page.goto(_url(name))
            page.get_by_role("heading", name=heading).wait_for()
            assert_fits(page, name)
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_role("button", name=re.compile("^Send")).click()
            page.get_by_role("status").wait_for()
            assert_fits(page, f"{name}-sent")
        page.goto(f"{_url('reset-password')}?token={reset_token}")
        page.get_by_label("New password").wait_for()
        assert_fits(page, "reset-password")
        page.goto(f"{_url('verify-email')}?token={verify_token}")
        page.get_by_role("button", name="Verify email address").wait_for()
        assert_fits(page, "verify-email")
        page.goto(f"{_url('verify-email')}?token=not-a-token")
        page.get_by_role("button", name="Verify email address").click()
        page.get_by_role("alert").wait_for()
        assert_fits(page, "verify-email-bad-link")

        _sign_in(page)
        page.get_by_role("button", name=f"Revoke key {UNBROKEN_KEY}").wait_for()
        assert_fits(page, "dashboard")
        page.get_by_label("Name", exact=True).fill("a-new-key-with-a-long-name-for-the-phone")
        page.get_by_label("Scopes").fill("credits:read")
        page.get_by_role("button", name="Create key").click()
        page.get_by_label("API key", exact=True).wait_for()
        assert_fits(page, "dashboard-new-key")
        page.get_by_label("Name", exact=True).fill("")
        page.get_by_role("button", name="Create key").click()
        page.get_by_role("alert").first.wait_for()
        assert_fits(page, "dashboard-form-error")

        _admin_key_list(page)
        assert_fits(page, "admin-api-keys")

    # Without JavaScript, Revoke answers with a confirmation page: it must fit too.
    with chromium_page(live_server.url, viewport=viewport, java_script_enabled=False) as page:
        _sign_in(page)
        page.get_by_role("button", name=f"Revoke key {LONG_KEY}").click()
        page.get_by_role("button", name=f"Revoke key {LONG_KEY}").wait_for()
        assert page.url.endswith("/revoke")
        assert_fits(page, "confirm")


def test_on_a_phone_every_action_is_reachable_without_scrolling_sideways(
        live_server: Any, alice: Any) -> None:
    viewport = {"width": PHONE, "height": 844}
    with chromium_page(live_server.url, viewport=viewport, has_touch=True, is_mobile=True,
                       permissions=["clipboard-read", "clipboard-write"]) as page:
        _sign_in(page)
        # The names the contract fixes, each reachable by scrolling down only.
        names = [f"{verb} key {key}" for key in (LONG_KEY, UNBROKEN_KEY)
                 for verb in ("Rotate", "Revoke")]
        names += ["Revoke session Firefox on Linux", "Revoke session Safari on iOS",
                  f"Revoke session {LONG_DEVICE}", "Log out", "Create key"]
        for name in names:
            assert_reachable(page, page.get_by_role("button", name=name, exact=True))
        assert page.get_by_role("button", name="Revoke key old-ci-runner").count() == 0
        # Each card labels its values, as the table's header row did.
        labels = ("(row) => Array.from(row.querySelectorAll('td'), (cell) =>"
                  " getComputedStyle(cell, '::before').content).filter((c) => c !== 'none')")
        key_row = page.get_by_role("row", name=re.compile(re.escape(LONG_KEY)))
        assert key_row.evaluate(labels) == ['"Prefix"', '"Scopes"', '"State"', '"Last used"']
        session_row = page.get_by_role("row", name=re.compile("^Firefox on Linux"))
        assert session_row.evaluate(labels) == ['"IP address"', '"Signed in"', '"Last active"']

        # They work: rotate (the new key is shown once, with a copy button that fits)...
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=f"Rotate key {LONG_KEY}").click()
        key_field = page.get_by_label("API key", exact=True)
        plaintext = key_field.input_value()
        assert plaintext.startswith("ak_")
        assert_reachable(page, key_field)
        copy = page.get_by_role("button", name="Copy key")
        assert_reachable(page, copy)
        copy.tap()
        page.get_by_text("API key copied to the clipboard.").wait_for()
        assert_fits(page, "phone-rotated-key")
        status, _ = http("GET", f"{live_server.url}/api/v1/users/me",
                         headers={"X-API-Key": plaintext})
        assert status == 200

        # ...revoke a key, revoke a session.
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=f"Revoke key {UNBROKEN_KEY}").tap()
        page.get_by_role("status").filter(has_text=f"Key {UNBROKEN_KEY} was revoked.").wait_for()
        page.once("dialog", lambda dialog: dialog.accept())
        revoke = page.get_by_role("button", name="Revoke session Firefox on Linux")
        revoke.scroll_into_view_if_needed()
        revoke.tap()
        page.get_by_role("status").filter(has_text="Firefox on Linux was revoked.").wait_for()
        assert page.get_by_role("button", name="Revoke session Firefox on Linux").count() == 0
        assert_fits(page, "phone-after-revoking")


def test_forgot_password_from_the_login_page_to_signing_in_again(
        live_server: Any, make_user: Any, settings: Any, mail_token: Any) -> None:
    # The mailed link points at this very site, as in a project without a frontend.
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "FRONTEND_URL": live_server.url}
    make_user(email="bob@example.com", name="Bob")
    new_password = "a brand new passphrase 4 bob"

    with chromium_page(live_server.url, viewport={"width": PHONE, "height": 844}) as page:
        page.goto(_url("login"))
        page.get_by_role("link", name="Forgot password?").click()
        page.wait_for_url(re.compile(r"/forgot-password$"))
        page.get_by_label("Email").fill("bob@example.com")
        page.get_by_role("button", name="Send reset link").click()
        page.get_by_role("status").wait_for()
    link = f"{live_server.url}{_url('reset-password')}?token={mail_token('reset')}"

    with chromium_page(live_server.url, viewport={"width": PHONE, "height": 844}) as page:
        page.goto(link)
        # The token leaves the address bar (and the history) once the page has it.
        page.wait_for_url(re.compile(r"/reset-password$"))
        page.get_by_label("New password").fill(new_password)
        page.get_by_role("button", name="Set new password").click()
        page.get_by_role("heading", name="Password changed").wait_for()
        assert_fits(page, "reset-password-done")
        page.get_by_role("link", name="Sign in", exact=True).click()
        _sign_in(page, "bob@example.com", new_password)

        # The link was spent: opening it again says so, and offers a new one.
        page.goto(link)
        page.get_by_label("New password").fill("yet another passphrase 5")
        page.get_by_role("button", name="Set new password").click()
        page.get_by_role("link", name="Request a new link").wait_for()


def test_resend_verification_from_the_login_page_to_a_verified_address(
        live_server: Any, make_user: Any, settings: Any, mail_token: Any) -> None:
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "FRONTEND_URL": live_server.url}
    make_user(email="carol@example.com", name="Carol")

    with chromium_page(live_server.url, viewport={"width": PHONE, "height": 844}) as page:
        page.goto(_url("login"))
        page.get_by_role("link", name="Resend verification").click()
        page.wait_for_url(re.compile(r"/resend-verification$"))
        page.get_by_label("Email").fill("carol@example.com")
        page.get_by_role("button", name="Send verification link").click()
        page.get_by_role("status").wait_for()
    link = f"{live_server.url}{_url('verify-email')}?token={mail_token('verify')}"

    with chromium_page(live_server.url, viewport={"width": PHONE, "height": 844}) as page:
        _sign_in(page, "carol@example.com")
        assert page.get_by_text("Email not verified").is_visible()
        page.goto(link)
        page.wait_for_url(re.compile(r"/verify-email$"))
        page.get_by_role("button", name="Verify email address").click()
        page.get_by_role("heading", name="Email address verified").wait_for()
        assert_fits(page, "verify-email-done")
        page.get_by_role("link", name="Continue to the dashboard").click()
        page.wait_for_url(re.compile(r"/dashboard$"))
        assert page.get_by_text("Email verified").is_visible()
