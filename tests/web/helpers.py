"""Shared by the page and middleware tests: a browser-like test client and its sign-in."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from tests.conftest import PASSWORD

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CHROME_ON_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/126.0 Safari/537.36")
FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def browser_client(**kwargs: Any) -> Client:
    """A test client that asks for HTML, as a browser does."""
    return Client(HTTP_ACCEPT=HTML, HTTP_USER_AGENT=CHROME_ON_LINUX, **kwargs)


def sign_in(client: Client, email: str = "alice@example.com", password: str = PASSWORD,
            **data: Any) -> Any:
    """POST the login page (fetching its CSRF token first, so CSRF-enforcing clients work)."""
    page = client.get("/login")
    return client.post("/login", {"email": email, "password": password,
                                  "csrfmiddlewaretoken": csrf_token(page), **data})


def csrf_token(response: Any) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert found, "no CSRF token in the page"
    return found.group(1)


def browser_session_id(client: Client) -> str:
    from ainative_auth.credentials.browser_session import SESSION_ID_KEY

    return str(client.session[SESSION_ID_KEY])
