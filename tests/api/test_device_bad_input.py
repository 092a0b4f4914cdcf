"""Bad input at the device grant's endpoints, the /device page, the trial-key endpoint and
the claim page: RFC 8628's and RFC 6749's errors (or our error body), never a 500, and
nothing issued."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as HTTPClient
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.models import APIKey, TrialKey
from ainative_auth.oauth_server.models import DeviceAuthorization
from tests.device import CLI, DEVICE_GRANT, form_post, poll, start
from tests.oauth import make_client, signed_in_browser
from tests.web.helpers import csrf_token

pytestmark = pytest.mark.django_db

DEVICE_ENDPOINT = "/oauth/device_authorization"


def oauth_error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response.json()["error"] == error


@pytest.mark.parametrize(("data", "status", "error"), [
    ({}, 401, "invalid_client"),
    ({"client_id": "nobody"}, 401, "invalid_client"),
    ({"client_id": "x" * 5000}, 401, "invalid_client"),
    ({"client_id": CLI + "\x00"}, 401, "invalid_client"),
    ({"client_id": "\x00"}, 401, "invalid_client"),
    ({"client_id": CLI, "scope": "no-such-scope"}, 400, "invalid_scope"),
    ({"client_id": CLI, "scope": "BAD SCOPE!"}, 400, "invalid_scope"),
    ({"client_id": CLI, "scope": "*"}, 400, "invalid_scope"),
    ({"client_id": CLI, "credential": "password"}, 400, "invalid_request"),
    ({"client_id": CLI, "credential": "api_key", "key_name": "x" * 101}, 400,
     "invalid_request"),
    ({"client_id": CLI, "credential": "api_key", "key_name": "   "}, 400, "invalid_request"),
    ({"client_id": CLI, "resource": "https://elsewhere.example/api"}, 400, "invalid_target"),
    ({"client_id": CLI, "resource": "not a url"}, 400, "invalid_target"),
    ({"client_id": [CLI, CLI]}, 400, "invalid_request"),
])
def test_a_bad_device_authorization_request_is_an_oauth_error(
        data: dict[str, Any], status: int, error: str) -> None:
    oauth_error(form_post(HTTPClient(), DEVICE_ENDPOINT, data), status, error)
    assert not DeviceAuthorization.objects.exists()


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"text"', '{"client_id": 5}',
                                  '{"client_id": "ainative-cli", "scope": ["mcp"]}',
                                  '{"client_id": "ainative-cli", "resource": 7}'])
def test_a_bad_json_body_is_an_oauth_error(body: str) -> None:
    response = HTTPClient().post(DEVICE_ENDPOINT, body, content_type="application/json")
    assert 400 <= response.status_code < 500 and "error" in response.json()
    assert not DeviceAuthorization.objects.exists()


def test_a_json_body_is_read_like_a_form() -> None:
    response = HTTPClient().post(DEVICE_ENDPOINT, json.dumps({"client_id": CLI}),
                                 content_type="application/json")
    assert response.status_code == 200 and response.json()["user_code"]


def test_a_client_without_the_device_grant_is_unauthorized_client() -> None:
    client, _ = make_client(name="Web app")
    oauth_error(form_post(HTTPClient(), DEVICE_ENDPOINT, {"client_id": client.id}), 400,
                "unauthorized_client")
    confidential, _ = make_client(name="Server", public=False, grant_types=[DEVICE_GRANT])
    oauth_error(form_post(HTTPClient(), DEVICE_ENDPOINT, {"client_id": confidential.id}), 400,
                "unauthorized_client")


def test_get_is_not_allowed() -> None:
    assert HTTPClient().get(DEVICE_ENDPOINT).status_code == 405


@pytest.mark.parametrize("extra", [{}, {"device_code": ""}, {"device_code": "x" * 5000}])
def test_a_bad_poll_is_an_oauth_error(extra: dict[str, str]) -> None:
    data = {"grant_type": DEVICE_GRANT, "client_id": CLI, **extra}
    response = form_post(HTTPClient(), reverse("ainative_oauth:token"), data)
    assert response.status_code == 400 and response.json()["error"] in ("invalid_request",
                                                                        "invalid_grant")


def test_a_poll_naming_no_client_is_invalid_client() -> None:
    response = form_post(HTTPClient(), reverse("ainative_oauth:token"),
                         {"grant_type": DEVICE_GRANT, "device_code": "x"})
    oauth_error(response, 401, "invalid_client")


def test_an_unknown_grant_type_is_still_unsupported() -> None:
    answer = start()
    response = form_post(HTTPClient(), reverse("ainative_oauth:token"), {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_cod", "client_id": CLI,
        "device_code": answer["device_code"]})
    oauth_error(response, 400, "unsupported_grant_type")


def test_a_device_code_used_as_another_grant_gets_nothing(make_user: Any, verify: Any) -> None:
    answer = start()
    response = form_post(HTTPClient(), reverse("ainative_oauth:token"), {
        "grant_type": "authorization_code", "client_id": CLI, "code": answer["device_code"]})
    assert response.status_code in (400, 401)
    oauth_error(poll(answer["device_code"]), 400, "authorization_pending")


@pytest.mark.parametrize("typed", ["", "x" * 5000, "BCDF-GHJK-LMNP", "<script>", "\x00"])
def test_anything_typed_on_the_page_is_a_400_not_a_500(make_user: Any, typed: str) -> None:
    make_user("alice@example.com")
    browser = signed_in_browser()
    page = browser.get(reverse("ainative_oauth:device"))
    response = browser.post(reverse("ainative_oauth:device"),
                            {"code": typed, "csrfmiddlewaretoken": csrf_token(page)})
    assert response.status_code == 400


def test_a_decision_without_a_session_or_csrf_is_refused(db: Any) -> None:
    response = HTTPClient().post(reverse("ainative_oauth:device"),
                                 {"request": "x", "decision": "approve"})
    assert response.status_code in (401, 403)
    enforcing = HTTPClient(enforce_csrf_checks=True)
    assert enforcing.post(reverse("ainative_oauth:device"), {"code": "BCDF-GHJK"}).status_code in (
        401, 403)


@pytest.mark.parametrize("body", [{"agree_terms": None}, {"agree_terms": [True]},
                                  {"agree_terms": True, "name": {"a": 1}},
                                  {"agree_terms": True, "source": None, "name": None}])
def test_the_trial_endpoint_never_fails_on_odd_bodies(body: dict[str, Any]) -> None:
    response = APIClient().post(reverse("ainative_auth:instant-db"), body, format="json")
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert not TrialKey.objects.exists() and not APIKey.objects.exists()


@pytest.mark.parametrize("token", ["x" * 500, "%00", "..", "a" * 43])
def test_odd_claim_links_are_404(make_user: Any, token: str) -> None:
    make_user("alice@example.com")
    browser = signed_in_browser()
    assert browser.get(f"/claim/{token}").status_code == 404
