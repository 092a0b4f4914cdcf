"""Fixtures of the page and middleware tests (alice, her sessions)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.web.helpers import browser_client, sign_in


@pytest.fixture
def alice(make_user: Any) -> Any:
    """alice@example.com (the user of conftest's ``api_key`` too, whichever comes first)."""
    from ainative_auth.users import find_user_by_email

    return find_user_by_email("alice@example.com") or make_user(name="Alice")


@pytest.fixture
def api_tokens(alice: Any, login: Any) -> dict[str, Any]:
    """alice's token response from ``auth/login`` (another session than the browser's)."""
    response = login()
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def signed_in(alice: Any) -> Client:
    """A browser signed in through the login page as alice."""
    client = browser_client()
    response = sign_in(client)
    assert response.status_code == 303, response.content
    return client
