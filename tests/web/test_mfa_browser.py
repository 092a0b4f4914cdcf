"""Passkeys in a real headless Chromium with a CDP virtual authenticator (user
verification on): "Add a passkey" on the dashboard, "Sign in with a passkey" on /login,
and a passkey as the second factor after the password. Chromium treats only
``http://localhost`` (not 127.0.0.1) as a secure context, so the live server is visited,
and ``SITE_URL`` set, as ``localhost``. Then the stored credential is checked from Python."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.web.browser import chromium_page, require_chromium, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_chromium()


@pytest.fixture
def alice(make_user: Any, verify: Any) -> Any:
    user = make_user(email="alice@example.com", name="Alice")
    verify(user)
    return user


def _virtual_authenticator(page: Any) -> tuple[Any, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }})
    return cdp, found["authenticatorId"]


def _sign_in_with_password(page: Any) -> None:
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_add_a_passkey_then_sign_in_with_it_in_chromium(
    live_server: Any, alice: Any, auth_settings: Any
) -> None:
    base = live_server.url.replace("127.0.0.1", "localhost")
    auth_settings(SITE_URL=base)
    with chromium_page(base) as page:
        cdp, authenticator = _virtual_authenticator(page)
        page.goto("/login")
        _sign_in_with_password(page)
        page.wait_for_url(f"{base}/dashboard")
        assert page.get_by_role("heading", name="Security").is_visible()
        assert page.get_by_role("button", name="Set up authenticator app").is_visible()

        # Add a passkey: the first factor, so the recovery codes are shown once.
        page.get_by_label("Passkey name").fill("Chromium")
        page.get_by_role("button", name="Add a passkey").click()
        page.get_by_role("heading", name="Recovery codes").wait_for()
        codes = page.get_by_role("list", name="Recovery codes").inner_text().split()
        assert len(codes) == 10
        screenshot(page, "mfa-recovery-codes")
        page.get_by_role("link", name="Done").click()
        page.wait_for_url(f"{base}/dashboard")
        assert page.get_by_role("row", name=re.compile("Passkey “Chromium”")).is_visible()
        screenshot(page, "mfa-dashboard-security")
        held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert len(held["credentials"]) == 1 and held["credentials"][0]["isResidentCredential"]

        # Sign in with the passkey alone.
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/login"))
        page.get_by_role("button", name="Sign in with a passkey").click()
        page.wait_for_url(f"{base}/dashboard")
        assert page.get_by_text("alice@example.com").first.is_visible()

        # A password sign-in now asks for the second factor: the passkey answers it.
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/login"))
        _sign_in_with_password(page)
        page.get_by_label("Authentication code").wait_for()
        assert page.get_by_role("button", name="Verify").is_visible()
        screenshot(page, "mfa-code-step")
        page.get_by_role("button", name="Use a passkey").click()
        page.wait_for_url(f"{base}/dashboard")
        held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    credential = held["credentials"][0]

    # Python side: what the server stored matches the authenticator's credential.
    from ainative_auth.mfa.models import Passkey
    from ainative_auth.models import RefreshSession

    stored = Passkey.objects.get(user=alice)
    raw_id = base64.b64decode(credential["credentialId"])
    assert stored.credential_id == base64.urlsafe_b64encode(raw_id).rstrip(b"=").decode()
    assert stored.name == "Chromium" and stored.last_used_at is not None
    assert stored.sign_count == credential["signCount"] >= 2
    methods = list(RefreshSession.objects.filter(user=alice).order_by("created_at")
                   .values_list("method", "amr"))
    assert methods[-2:] == [("passkey", ["hwk", "mfa"]), ("password", ["pwd", "hwk", "mfa"])]
