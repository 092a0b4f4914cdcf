"""The MFA pages with Django's test client: the login page's code step (after the password,
after a provider, after the admin's form), the dashboard's "Security" section, setting up
an authenticator app, and the step-up prompt that retries the action."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from ainative_auth.mfa.models import TOTPDevice
from ainative_auth.models import APIKey, RefreshSession
from tests.conftest import PASSWORD
from tests.mfa_helpers import code_now, enable_totp
from tests.oauth_standins import github_user
from tests.web.helpers import browser_client, browser_session_id, csrf_token, sign_in
from tests.web.test_pages_social import _at_provider, _callback_path, github_pages  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def mfa_alice(alice: Any, clock: Any) -> tuple[Any, str, list[str]]:
    secret, codes = enable_totp(alice)
    clock.advance(61)
    return alice, secret, codes


def _code_step(html: str) -> bool:
    return ('<label for="id_code">Authentication code</label>' in html
            and ">Verify</button>" in html)


def _submit_code(client: Any, page: Any, code: str, **extra: str) -> Any:
    return client.post("/login/mfa", {"code": code, "csrfmiddlewaretoken": csrf_token(page),
                                      **extra})


def test_the_login_page_asks_for_the_code_after_the_password(mfa_alice: Any) -> None:
    _, secret, _ = mfa_alice
    client = browser_client()
    sessions_before = RefreshSession.objects.count()
    page = sign_in(client, next="/dashboard")
    assert page.status_code == 200 and _code_step(page.content.decode())
    assert "mfa_" not in page.content.decode()  # the token stays on the server
    assert RefreshSession.objects.count() == sessions_before
    assert client.get("/dashboard")["Location"].startswith("/login")  # not signed in yet

    wrong = _submit_code(client, page, "000000", next="/dashboard")
    assert wrong.status_code == 400 and _code_step(wrong.content.decode())
    done = _submit_code(client, wrong, code_now(secret), next="/dashboard")
    assert done.status_code == 303 and done["Location"] == "/dashboard"
    row = RefreshSession.objects.get(pk=browser_session_id(client))
    assert row.method == "password" and row.amr == ["pwd", "otp", "mfa"]
    assert client.get("/dashboard").status_code == 200


def test_the_pending_step_survives_a_reload_and_can_be_abandoned(mfa_alice: Any) -> None:
    client = browser_client()
    sign_in(client)
    assert _code_step(client.get("/login").content.decode())
    restarted = client.get("/login?restart=1").content.decode()
    assert not _code_step(restarted) and 'name="password"' in restarted


def test_a_code_step_without_a_pending_sign_in_signs_nobody_in(mfa_alice: Any) -> None:
    _, secret, _ = mfa_alice
    client = browser_client()
    page = client.get("/login")
    response = _submit_code(client, page, code_now(secret))
    assert response.status_code == 401
    assert client.get("/dashboard").status_code == 302


def test_the_admin_login_sends_a_second_factor_user_to_the_code_step(
    make_user: Any, clock: Any
) -> None:
    staff = make_user(email="staff@example.com", is_staff=True, is_superuser=True)
    secret, _ = enable_totp(staff)
    clock.advance(61)
    client = browser_client()
    response = client.post("/admin/login/?next=/admin/", {
        "username": "staff@example.com", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/login?next=%2Fadmin%2F"
    assert client.get("/admin/").status_code == 302  # not in yet
    page = client.get(response["Location"])
    assert _code_step(page.content.decode())
    done = _submit_code(client, page, code_now(secret), next="/admin/")
    assert done.status_code == 303 and done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_provider_sign_in_with_mfa_on_asks_for_the_code(
    github_pages: Any, alice: Any, clock: Any  # noqa: F811
) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=alice).update(verified=True)
    secret, _ = enable_totp(alice)
    clock.advance(61)
    client = browser_client()
    back = _at_provider(github_pages, client.get("/login/github?next=/dashboard")["Location"],
                        github_user(uid=778, email="alice@example.com"))
    page = client.get(_callback_path(back))
    assert page.status_code == 200 and _code_step(page.content.decode())
    done = _submit_code(client, page, code_now(secret), next="/dashboard")
    assert done.status_code == 303
    assert RefreshSession.objects.get(pk=browser_session_id(client)).method == "social:github"


def test_the_dashboard_has_a_security_section(signed_in: Any) -> None:
    html = signed_in.get("/dashboard").content.decode()
    assert '<h2 id="security-title">Security</h2>' in html
    assert "Set up authenticator app</button>" in html
    assert "Add a passkey</button>" in html


def test_setting_up_an_authenticator_app_on_the_pages(signed_in: Any, alice: Any,
                                                       verify: Any) -> None:
    verify(alice)
    dashboard = signed_in.get("/dashboard")
    page = signed_in.post("/dashboard/security/totp/new",
                          {"csrfmiddlewaretoken": csrf_token(dashboard)})
    html = page.content.decode()
    assert page.status_code == 200 and 'src="data:image/svg+xml' in html
    secret = re.search(r'id="totp-secret" class="mono" type="text" value="([A-Z2-7]+)"',
                       html).group(1)
    assert len(re.findall(r"<li>[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}</li>", html)) == 10
    wrong = signed_in.post("/dashboard/security/totp/verify",
                           {"code": "000000", "csrfmiddlewaretoken": csrf_token(page)})
    assert wrong.status_code == 303 and wrong["Location"] == "/dashboard/security/totp"
    again = signed_in.get(wrong["Location"])
    assert secret in again.content.decode() and "<li>" not in again.content.decode()
    done = signed_in.post("/dashboard/security/totp/verify",
                          {"code": code_now(secret), "csrfmiddlewaretoken": csrf_token(again)})
    assert done.status_code == 303 and done["Location"] == "/dashboard"
    assert TOTPDevice.objects.get(user=alice).confirmed_at is not None
    html = signed_in.get("/dashboard").content.decode()
    assert "Authenticator app</th>" in html and "Remove authenticator app" in html


def test_a_stale_session_is_prompted_then_the_key_is_created(
    mfa_alice: Any, clock: Any
) -> None:
    _, secret, _ = mfa_alice
    client = browser_client()
    page = sign_in(client)
    _submit_code(client, page, code_now(secret))
    clock.advance(700)
    dashboard = client.get("/dashboard")
    prompt = client.post("/dashboard/keys", {
        "name": "deploy-bot", "scopes": "credits:read", "expires": "",
        "csrfmiddlewaretoken": csrf_token(dashboard)})
    html = prompt.content.decode()
    assert prompt.status_code == 403 and "Confirm it is you" in html
    assert 'label for="id_code">Authentication code' in html
    assert not APIKey.objects.exists()

    fields = dict(re.findall(
        r'<input type="hidden" name="((?:retry_|step_up_)[a-z_]+)" value="([^"]*)"', html))
    assert fields["step_up_next"] == "/dashboard/keys" and fields["retry_name"] == "deploy-bot"
    wrong = client.post("/dashboard/security/step-up", {
        **fields, "code": "000000", "csrfmiddlewaretoken": csrf_token(prompt)})
    assert wrong.status_code == 400 and "Authentication code" in wrong.content.decode()
    done = client.post("/dashboard/security/step-up", {
        **fields, "code": code_now(secret), "csrfmiddlewaretoken": csrf_token(prompt)})
    html = done.content.decode()
    assert done.status_code == 200 and 'action="/dashboard/keys" data-autosubmit' in html
    retry = dict(re.findall(r'<input type="hidden" name="([a-z]+)" value="([^"]*)"', html))
    created = client.post("/dashboard/keys", {**retry, "csrfmiddlewaretoken": csrf_token(done)})
    assert created.status_code == 201, created.content[:300]
    assert APIKey.objects.get().name == "deploy-bot"


def test_an_oauth_consent_needs_a_recent_second_factor(mfa_alice: Any, clock: Any) -> None:
    """Allowing an app hands out a credential that acts for the user: with MFA on, a
    session whose second factor is older than STEP_UP_MAX_AGE is asked for it first,
    and the "Allow" goes through after it (no code issued before)."""
    from django.urls import reverse

    from tests.oauth import authorize_url, consent_form, make_client, pkce, query_of

    _, secret, _ = mfa_alice
    client = browser_client()
    _submit_code(client, sign_in(client), code_now(secret))
    clock.advance(700)
    app, _ = make_client(name="Claude")
    _, challenge = pkce()
    form = consent_form(client.get(authorize_url(app.id, challenge)))
    prompt = client.post(form["action"], {"request": form["request"], "action": "allow",
                                          "csrfmiddlewaretoken": form["csrfmiddlewaretoken"]})
    html = prompt.content.decode()
    assert prompt.status_code == 403 and "Confirm it is you" in html
    fields = dict(re.findall(
        r'<input type="hidden" name="((?:retry_|step_up_)[a-z_]+)" value="([^"]*)"', html))
    assert fields["retry_action"] == "allow"  # the consent form's own field, kept apart
    done = client.post(reverse("ainative_auth_pages:mfa-step-up"), {
        **fields, "code": code_now(secret), "csrfmiddlewaretoken": csrf_token(prompt)})
    assert done.status_code == 200
    retry = dict(re.findall(r'<input type="hidden" name="([a-z]+)" value="([^"]*)"',
                            done.content.decode()))
    action = re.search(r'<form method="post" action="([^"]+)" data-autosubmit>',
                       done.content.decode())
    assert action is not None
    answer = client.post(unescape(action.group(1)), {**retry,
                                                  "csrfmiddlewaretoken": csrf_token(done)})
    assert answer.status_code == 302 and query_of(answer["Location"]).get("code")
