"""The consent page in a real browser (headless Chromium): an app sends the person to the
authorization endpoint, they sign in, see what the app asks for, click "Allow", the app
gets its code; then the dashboard's "Connected apps" revokes it."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.oauth import authorize_url, make_client, pkce, query_of
from tests.web.browser import chromium_page, require_chromium, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CALLBACK = "http://127.0.0.1:1/cb"


@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_chromium()


def test_sign_in_allow_and_revoke_in_a_real_browser(live_server: Any, make_user: Any) -> None:
    from allauth.idp.oidc.models import Token

    make_user(email="alice@example.com", name="Alice")
    app, _ = make_client(name="Browser app", redirect_uris=[CALLBACK])
    verifier, challenge = pkce()
    url = authorize_url(app.id, challenge, scope="mcp credits:read", redirect_uri=CALLBACK)
    landed: list[str] = []

    with chromium_page(live_server.url) as page:
        # The app's loopback callback, played by the test.
        page.route(re.compile(r"^http://127\.0\.0\.1:1/.*"), lambda route: (
            landed.append(route.request.url),
            route.fulfill(status=200, content_type="text/html", body="<h1>Signed in</h1>")))
        page.goto(url)
        page.wait_for_url(re.compile(r"/login\?next="))
        page.get_by_label("Email").fill("alice@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        # Back at the authorization endpoint: the consent page.
        heading = page.get_by_role("heading", name="Allow Browser app to act for you?")
        heading.wait_for()
        assert page.get_by_text("Read your credit balance").is_visible()
        assert page.get_by_text("127.0.0.1:1").is_visible()
        screenshot(page, "consent")
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:1/cb"))
        got = query_of(landed[-1])
        assert got["state"] == "st4te" and got["iss"] and got["code"]

        body = urllib.parse.urlencode({
            "grant_type": "authorization_code", "client_id": app.id, "code": got["code"],
            "code_verifier": verifier, "redirect_uri": CALLBACK}).encode()
        with urllib.request.urlopen(f"{live_server.url}/oauth/token", body,  # noqa: S310
                                    timeout=15) as response:
            assert response.status == 200

        page.goto("/dashboard")
        assert page.get_by_role("heading", name="Connected apps").is_visible()
        page.on("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Revoke access for Browser app").click()
        page.wait_for_load_state()
        page.get_by_text("No app has access to your account.").wait_for()
        screenshot(page, "connected-apps-revoked")

    assert not Token.objects.filter(client=app, type__in=["at", "rt"]).exists()
