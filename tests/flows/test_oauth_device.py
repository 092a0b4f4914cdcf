"""The device authorization grant (RFC 8628): a device asks, a person types the code on
``/device`` and approves or denies, the device polls; with ``credential=api_key`` it ends
in a new API key of the approving user, otherwise in a token pair."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.models import APIKey, APIKeyOrigin
from ainative_auth.oauth_server import device as device_grant
from ainative_auth.oauth_server.authentication import authenticate_oauth_token
from ainative_auth.oauth_server.models import DeviceAuthorization, Grant
from tests.device import CLI, DEVICE_GRANT, approve, decide, enter_code, poll, start
from tests.oauth import API, SITE, make_client, signed_in_browser

pytestmark = pytest.mark.django_db

USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


@pytest.fixture
def alice(make_user: Any, verify: Any) -> Any:
    return verify(make_user("alice@example.com"))


@pytest.fixture
def browser(alice: Any) -> Any:
    return signed_in_browser("alice@example.com")


def oauth_error(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["error"] == error, body
    assert response["Cache-Control"] == "no-store"
    return dict(body)


# --- discovery and the built-in client ---------------------------------------------------


def test_the_metadata_names_the_device_endpoint_and_grant(api: APIClient) -> None:
    data = api.get("/.well-known/oauth-authorization-server").json()
    assert data["device_authorization_endpoint"] == f"{SITE}/oauth/device_authorization"
    assert DEVICE_GRANT in data["grant_types_supported"]


def test_the_cli_client_exists_out_of_the_box() -> None:
    from allauth.idp.oidc.models import Client

    cli = Client.objects.get(pk=CLI)
    assert cli.type == Client.Type.PUBLIC and DEVICE_GRANT in cli.get_grant_types()


def test_the_device_gets_codes_from_an_unambiguous_alphabet(clock: Any) -> None:
    answer = start(scope="mcp")
    assert USER_CODE.match(answer["user_code"])
    assert len(answer["device_code"]) >= 43
    assert answer["verification_uri"] == f"{SITE}/device"
    assert answer["verification_uri_complete"] == f"{SITE}/device?code={answer['user_code']}"
    assert answer["expires_in"] == 600 and answer["interval"] == 5
    row = DeviceAuthorization.objects.get()
    # Neither code is stored as it is.
    assert answer["user_code"] not in str(row.__dict__)
    assert answer["device_code"] not in str(row.__dict__)


def test_user_codes_use_the_whole_alphabet_and_repeat_rarely() -> None:
    codes = [device_grant.new_user_code() for _ in range(2000)]
    letters = {ch for code in codes for ch in code.replace("-", "")}
    assert letters == set(device_grant.USER_CODE_ALPHABET)
    assert len(set(codes)) == len(codes)
    assert len(device_grant.USER_CODE_ALPHABET) ** device_grant.USER_CODE_LENGTH > 2**34


def test_a_typed_code_is_read_without_case_dashes_or_spaces() -> None:
    assert device_grant.normalize_user_code(" bcdf ghjk ") == "BCDFGHJK"
    assert device_grant.normalize_user_code("BCDF-GHJ") is None
    assert device_grant.normalize_user_code("ABCD-EFGH") is None  # vowels are never used


# --- ending in an API key ----------------------------------------------------------------


def test_an_approved_device_gets_a_new_key_of_the_approver(alice: Any, browser: Any,
                                                           clock: Any) -> None:
    answer = start(scope="mcp credits:read", credential="api_key", key_name="laptop cli")
    page = enter_code(browser, answer["user_code"].lower())
    html = page.content.decode()
    assert page.status_code == 200
    for text in ("AINative CLI", "127.0.0.1", "laptop cli", "someone sent you",
                 "Read your credit balance", ">Approve<", ">Deny<"):
        assert text in html, text
    done = decide(browser, page)
    assert done.status_code == 200 and "Device approved" in done.content.decode()

    # The key exists at once, on the approver's account, but nobody holds it yet.
    key = APIKey.objects.get(user=alice)
    assert key.origin == APIKeyOrigin.DEVICE and key.name == "laptop cli"
    assert key.scopes == ["mcp", "credits:read"]

    clock.advance(5)
    response = poll(answer["device_code"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["access_token"].startswith("ak_")
    assert body["key_id"] == key.public_id and body["signing_secret"].startswith("aks_")
    assert body["scope"] == "mcp credits:read"
    assert body["expires_in"] == 90 * 24 * 3600
    key.refresh_from_db()
    assert key.expires_at == clock.datetime + timedelta(days=90)

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=body["access_token"])
    me = client.get("/api/v1/users/me")
    assert me.status_code == 200 and me.json()["email"] == "alice@example.com"
    assert client.get("/api/v1/public/credits/balance").status_code == 200

    # A code collected once is dead.
    clock.advance(5)
    oauth_error(poll(answer["device_code"]), 400, "invalid_grant")


def test_the_key_lifetime_is_a_setting(alice: Any, browser: Any, clock: Any,
                                       auth_settings: Any) -> None:
    auth_settings(DEVICE_KEY_LIFETIME=3600)
    answer = start(credential="api_key")
    approve(browser, answer["user_code"])
    assert poll(answer["device_code"]).json()["expires_in"] == 3600


def test_the_key_shows_on_the_dashboard_and_in_its_json(alice: Any, browser: Any,
                                                        login: Any) -> None:
    answer = start(credential="api_key", key_name="ci box")
    approve(browser, answer["user_code"])
    poll(answer["device_code"])
    html = browser.get("/dashboard").content.decode()
    assert "ci box" in html and "Device login" in html
    listed = APIClient()
    listed.credentials(HTTP_AUTHORIZATION=f"Bearer {login().json()['access_token']}")
    assert listed.get("/api/v1/api-keys").json()[0]["origin"] == "device"


def test_a_key_revoked_before_the_device_collects_it_is_never_handed_out(
        alice: Any, browser: Any) -> None:
    from ainative_auth.services import api_keys

    answer = start(credential="api_key")
    approve(browser, answer["user_code"])
    api_keys.revoke_key(APIKey.objects.get(user=alice))
    oauth_error(poll(answer["device_code"]), 400, "access_denied")


def test_an_uncollected_key_dies_with_its_device_code(alice: Any, browser: Any,
                                                      clock: Any) -> None:
    answer = start(credential="api_key")
    approve(browser, answer["user_code"])
    clock.advance(601)
    assert not APIKey.objects.live().filter(user=alice).exists()
    oauth_error(poll(answer["device_code"]), 400, "expired_token")


def test_an_unverified_user_cannot_approve_a_key(make_user: Any) -> None:
    make_user("bob@example.com")
    browser = signed_in_browser("bob@example.com")
    answer = start(credential="api_key")
    refused = approve(browser, answer["user_code"])
    assert refused.status_code == 403
    assert not APIKey.objects.exists()
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.Status.PENDING


def test_the_cli_scopes_are_a_setting(auth_settings: Any, alice: Any, browser: Any) -> None:
    oauth_error(device_ask(scope="keys:write", credential="api_key"), 400, "invalid_scope")
    auth_settings(OAUTH_SERVER_CLI_SCOPES=["*", "keys:write"])
    answer = start(scope="*", credential="api_key")
    approve(browser, answer["user_code"])
    assert poll(answer["device_code"]).json()["scope"] == "*"


def device_ask(**params: str) -> Any:
    from tests.device import ask

    return ask(CLI, **params)


# --- ending in a token pair --------------------------------------------------------------


def test_without_credential_the_device_gets_a_token_pair(alice: Any, browser: Any) -> None:
    answer = start(scope="profile", resource=API)
    approve(browser, answer["user_code"])
    response = poll(answer["device_code"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    user, token = authenticate_oauth_token(body["access_token"], "/api/v1")
    assert user == alice and token.client_id == CLI and token.has_scope("profile")
    # The grant is listed under "Connected apps", and no key was made.
    assert Grant.objects.live().filter(user=alice, client_id=CLI).exists()
    assert not APIKey.objects.exists()
    # The refresh token works like any other.
    refreshed = APIClient().post(reverse("ainative_oauth:token"), {
        "grant_type": "refresh_token", "client_id": CLI,
        "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.content


# --- polling ------------------------------------------------------------------------------


def test_polling_while_pending_and_slow_down_keeps_the_longer_interval(clock: Any) -> None:
    answer = start()
    oauth_error(poll(answer["device_code"]), 400, "authorization_pending")
    clock.advance(1)
    oauth_error(poll(answer["device_code"]), 400, "slow_down")
    assert DeviceAuthorization.objects.get().interval == 10
    # The old interval is not enough any more.
    clock.advance(6)
    oauth_error(poll(answer["device_code"]), 400, "slow_down")
    assert DeviceAuthorization.objects.get().interval == 15
    clock.advance(15)
    oauth_error(poll(answer["device_code"]), 400, "authorization_pending")
    clock.advance(15)
    oauth_error(poll(answer["device_code"]), 400, "authorization_pending")


def test_polls_of_a_device_are_not_failures_of_the_token_endpoint(
        auth_settings: Any, clock: Any) -> None:
    auth_settings.rates(oauth="3/minute")
    answer = start()
    for _ in range(5):
        oauth_error(poll(answer["device_code"]), 400, "authorization_pending")
        clock.advance(5)


def test_a_denied_device_gets_access_denied_and_nothing(alice: Any, browser: Any) -> None:
    answer = start(credential="api_key")
    done = approve(browser, answer["user_code"], decision="deny")
    assert "Device denied" in done.content.decode()
    oauth_error(poll(answer["device_code"]), 400, "access_denied")
    assert not APIKey.objects.exists()


def test_an_expired_code_is_expired_token(clock: Any, browser: Any) -> None:
    answer = start()
    clock.advance(601)
    oauth_error(poll(answer["device_code"]), 400, "expired_token")
    refused = enter_code(browser, answer["user_code"])
    assert refused.status_code == 400 and "not valid" in refused.content.decode()


def test_an_unknown_or_another_clients_device_code_is_invalid_grant(db: Any) -> None:
    answer = start()
    other, _ = make_client(name="Other", grant_types=[DEVICE_GRANT])
    oauth_error(poll("not-a-code"), 400, "invalid_grant")
    oauth_error(poll(answer["device_code"], client_id=other.id), 400, "invalid_grant")
    oauth_error(poll(answer["device_code"], client_id="nobody"), 401, "invalid_client")


# --- who approves ----------------------------------------------------------------------


def test_a_code_is_decided_once(alice: Any, browser: Any, make_user: Any,
                                verify: Any) -> None:
    verify(make_user("bob@example.com"))
    bob = signed_in_browser("bob@example.com")
    answer = start(credential="api_key")
    alice_page = enter_code(browser, answer["user_code"])
    bob_page = enter_code(bob, answer["user_code"])
    assert decide(bob, bob_page).status_code == 200
    # Alice's form is now stale: the code was decided.
    assert decide(browser, alice_page).status_code == 400
    assert APIKey.objects.get().user.email == "bob@example.com"


def test_an_approval_form_works_only_for_the_person_it_was_made_for(
        alice: Any, browser: Any, make_user: Any, verify: Any) -> None:
    verify(make_user("mallory@example.com"))
    mallory = signed_in_browser("mallory@example.com")
    answer = start(credential="api_key")
    alice_page = enter_code(browser, answer["user_code"])
    # Mallory posts Alice's form with her own session: refused, nothing is decided.
    mallory_page = mallory.get(reverse("ainative_oauth:device"))
    from tests.device import decision_form
    from tests.web.helpers import csrf_token

    refused = mallory.post(reverse("ainative_oauth:device"), {
        "request": decision_form(alice_page), "decision": "approve",
        "csrfmiddlewaretoken": csrf_token(mallory_page)})
    assert refused.status_code == 400
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.Status.PENDING
    assert not APIKey.objects.exists()


def test_a_tampered_approval_form_is_refused(alice: Any, browser: Any) -> None:
    answer = start(credential="api_key")
    page = enter_code(browser, answer["user_code"])
    from tests.web.helpers import csrf_token

    refused = browser.post(reverse("ainative_oauth:device"), {
        "request": "x" + page.content.decode()[:10], "decision": "approve",
        "csrfmiddlewaretoken": csrf_token(page)})
    assert refused.status_code == 400
    assert not APIKey.objects.exists()


def test_the_page_sends_a_browser_without_a_session_to_sign_in(db: Any) -> None:
    from tests.web.helpers import browser_client

    answer = browser_client().get(f"{reverse('ainative_oauth:device')}?code=BCDF-GHJK")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login?next=")
    assert "code%3DBCDF-GHJK" in answer["Location"]


def test_a_wrong_code_is_refused_and_typing_codes_is_throttled(
        auth_settings: Any, browser: Any) -> None:
    auth_settings.rates(device="3/minute")
    for typed in ("BCDF-GHJK", "nonsense", "BCDF-GHJL"):
        refused = enter_code(browser, typed)
        assert refused.status_code == 400 and "not valid" in refused.content.decode()
    answer = start()
    throttled = enter_code(browser, answer["user_code"])
    assert throttled.status_code == 429


# --- revocation ---------------------------------------------------------------------------


def test_the_device_revokes_its_key_through_rfc_7009(alice: Any, browser: Any) -> None:
    answer = start(credential="api_key")
    approve(browser, answer["user_code"])
    key = poll(answer["device_code"]).json()["access_token"]
    other = APIClient()
    # Another client id, or a wrong secret, changes nothing (and says nothing).
    # (A NUL in the client id is no client, not a query PostgreSQL refuses with a 500.)
    wrong = key[:-1] + ("y" if key.endswith("x") else "x")  # never the key itself
    for client_id, token in (("someone-else", key), (CLI, wrong), (CLI + "\x00", key)):
        assert other.post(reverse("ainative_oauth:revoke"),
                          {"token": token, "client_id": client_id}).status_code == 200
        assert APIKey.objects.live().filter(user=alice).exists()
    assert other.post(reverse("ainative_oauth:revoke"),
                      {"token": key, "client_id": CLI}).status_code == 200
    assert not APIKey.objects.live().filter(user=alice).exists()


# --- a client no one here wrote --------------------------------------------------------


def test_oauthlibs_device_client_runs_the_flow(alice: Any, browser: Any) -> None:
    from oauthlib.oauth2 import DeviceClient

    client = DeviceClient(CLI)
    answer = start(credential="api_key")
    approve(browser, answer["user_code"])
    body = client.prepare_request_body(answer["device_code"], include_client_id=True)
    response = APIClient().post(reverse("ainative_oauth:token"), body,
                                content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    parsed = client.parse_request_body_response(response.content.decode())
    assert parsed["access_token"].startswith("ak_")


def test_a_collected_code_is_dead_at_once_not_merely_slowed(alice: Any, browser: Any) -> None:
    answer = start(credential="api_key")
    approve(browser, answer["user_code"])
    assert poll(answer["device_code"]).status_code == 200
    # Polled again straight away: the code is gone, whatever the pace.
    oauth_error(poll(answer["device_code"]), 400, "invalid_grant")


def test_two_polls_that_read_the_approved_row_at_once_collect_it_once(
        alice: Any, browser: Any, clock: Any) -> None:
    answer = start(credential="api_key")
    approve(browser, answer["user_code"])
    # Both polls loaded the row while it was still "approved" (a race, played in order).
    stale = DeviceAuthorization.objects.select_related("user", "api_key").get()
    first = device_grant._collect(stale, clock.datetime)
    assert first.issued is not None
    with pytest.raises(device_grant.DeviceGrantError) as refused:
        device_grant._collect(stale, clock.datetime)
    assert refused.value.error == "invalid_grant"


@pytest.mark.parametrize("credential", ["api_key", "token"])
def test_approving_asks_the_cores_step_up_check_when_there_is_one(
        alice: Any, browser: Any, monkeypatch: Any, credential: str) -> None:
    from ainative_auth.exceptions import StepUpRequired
    from ainative_auth.services import api_keys

    asked: list[Any] = []

    def require_recent_factor(user: Any, session: Any) -> None:
        asked.append((user, session))
        raise StepUpRequired("A second factor is needed.")

    # The name the core's require_step_up calls (tests/flows/test_mfa_step_up.py runs the
    # real one with a TOTP).
    monkeypatch.setattr(api_keys, "require_recent_factor", require_recent_factor)
    answer = start(credential=credential)
    refused = approve(browser, answer["user_code"])
    assert refused.status_code == 403 and asked and asked[0][0] == alice
    assert not APIKey.objects.exists() and not Grant.objects.exists()
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.Status.PENDING
    # Denying needs no second factor.
    assert approve(browser, answer["user_code"], decision="deny").status_code == 200


def test_the_admin_shows_a_keys_origin(alice: Any, browser: Any, admin_client: Any) -> None:
    answer = start(credential="api_key", key_name="admin sees me")
    approve(browser, answer["user_code"])
    key = APIKey.objects.get(user=alice)
    listing = admin_client.get("/admin/ainative_auth/apikey/?origin__exact=device")
    assert listing.status_code == 200 and "admin sees me" in listing.content.decode()
    assert "Device login" in listing.content.decode()
    detail = admin_client.get(f"/admin/ainative_auth/apikey/{key.pk}/change/")
    assert "Device login" in detail.content.decode()
