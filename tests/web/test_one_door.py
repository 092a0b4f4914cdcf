"""One door in, one door out, and the admin behind them (security review F1, F4).

Every way a user becomes signed in ends in ``services.sessions.sign_in``, which sends
``user_logged_in`` exactly once; every way out ends in ``services.sessions.revoke_session``,
which sends ``user_logged_out`` once per session ended and kills every credential bound to
it, the browser's and the admin's included. The admin admits only browser sessions bound to
a live "password" session row: a bearer token can never become an admin session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth import user_logged_in, user_logged_out
from django.test import Client
from django.urls import reverse_lazy
from rest_framework.test import APIClient

from ainative_auth.models import RefreshSession
from tests.conftest import PASSWORD, bearer, url
from tests.oauth_standins import github_user, log_in_with, serving_github
from tests.web.helpers import browser_client, browser_session_id, csrf_token, sign_in

pytestmark = pytest.mark.django_db

STAFF = "staff@example.com"
ADMIN_LOGIN = reverse_lazy("admin:login")
ADMIN_PAGE = reverse_lazy("admin:auth_user_changelist")
SOCIAL_START = reverse_lazy("ainative_auth_pages:social-start", args=["github"])
PAGE_CALLBACK = "http://testserver" + str(reverse_lazy("ainative_auth_pages:social-callback",
                                                        args=["github"]))


class Announcements:
    """Every ``user_logged_in`` and ``user_logged_out`` sent while the test runs."""

    def __init__(self) -> None:
        self.ins: list[Any] = []
        self.outs: list[Any] = []

    def _in(self, sender: Any, user: Any, **kwargs: Any) -> None:
        self.ins.append(user)

    def _out(self, sender: Any, user: Any, **kwargs: Any) -> None:
        self.outs.append(user)

    def clear(self) -> None:
        self.ins.clear()
        self.outs.clear()


@pytest.fixture
def announced() -> Iterator[Announcements]:
    seen = Announcements()
    user_logged_in.connect(seen._in)
    user_logged_out.connect(seen._out)
    yield seen
    user_logged_in.disconnect(seen._in)
    user_logged_out.disconnect(seen._out)


@pytest.fixture
def staff(make_user: Any) -> Any:
    from allauth.account.models import EmailAddress

    user = make_user(email=STAFF, is_staff=True, is_superuser=True)
    EmailAddress.objects.filter(user=user).update(verified=True)
    return user


def admin_form_login(client: Client, username: str = STAFF, password: str = PASSWORD) -> Any:
    return client.post(ADMIN_LOGIN, {"username": username, "password": password,
                                         "next": "/admin/"})


def api_login(email: str = STAFF) -> dict[str, Any]:
    response = APIClient().post(url("login"), {"email": email, "password": PASSWORD},
                                format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())



def opens_admin(client: Client) -> bool:
    response = client.get(ADMIN_PAGE)
    if response.status_code == 302:
        assert urlsplit(response["Location"]).path == ADMIN_LOGIN
        return False
    assert response.status_code == 200, response.status_code
    return True


# --- one door in: user_logged_in once per sign-in, whatever the way in ---------------------


def test_register_announces_one_sign_in(announced: Announcements, register: Any) -> None:
    assert register().status_code == 201
    assert len(announced.ins) == 1


def test_the_apis_login_announces_one_sign_in(announced: Announcements, make_user: Any,
                                              login: Any) -> None:
    make_user()
    announced.clear()
    assert login().status_code == 200
    assert len(announced.ins) == 1


def test_the_login_page_announces_one_sign_in(announced: Announcements, make_user: Any) -> None:
    make_user()
    announced.clear()
    assert sign_in(browser_client()).status_code == 303
    assert len(announced.ins) == 1


def test_the_admins_login_form_announces_one_sign_in(announced: Announcements,
                                                     staff: Any) -> None:
    announced.clear()
    assert admin_form_login(Client()).status_code == 302
    assert len(announced.ins) == 1


def test_the_social_callback_announces_one_sign_in(announced: Announcements, settings: Any,
                                                   api: APIClient) -> None:
    with serving_github(settings) as github:
        response = log_in_with(api, github, "github", github_user(uid=11, email="g@example.com"))
    assert response.status_code == 200, response.content
    assert len(announced.ins) == 1


def test_the_pages_social_sign_in_announces_one_sign_in(announced: Announcements,
                                                        settings: Any) -> None:
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "OAUTH_REDIRECT_URIS": [PAGE_CALLBACK]}
    client = browser_client()
    with serving_github(settings) as github:
        github.next_user = github_user(uid=12, email="h@example.com")
        start = client.get(SOCIAL_START)
        back = requests.get(start["Location"], allow_redirects=False, timeout=5)
        parts = urlsplit(back.headers["Location"])
        assert client.get(f"{parts.path}?{parts.query}").status_code == 303
    assert len(announced.ins) == 1


# --- one door out: user_logged_out once per session ended -----------------------------------


def test_api_logout_announces_one_sign_out(announced: Announcements, tokens: Any) -> None:
    assert bearer(tokens["access_token"]).post(url("logout")).status_code == 200
    assert len(announced.outs) == 1


def test_page_logout_announces_one_sign_out_and_ends_the_row(announced: Announcements,
                                                             make_user: Any) -> None:
    make_user()
    client = browser_client()
    sign_in(client)
    row = browser_session_id(client)
    response = client.post(url("ainative_auth_pages:logout"), {
        "csrfmiddlewaretoken": csrf_token(client.get(url("ainative_auth_pages:login")))})
    assert response.status_code == 303
    assert len(announced.outs) == 1
    assert RefreshSession.objects.get(pk=row).revoke_reason == "logout"


def test_logout_all_announces_one_sign_out_per_session(announced: Announcements,
                                                       make_user: Any) -> None:
    make_user(email=STAFF)
    first, second = api_login(), api_login()
    response = bearer(second["access_token"]).post(url("logout-all"))
    assert response.json()["revoked"] == 2
    assert len(announced.outs) == 2
    assert bearer(first["access_token"]).get(url("me")).status_code == 401


def test_refresh_reuse_announces_the_sign_out(announced: Announcements, tokens: Any) -> None:
    api = APIClient()
    old = tokens["refresh_token"]
    first = api.post(url("refresh"), {"refresh_token": old}, format="json")
    assert first.status_code == 200
    RefreshSession.objects.update(rotated_at="2000-01-01T00:00:00Z")  # past the grace window
    answer = api.post(url("refresh"), {"refresh_token": old}, format="json")
    assert answer.json()["error_code"] == "refresh_token_reused"
    assert len(announced.outs) == 1


# --- F1: a bearer token never becomes an admin session ---------------------------------------


def test_the_token_hand_off_is_gone(staff: Any) -> None:
    access = api_login()["access_token"]
    client = Client()
    page = client.get(url("ainative_auth_pages:login"))
    response = client.post("/login/token", {"access_token": access, "next": "/admin/",
                                            "csrfmiddlewaretoken": csrf_token(page)})
    assert response.status_code in (404, 405)  # no such page (it reads as a provider's)
    assert not RefreshSession.objects.filter(method="").exists()
    assert not opens_admin(client)


def test_a_bearer_token_does_not_open_the_admin(staff: Any) -> None:
    access = api_login()["access_token"]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert not opens_admin(client)


def test_a_django_session_not_bound_to_a_session_row_does_not_open_the_admin(
    staff: Any,
) -> None:
    client = Client()
    client.force_login(staff)  # Django's own login(), as any code path outside the door
    assert not opens_admin(client)


def test_a_social_sign_in_does_not_open_the_admin(staff: Any, settings: Any) -> None:
    """Only a password sign-in opens the admin: a provider account is not a staff
    password."""
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "OAUTH_REDIRECT_URIS": [PAGE_CALLBACK]}
    client = browser_client()
    with serving_github(settings) as github:
        github.next_user = github_user(uid=13, email=STAFF)
        back = requests.get(client.get(SOCIAL_START)["Location"], allow_redirects=False,
                            timeout=5)
        parts = urlsplit(back.headers["Location"])
        assert client.get(f"{parts.path}?{parts.query}").status_code == 303
    assert RefreshSession.objects.get(pk=browser_session_id(client)).method == "social:github"
    assert client.get(url("ainative_auth_pages:dashboard")).status_code == 200
    assert not opens_admin(client)


# --- F4: no admin session outlives its row -----------------------------------------------------


@pytest.mark.parametrize("door", ["admin form", "login page"])
def test_an_admin_session_is_a_listed_row_and_dies_with_logout_all(staff: Any,
                                                                   door: str) -> None:
    client = browser_client()
    if door == "admin form":
        assert admin_form_login(client).status_code == 302
    else:
        assert sign_in(client, email=STAFF).status_code == 303
    assert opens_admin(client)
    other = api_login()
    listed = bearer(other["access_token"]).get(url("sessions")).json()
    assert browser_session_id(client) in {row["id"] for row in listed}
    assert bearer(other["access_token"]).post(url("logout-all")).status_code == 200
    assert not opens_admin(client)


def test_an_admin_session_dies_when_its_row_is_revoked_from_the_api(staff: Any) -> None:
    client = Client()
    admin_form_login(client)
    row = browser_session_id(client)
    other = api_login()
    assert bearer(other["access_token"]).delete(url("session-detail", row)).status_code == 204
    assert not opens_admin(client)


def test_an_admin_session_dies_with_refresh_reuse_of_its_row(staff: Any) -> None:
    """The admin's row is revoked by whatever revokes rows; here, reuse detection on the
    same session id reached through the service."""
    from ainative_auth.services import sessions

    client = Client()
    admin_form_login(client)
    sessions.revoke_session(RefreshSession.objects.get(pk=browser_session_id(client)),
                            "reuse_detected")
    assert not opens_admin(client)


def test_an_admin_session_dies_with_a_password_change_elsewhere(staff: Any) -> None:
    client = Client()
    admin_form_login(client)
    assert opens_admin(client)
    other = api_login()
    response = bearer(other["access_token"]).post(
        url("change-password"),
        {"current_password": PASSWORD, "new_password": "another long pass phrase 9"},
        format="json")
    assert response.status_code == 200, response.content
    assert not opens_admin(client)


def test_the_admins_logout_ends_the_row(announced: Announcements, staff: Any) -> None:
    client = Client()
    admin_form_login(client)
    row = browser_session_id(client)
    token = csrf_token(client.get(reverse_lazy("admin:password_change")))
    announced.clear()
    response = client.post(reverse_lazy("admin:logout"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert RefreshSession.objects.get(pk=row).revoked_at is not None
    assert len(announced.outs) == 1
    assert not opens_admin(client)
