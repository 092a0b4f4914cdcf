"""Helpers of the device-grant tests: a device that asks and polls, a person who types the
code on ``/device`` and decides."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.test import Client as HTTPClient
from django.urls import reverse

from tests.web.helpers import csrf_token

FORM = "application/x-www-form-urlencoded"
CLI = "ainative-cli"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def form_post(client: Any, url: str, data: dict[str, Any], **extra: Any) -> Any:
    return client.post(url, urlencode(data, doseq=True), content_type=FORM, **extra)


def ask(client_id: str = CLI, **params: str) -> Any:
    """POST the device authorization endpoint; returns the response."""
    return form_post(HTTPClient(), reverse("ainative_oauth:device-authorization"),
                     {"client_id": client_id, **params})


def start(client_id: str = CLI, **params: str) -> dict[str, Any]:
    response = ask(client_id, **params)
    assert response.status_code == 200, response.content
    return dict(response.json())


def poll(device_code: str, client_id: str = CLI, **extra: str) -> Any:
    return form_post(HTTPClient(), reverse("ainative_oauth:token"), {
        "grant_type": DEVICE_GRANT, "client_id": client_id, "device_code": device_code,
        **extra})


def enter_code(browser: Any, user_code: str) -> Any:
    """Open ``/device`` and "Continue" with ``user_code``; returns the answer."""
    page = browser.get(reverse("ainative_oauth:device"))
    assert page.status_code == 200, page.content[:300]
    return browser.post(reverse("ainative_oauth:device"),
                        {"code": user_code, "csrfmiddlewaretoken": csrf_token(page)})


def decision_form(page: Any) -> str:
    found = re.search(r'name="request" value="([^"]+)"', page.content.decode())
    assert found, "no approval form on the page"
    return found.group(1)


def decide(browser: Any, page: Any, decision: str = "approve") -> Any:
    """Click "Approve" (or "Deny") on the confirmation ``page``."""
    return browser.post(reverse("ainative_oauth:device"), {
        "request": decision_form(page), "decision": decision,
        "csrfmiddlewaretoken": csrf_token(page)})


def approve(browser: Any, user_code: str, decision: str = "approve") -> Any:
    page = enter_code(browser, user_code)
    assert page.status_code == 200, page.content[:500]
    return decide(browser, page, decision)
