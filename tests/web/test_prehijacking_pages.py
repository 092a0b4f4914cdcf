"""Account pre-hijacking (security review F2) through the dashboard: the create-key form
plants nothing on an unverified account, and what it planted where a project allows it
dies with the owner's password reset; the dashboard shows the connected accounts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.models import APIKey
from tests.oauth_standins import CALLBACK, authorize, github_user, sign_in_at

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "the owner's own passphrase 9"


def create_key(client: Client, name: str = "backup", **data: str) -> Any:
    return client.post(reverse("ainative_auth_pages:create-key"),
                       {"name": name, "scopes": "", "expires": "", **data})


def new_key(response: Any) -> str:
    found = re.search(r'id="new-key-value"[^>]*value="(ak_[^"]+)"', response.content.decode())
    assert found, "no new key on the page"
    return found.group(1)


def test_the_dashboard_creates_no_key_for_an_unverified_account(signed_in: Client) -> None:
    response = create_key(signed_in)

    assert response.status_code == 403
    assert not APIKey.objects.exists()
    assert "Verify your email address to create keys" in response.content.decode()
    page = signed_in.get(reverse("ainative_auth_pages:dashboard")).content.decode()
    assert "Verify your email address to create keys" in page


def test_a_bad_form_from_an_unverified_account_is_the_same_400(signed_in: Client) -> None:
    response = create_key(signed_in, name="")

    assert response.status_code == 400
    assert 'id="id_name-error" role="alert"' in response.content.decode()
    assert not APIKey.objects.exists()


def test_a_key_made_on_the_dashboard_before_the_address_was_proved_dies_with_a_reset(
    signed_in: Client, auth_settings: Any, mail_token: Any
) -> None:
    auth_settings(UNVERIFIED_MAY_ADD_CREDENTIALS=True)
    created = create_key(signed_in)
    assert created.status_code == 201
    plaintext = new_key(created)
    assert APIClient().get(reverse("ainative_auth:me"), HTTP_X_API_KEY=plaintext).status_code \
        == 200

    api = APIClient()
    api.post(reverse("ainative_auth:forgot-password"), {"email": "alice@example.com"},
             format="json")
    reset = api.post(reverse("ainative_auth:reset-password"),
                     {"token": mail_token("reset"), "new_password": NEW_PASSWORD},
                     format="json")

    assert reset.status_code == 200
    refused = APIClient().get(reverse("ainative_auth:me"), HTTP_X_API_KEY=plaintext)
    assert refused.status_code == 401
    assert not APIKey.objects.live().exists()


def test_the_dashboard_lists_the_connected_accounts(
    signed_in: Client, api_tokens: dict[str, Any], verify: Any, github: Any
) -> None:
    verify()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_tokens['access_token']}")
    started = authorize(client, "github")
    got = sign_in_at(github, started.json()["authorization_url"], github_user(uid=4711))
    connected = client.post(reverse("ainative_auth:github-connect"),
                            {"redirect_uri": CALLBACK, **got}, format="json")
    assert connected.status_code == 201

    html = signed_in.get(reverse("ainative_auth_pages:dashboard")).content.decode()

    assert "Connected accounts" in html
    assert re.search(r'<th scope="row" class="cell-name">GitHub</th>\s*<td><code class="mono">'
                     r"4711</code>", html)


def test_the_dashboard_says_when_nothing_is_connected(signed_in: Client) -> None:
    html = signed_in.get(reverse("ainative_auth_pages:dashboard")).content.decode()

    assert "No connected accounts." in html
