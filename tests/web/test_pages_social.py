"""The login page's social buttons and the pages that drive the social-login API.

The social endpoints themselves are another branch's work; ``tests.web.urls`` mounts
stand-ins at the contract's paths, and the browser test runs the whole round trip through
a stand-in GitHub on the live server.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from ainative_auth.credentials import browser_session
from ainative_auth.models import RefreshSession
from tests.web.browser import chromium_page, require_chromium, screenshot
from tests.web.helpers import browser_client


def _github(settings: Any, client_id: str = "gh-client") -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "github": {"APPS": [{"client_id": client_id, "secret": "s"}]},
    }


def _linkedin(settings: Any) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "openid_connect": {"APPS": [{
            "provider_id": "linkedin", "name": "LinkedIn", "client_id": "li-client",
            "secret": "s", "settings": {"server_url": "https://www.linkedin.com/oauth"},
        }]},
    }


@pytest.fixture
def test_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.web.urls"


@pytest.mark.django_db
def test_no_provider_no_buttons(settings: Any) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {}
    html = Client().get("/login").content.decode()
    assert "Sign in with GitHub" not in html and "Sign in with LinkedIn" not in html
    assert Client().get("/login/github").status_code == 404


@pytest.mark.django_db
def test_configured_providers_get_a_link_each(settings: Any) -> None:
    _github(settings)
    _linkedin(settings)
    html = Client().get("/login?next=/dashboard%3Ftab%3Dkeys").content.decode()
    assert re.search(r'<a [^>]*href="/login/github\?next=/dashboard%3Ftab%3Dkeys"[^>]*>'
                     r"Sign in with GitHub</a>", html)
    assert re.search(r'<a [^>]*href="/login/linkedin[^"]*"[^>]*>Sign in with LinkedIn</a>', html)


@pytest.mark.django_db
def test_a_provider_without_a_client_id_is_not_configured(settings: Any) -> None:
    _github(settings, client_id="")
    assert "Sign in with GitHub" not in Client().get("/login").content.decode()


@pytest.mark.django_db
def test_a_social_app_in_the_admin_configures_a_provider(settings: Any) -> None:
    from allauth.socialaccount.models import SocialApp

    settings.SOCIALACCOUNT_PROVIDERS = {}
    SocialApp.objects.create(provider="github", name="GitHub", client_id="db-id", secret="s")
    assert "Sign in with GitHub" in Client().get("/login").content.decode()


@pytest.mark.django_db
def test_the_start_page_points_at_the_authorize_endpoint(settings: Any) -> None:
    _github(settings)
    html = Client().get("/login/github?next=/dashboard").content.decode()
    assert 'data-authorize-url="/api/v1/auth/github/authorize"' in html
    assert 'data-redirect-uri="http://testserver/login/github/callback"' in html
    assert 'data-next="/dashboard"' in html
    evil = Client().get("/login/github?next=//evil.example").content.decode()
    assert "evil.example" not in evil


@pytest.mark.django_db
def test_the_callback_page_posts_to_the_callback_endpoint(settings: Any) -> None:
    _linkedin(settings)
    response = Client().get("/login/linkedin/callback?code=abc&state=xyz")
    html = response.content.decode()
    assert 'data-callback-url="/api/v1/auth/linkedin/callback"' in html
    assert 'action="/login/token"' in html and 'name="csrfmiddlewaretoken"' in html
    assert "abc" not in html  # the code is read by the script, never echoed into the page
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_an_access_token_becomes_a_browser_session_on_the_same_row(
    api_tokens: dict[str, Any],
) -> None:
    from ainative_auth.credentials.tokens import decode_access_token

    client = browser_client()
    response = client.post("/login/token", {"access_token": api_tokens["access_token"],
                                            "next": "/dashboard?tab=keys"})
    assert response.status_code == 303 and response["Location"] == "/dashboard?tab=keys"
    sid = decode_access_token(api_tokens["access_token"])["sid"]
    assert client.session[browser_session.SESSION_ID_KEY] == str(sid)
    assert client.get("/dashboard").status_code == 200
    # One row: revoking it (here through the token's own logout) ends both.
    Client().post("/api/v1/auth/logout", HTTP_AUTHORIZATION=f"Bearer {api_tokens['access_token']}")
    assert client.get("/dashboard").status_code == 302
    assert RefreshSession.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_a_bad_access_token_is_refused_on_the_login_page(token: str) -> None:
    client = browser_client()
    response = client.post("/login/token", {"access_token": token, "next": "//evil.example"})
    assert response.status_code == 401
    assert 'role="alert"' in response.content.decode()
    assert browser_session.SESSION_ID_KEY not in client.session


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sign_in_with_github_round_trip_in_a_real_browser(
    live_server: Any, settings: Any, alice: Any
) -> None:
    """The real thing: the login page's button, the API's authorize endpoint (server
    state, PKCE), a stand-in GitHub on its own loopback port, the callback page, the API's
    callback endpoint (code exchange, /user/emails) and the token sign-in page."""
    from allauth.account.models import EmailAddress

    from tests.oauth_standins import github_user, serving_github

    require_chromium()
    EmailAddress.objects.filter(user=alice).update(verified=True)  # links only when verified
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "OAUTH_REDIRECT_URIS": [
        f"{live_server.url}/login/github/callback"]}
    with serving_github(settings) as github, chromium_page(live_server.url) as page:
        github.next_user = github_user(uid=777, email="alice@example.com")
        page.goto("/dashboard")
        page.get_by_role("link", name="Sign in with GitHub").click()
        page.wait_for_url(f"{live_server.url}/dashboard")
        assert page.get_by_role("heading", name="Dashboard").is_visible()
        assert page.get_by_role("button", name="Log out").is_visible()
        assert page.get_by_text("alice@example.com").first.is_visible()
        screenshot(page, "dashboard-after-github")
        # The provider saw our PKCE challenge and got the matching verifier.
        [token_request] = github.requests_to(github.token_path)
        assert token_request.arg("code_verifier")
    assert alice.socialaccount_set.get().uid == "777"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_refused_code_is_shown_on_the_callback_page(
    live_server: Any, settings: Any, alice: Any
) -> None:
    from tests.oauth_standins import serving_github

    require_chromium()
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "OAUTH_REDIRECT_URIS": [
        f"{live_server.url}/login/github/callback"]}
    with serving_github(settings), chromium_page(live_server.url) as page:
        page.goto("/login/github/callback?code=never-issued&state=x")
        alert = page.get_by_role("alert").filter(has_text="code")
        alert.wait_for()
        assert page.get_by_role("link", name="Back to sign in").is_visible()
