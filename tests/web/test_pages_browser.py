"""The pages in a real headless Chromium, served by the example project on 127.0.0.1.

Elements are found by role and label only (the names DESIGN.md section 5 fixes), so these
tests also check that a screen reader could tell every control apart. Screenshots of the
login page and the dashboard land in ``test-output/pages/`` (git-ignored).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.web.browser import FIREFOX_ON_LINUX, chromium_page, http, require_chromium, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_chromium()


@pytest.fixture
def alice(make_user: Any) -> Any:
    from allauth.account.models import EmailAddress

    user = make_user(email="alice@example.com", name="Alice")
    EmailAddress.objects.filter(user=user).update(verified=True)
    return user


def _login_over_api(base: str, user_agent: str) -> dict[str, Any]:
    status, tokens = http("POST", f"{base}/api/v1/auth/login",
                          {"email": "alice@example.com", "password": PASSWORD},
                          headers={"User-Agent": user_agent})
    assert status == 200, tokens
    return tokens


def _sign_in(page: Any) -> None:
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_the_whole_dashboard_flow_in_a_real_browser(live_server: Any, alice: Any) -> None:
    base = live_server.url
    # Another session of alice's, from an API client: the dashboard revokes it below.
    other = _login_over_api(base, FIREFOX_ON_LINUX)

    with chromium_page(base, permissions=["clipboard-read", "clipboard-write"]) as page:
        # 1. The dashboard sends a browser without a session to the login page.
        page.goto("/dashboard")
        page.wait_for_url(re.compile(r"/login\?next=%2Fdashboard$"))
        assert page.get_by_role("heading", name="Sign in").is_visible()
        screenshot(page, "login")

        # 2. Sign in; land on the dashboard.
        _sign_in(page)
        page.wait_for_url(f"{base}/dashboard")
        assert page.get_by_role("heading", name="Dashboard").is_visible()
        assert page.get_by_text("alice@example.com").first.is_visible()
        assert page.get_by_role("button", name="Log out").is_visible()

        # 3. Create a key; it is shown once, with a copy button.
        page.get_by_label("Name", exact=True).fill("deploy-bot")
        page.get_by_label("Scopes").fill("credits:read")
        page.get_by_role("button", name="Create key").click()
        key_field = page.get_by_label("API key", exact=True)
        plaintext = key_field.input_value()
        assert re.fullmatch(r"ak_[A-Za-z0-9_]+", plaintext), plaintext
        page.get_by_role("button", name="Copy key").click()
        page.get_by_text("API key copied to the clipboard.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == plaintext
        row = page.get_by_role("row", name=re.compile("deploy-bot"))
        assert "credits:read" in row.inner_text() and "Active" in row.inner_text()
        screenshot(page, "dashboard-new-key")

        # 4. The key works against the example project's protected endpoint.
        balance = f"{base}/api/v1/public/credits/balance"
        status, body = http("GET", balance, headers={"X-API-Key": plaintext})
        assert status == 200, body

        # 5. Reload: a GET of /dashboard, and the key is gone for good.
        page.reload()
        assert page.url == f"{base}/dashboard"
        assert page.get_by_label("API key", exact=True).count() == 0
        assert plaintext not in page.content()
        assert page.get_by_role("button", name="Revoke key deploy-bot").is_visible()
        screenshot(page, "dashboard")

        # 6. Revoke it (accepting the confirm dialog); the next call fails.
        dialogs: list[str] = []

        def accept(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.accept()

        page.once("dialog", accept)
        page.get_by_role("button", name="Revoke key deploy-bot").click()
        page.get_by_role("status").filter(has_text="Key deploy-bot was revoked.").wait_for()
        assert dialogs and "Revoke key deploy-bot" in dialogs[0]
        assert page.get_by_role("button", name="Revoke key deploy-bot").count() == 0
        status, body = http("GET", balance, headers={"X-API-Key": plaintext})
        assert status == 401 and body["error_code"] == "api_key_invalid"

        # 7. Revoke the API client's session; its refresh token is dead.
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Revoke session Firefox on Linux").click()
        page.get_by_role("status").filter(has_text="Firefox on Linux was revoked.").wait_for()
        status, body = http("POST", f"{base}/api/v1/auth/refresh",
                            {"refresh_token": other["refresh_token"]})
        assert status == 401 and body["error_code"] == "refresh_token_invalid"
        status, _ = http("GET", f"{base}/api/v1/users/me",
                         headers={"Authorization": f"Bearer {other['access_token']}"})
        assert status == 401

        # 8. Log out; the dashboard redirects to the login page again.
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/login$"))
        page.goto("/dashboard")
        page.wait_for_url(re.compile(r"/login\?next=%2Fdashboard$"))


def test_a_dismissed_confirm_dialog_changes_nothing(live_server: Any, alice: Any) -> None:
    with chromium_page(live_server.url) as page:
        page.goto("/login")
        _sign_in(page)
        page.wait_for_url(f"{live_server.url}/dashboard")
        page.get_by_label("Name", exact=True).fill("ci-runner")
        page.get_by_role("button", name="Create key").click()
        plaintext = page.get_by_label("API key", exact=True).input_value()
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.get_by_role("button", name="Revoke key ci-runner").click()
        page.wait_for_timeout(300)  # a dismissed dialog submits nothing; give it the chance
        assert page.get_by_role("button", name="Revoke key ci-runner").is_visible()
    status, _ = http("GET", f"{live_server.url}/api/v1/users/me",
                     headers={"X-API-Key": plaintext})
    assert status == 200


def test_a_wrong_password_is_announced_next_to_the_form(live_server: Any, alice: Any) -> None:
    with chromium_page(live_server.url) as page:
        page.goto("/login")
        page.get_by_label("Email").fill("alice@example.com")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert alert.inner_text() == "Invalid email or password."
        # The address is kept, the password never echoed back.
        assert page.get_by_label("Email").input_value() == "alice@example.com"
        assert page.get_by_label("Password").input_value() == ""

        page.get_by_label("Email").fill("")
        page.get_by_role("button", name="Sign in", exact=True).click()
        email = page.get_by_label("Email")
        assert email.get_attribute("aria-invalid") == "true"
        described = email.get_attribute("aria-describedby")
        error = page.locator(f"#{described}")
        assert error.get_attribute("role") == "alert"
        assert error.inner_text().endswith("Enter your email address.")
        screenshot(page, "login-error")


def test_sign_in_and_key_creation_work_from_the_keyboard(live_server: Any, alice: Any) -> None:
    with chromium_page(live_server.url) as page:
        page.goto("/login")
        # The email field has focus on arrival (autofocus lands just after the load event:
        # typing before it would lose keys); Tab moves on; Enter submits.
        page.wait_for_function("document.activeElement.id === 'id_email'", timeout=5000)
        page.keyboard.type("alice@example.com")
        assert page.input_value("#id_email") == "alice@example.com"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "id_password"
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server.url}/dashboard")

        # The first Tab reaches the skip link, which takes focus to the content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.get_by_label("Name", exact=True).focus()
        page.keyboard.type("keyboard-key")
        page.keyboard.press("Tab")  # Scopes
        page.keyboard.press("Tab")  # Expires
        page.keyboard.press("Tab")  # Create key
        focused = page.evaluate("document.activeElement.textContent.trim()")
        assert focused == "Create key"
        # Focus is visible: a real outline on the focused button.
        outline = page.evaluate(
            "getComputedStyle(document.activeElement).outlineStyle + ' ' + "
            "getComputedStyle(document.activeElement).outlineWidth"
        )
        assert outline.startswith("solid") and not outline.endswith(" 0px"), outline
        page.keyboard.press("Enter")
        assert page.get_by_label("API key", exact=True).input_value().startswith("ak_")
