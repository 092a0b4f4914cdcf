"""The login page's social buttons and the server-side social sign-in of the pages.

``/login/<provider>`` starts the flow on the server and keeps the state in this browser's
session; ``/login/<provider>/callback`` goes on only for that browser. The round trips run
against the stand-in GitHub of ``tests/oauth_standins.py`` (its own loopback port), with
Django's test client and with a real Chromium.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from ainative_auth.credentials import browser_session
from ainative_auth.models import RefreshSession
from tests.oauth_standins import github_user
from tests.web.browser import chromium_page, require_chromium, screenshot
from tests.web.helpers import browser_client, browser_session_id, sign_in


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


PAGE_CALLBACK = "http://testserver/login/github/callback"


@pytest.fixture
def github_pages(settings: Any) -> Any:
    """The stand-in GitHub, with the pages' callback on the redirect allowlist."""
    from tests.oauth_standins import serving_github

    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "OAUTH_REDIRECT_URIS": [PAGE_CALLBACK]}
    with serving_github(settings) as server:
        yield server


def _at_provider(github: Any, location: str, user: Any) -> str:
    """The provider's consent as ``user``: the URL it sends the browser back to."""
    import requests

    github.next_user = user
    answer = requests.get(location, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.content
    return str(answer.headers["Location"])


def _callback_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


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
def test_the_start_page_sends_the_browser_to_the_provider_with_a_state_kept_for_it(
    github_pages: Any,
) -> None:
    client = browser_client()
    response = client.get("/login/github?next=/dashboard")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(github_pages.url)
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == [PAGE_CALLBACK]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    kept = client.session[browser_session.SOCIAL_START_KEY]
    assert kept == {"provider": "github", "state": query["state"][0], "next": "/dashboard"}


@pytest.mark.django_db
def test_the_round_trip_signs_this_browser_in_on_a_social_session_row(
    github_pages: Any, alice: Any
) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=alice).update(verified=True)  # links only when verified
    client = browser_client()
    back = _at_provider(github_pages, client.get("/login/github?next=/dashboard")["Location"],
                        github_user(uid=777, email="alice@example.com"))
    response = client.get(_callback_path(back))
    assert response.status_code == 303 and response["Location"] == "/dashboard"
    row = RefreshSession.objects.get(pk=browser_session_id(client))
    assert (row.user_id, row.method) == (alice.pk, "social:github")
    assert client.get("/dashboard").status_code == 200
    # The state worked once: the same callback again starts nothing.
    assert client.get(_callback_path(back)).status_code == 400


@pytest.mark.django_db
def test_a_callback_url_made_in_another_browser_signs_nobody_in(
    github_pages: Any, alice: Any
) -> None:
    """Login CSRF (F5): the attacker starts a sign-in, approves it at the provider as
    themselves, and sends the victim the callback URL. The victim's browser, signed in or
    not, is not signed into the attacker's account, and the attacker's flow is not used."""
    attacker = browser_client()
    lure = _at_provider(github_pages, attacker.get("/login/github")["Location"],
                        github_user(uid=666, email="mallory@example.org"))
    signed_out, signed_in_as_alice = browser_client(), browser_client()
    assert sign_in(signed_in_as_alice).status_code == 303
    alices_session = browser_session_id(signed_in_as_alice)
    for victim in (signed_out, signed_in_as_alice):
        response = victim.get(_callback_path(lure))
        assert response.status_code == 400
        assert "not started in this browser" in response.content.decode()
    assert browser_session.SESSION_ID_KEY not in signed_out.session
    assert browser_session_id(signed_in_as_alice) == alices_session
    assert not github_pages.requests_to(github_pages.token_path)  # the code never went out
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(email="mallory@example.org").exists()


@pytest.mark.django_db
def test_a_state_of_another_provider_or_a_tampered_state_is_refused(
    github_pages: Any,
) -> None:
    client = browser_client()
    back = _at_provider(github_pages, client.get("/login/github")["Location"],
                        github_user(uid=5, email="x@example.com"))
    tampered = back.replace("state=", "state=x")
    assert client.get(_callback_path(tampered)).status_code == 400
    # The tampered attempt consumed this browser's start: the real URL is dead too.
    assert client.get(_callback_path(back)).status_code == 400
    assert not github_pages.requests_to(github_pages.token_path)


@pytest.mark.django_db
def test_a_refusal_at_the_provider_is_shown_on_the_login_page(github_pages: Any) -> None:
    client = browser_client()
    state = parse_qs(urlsplit(client.get("/login/github")["Location"]).query)["state"][0]
    response = client.get(f"/login/github/callback?error=access_denied&state={state}")
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert "cancelled or refused" in response.content.decode()


@pytest.mark.django_db
def test_a_redirect_uri_off_the_allowlist_is_refused_before_the_provider(
    github_pages: Any, settings: Any
) -> None:
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "OAUTH_REDIRECT_URIS": []}
    response = browser_client().get("/login/github")
    assert response.status_code == 400
    assert not github_pages.requests_to("/login/oauth/authorize")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sign_in_with_github_round_trip_in_a_real_browser(
    live_server: Any, settings: Any, alice: Any
) -> None:
    """The real thing: the login page's button, the start on the server (state kept in
    this browser's session, PKCE), a stand-in GitHub on its own loopback port, the
    callback (code exchange, /user/emails) and the dashboard."""
    from allauth.account.models import EmailAddress

    from tests.oauth_standins import serving_github

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
def test_a_lure_opened_in_a_real_browser_signs_nobody_in(
    live_server: Any, settings: Any
) -> None:
    """F5 in Chromium: the attacker's approved callback URL, opened by the victim's
    browser, ends on the login page with the refusal, and the dashboard stays closed."""
    import requests

    from tests.oauth_standins import serving_github

    require_chromium()
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "OAUTH_REDIRECT_URIS": [
        f"{live_server.url}/login/github/callback"]}
    with serving_github(settings) as github:
        attacker = requests.Session()
        start = attacker.get(f"{live_server.url}/login/github", allow_redirects=False)
        github.next_user = github_user(uid=666, email="mallory@example.org")
        lure = requests.get(start.headers["Location"], allow_redirects=False,
                            timeout=5).headers["Location"]
        with chromium_page(live_server.url) as page:
            page.goto(lure)
            page.get_by_role("alert").filter(has_text="not started in this browser").wait_for()
            assert page.url.startswith(f"{live_server.url}/login/github/callback")
            page.goto("/dashboard")
            page.wait_for_url(re.compile(r".*/login\?next=(/|%2F)dashboard$"))
            screenshot(page, "social-lure-refused")
        assert not github.requests_to(github.token_path)
