"""Trial keys (``POST public/instant-db``): a working key with no account, and its claim
by a person who signs in later."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.models import APIKey, APIKeyOrigin, TrialKey
from tests.conftest import assert_error
from tests.web.helpers import browser_client, csrf_token, sign_in

pytestmark = pytest.mark.django_db

SITE = "http://localhost:8000"


def instant_db(body: Any = None, **extra: Any) -> Any:
    return APIClient().post(reverse("ainative_auth:instant-db"),
                            {"agree_terms": True} if body is None else body,
                            format="json", **extra)


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client


def claim_path(claim_url: str) -> str:
    assert claim_url.startswith(f"{SITE}/claim/")
    return claim_url[len(SITE):]


@pytest.fixture
def alice(make_user: Any, verify: Any) -> Any:
    return verify(make_user("alice@example.com"))


@pytest.fixture
def alice_browser(alice: Any) -> Any:
    browser = browser_client()
    assert sign_in(browser, "alice@example.com").status_code in (302, 303)
    return browser


def claim(browser: Any, claim_url: str) -> Any:
    page = browser.get(claim_path(claim_url))
    if page.status_code != 200:
        return page
    return browser.post(f"{claim_path(claim_url)}/accept",
                        {"csrfmiddlewaretoken": csrf_token(page)})


# --- issuance -------------------------------------------------------------------------------


def test_a_trial_key_works_at_once_with_the_trial_scopes(clock: Any) -> None:
    response = instant_db({"agree_terms": True, "name": "opencode-memory",
                           "source": "ainative-opencode-memory", "utm_source": "pypi"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"api_key", "claim_url", "project_id", "expires_at"}
    assert body["api_key"].startswith("ak_") and re.match(rf"^{SITE}/claim/[\w-]{{43}}$",
                                                           body["claim_url"])
    trial = TrialKey.objects.get(pk=body["project_id"])
    assert trial.source == "ainative-opencode-memory" and trial.name == "opencode-memory"
    key = trial.key
    assert key.origin == APIKeyOrigin.TRIAL and key.scopes == ["credits:read", "mcp"]
    assert key.expires_at == clock.datetime + timedelta(hours=72)
    assert body["expires_at"] == key.expires_at.isoformat().replace("+00:00", "Z")
    client = key_client(body["api_key"])
    assert client.get("/api/v1/users/me").status_code == 200
    assert client.get("/api/v1/public/credits/balance").status_code == 200
    # Nothing beyond its scopes.
    assert client.get("/api/v1/api-keys").status_code == 403
    # The claim link is stored only as a hash.
    assert body["claim_url"].rsplit("/", 1)[1] not in str(trial.__dict__)


def test_each_trial_has_its_own_holder_nobody_can_sign_in_to() -> None:
    first, second = instant_db().json(), instant_db().json()
    one = TrialKey.objects.get(pk=first["project_id"])
    two = TrialKey.objects.get(pk=second["project_id"])
    assert one.holder_id != two.holder_id
    holder = one.holder
    assert not holder.has_usable_password() and holder.email.endswith("@trial.invalid")
    me = key_client(first["api_key"]).get("/api/v1/users/me").json()
    assert me["email"] == holder.email


def test_a_trial_key_dies_after_its_lifetime(clock: Any) -> None:
    body = instant_db().json()
    clock.advance(72 * 3600 + 1)
    assert_error(key_client(body["api_key"]).get("/api/v1/users/me"), 401)


@pytest.mark.parametrize("body", [{}, {"agree_terms": False}, {"agree_terms": "true"},
                                  {"agree_terms": 1}, {"name": "x"}])
def test_no_trial_key_without_agreeing_to_the_terms(body: dict[str, Any]) -> None:
    assert_error(instant_db(body), 400, "terms_not_accepted")
    assert not APIKey.objects.exists() and not TrialKey.objects.exists()


@pytest.mark.parametrize("body", [[True], "agree", None])
def test_a_body_that_is_not_an_object_issues_nothing(body: Any) -> None:
    response = APIClient().post(reverse("ainative_auth:instant-db"), body, format="json")
    assert response.status_code == 400
    assert not APIKey.objects.exists()


@pytest.mark.parametrize("field", ["name", "source"])
def test_a_name_or_source_that_is_not_a_short_string_is_refused(field: str) -> None:
    for value in (12, "x" * 101, ["a"]):
        assert_error(instant_db({"agree_terms": True, field: value}), 400, "validation_error")
    assert not APIKey.objects.exists()


def test_trial_keys_are_off_unless_the_project_turns_them_on(auth_settings: Any) -> None:
    auth_settings(TRIAL_KEYS_ENABLED=False)
    assert_error(instant_db(), 404, "not_found")
    assert not APIKey.objects.exists()


def test_issuance_is_throttled_per_network(auth_settings: Any, clock: Any) -> None:
    auth_settings.rates(trial_key="2/hour")
    assert instant_db().status_code == 201
    assert instant_db().status_code == 201
    assert_error(instant_db(), 429)
    # Another network still gets one.
    assert instant_db(REMOTE_ADDR="203.0.113.9").status_code == 201
    assert TrialKey.objects.count() == 3


def test_issuance_has_a_global_cap(auth_settings: Any, clock: Any) -> None:
    auth_settings(TRIAL_KEY_GLOBAL_RATE="2/hour")
    for address in ("203.0.113.1", "203.0.113.2"):
        assert instant_db(REMOTE_ADDR=address).status_code == 201
    assert_error(instant_db(REMOTE_ADDR="203.0.113.3"), 429)
    clock.advance(3600)
    assert instant_db(REMOTE_ADDR="203.0.113.3").status_code == 201


# --- the claim ------------------------------------------------------------------------------


def test_claiming_moves_the_same_key_to_the_user(alice: Any, alice_browser: Any,
                                                 clock: Any) -> None:
    body = instant_db().json()
    trial = TrialKey.objects.get(pk=body["project_id"])
    page = alice_browser.get(claim_path(body["claim_url"]))
    assert page.status_code == 200 and ">Claim key<" in page.content.decode()
    # Opening the link changes nothing: only the button claims.
    assert APIKey.objects.get().user_id == trial.holder_id
    done = alice_browser.post(f"{claim_path(body['claim_url'])}/accept",
                              {"csrfmiddlewaretoken": csrf_token(page)})
    assert done.status_code == 200 and "Key claimed" in done.content.decode()
    key = APIKey.objects.get()
    assert key.pk == trial.key_id and key.user == alice
    assert key.expires_at is None and key.scopes == ["*"]
    trial.refresh_from_db()
    assert trial.claimed_by == alice and trial.claimed_at == clock.datetime
    assert not get_user_model().objects.get(pk=trial.holder_id).is_active
    # The program's key keeps working, as Alice now, with her default scopes.
    clock.advance(73 * 3600)
    me = key_client(body["api_key"]).get("/api/v1/users/me")
    assert me.status_code == 200 and me.json()["email"] == "alice@example.com"
    assert "Trial key" in alice_browser.get("/dashboard").content.decode()


def test_the_claimed_key_gets_the_users_default_never_more(alice_browser: Any,
                                                           auth_settings: Any) -> None:
    auth_settings(API_KEY_DEFAULT_SCOPES=["credits:read"])
    body = instant_db().json()
    assert claim(alice_browser, body["claim_url"]).status_code == 200
    assert APIKey.objects.get().scopes == ["credits:read"]


def test_a_claim_link_works_once(alice_browser: Any, make_user: Any, verify: Any) -> None:
    body = instant_db().json()
    assert claim(alice_browser, body["claim_url"]).status_code == 200
    # Again, by Alice: dead.
    assert claim(alice_browser, body["claim_url"]).status_code == 404
    # By a second user: refused, the key stays Alice's.
    verify(make_user("bob@example.com"))
    bob = browser_client()
    sign_in(bob, "bob@example.com")
    refused = claim(bob, body["claim_url"])
    assert refused.status_code == 404 and "cannot be claimed" in refused.content.decode()
    assert APIKey.objects.get().user.email == "alice@example.com"


def test_a_second_user_racing_with_an_open_page_is_refused(alice_browser: Any,
                                                          make_user: Any,
                                                          verify: Any) -> None:
    body = instant_db().json()
    verify(make_user("bob@example.com"))
    bob = browser_client()
    sign_in(bob, "bob@example.com")
    bob_page = bob.get(claim_path(body["claim_url"]))
    assert claim(alice_browser, body["claim_url"]).status_code == 200
    late = bob.post(f"{claim_path(body['claim_url'])}/accept",
                    {"csrfmiddlewaretoken": csrf_token(bob_page)})
    assert late.status_code == 404
    assert APIKey.objects.get().user.email == "alice@example.com"


def test_an_expired_or_unknown_claim_link_is_refused(alice_browser: Any, clock: Any) -> None:
    body = instant_db().json()
    clock.advance(72 * 3600 + 1)
    assert claim(alice_browser, body["claim_url"]).status_code == 404
    assert alice_browser.get("/claim/not-a-token").status_code == 404
    assert APIKey.objects.get().user.email.endswith("@trial.invalid")


def test_a_revoked_trial_key_cannot_be_claimed(alice_browser: Any) -> None:
    from ainative_auth.services import api_keys

    body = instant_db().json()
    api_keys.revoke_key(APIKey.objects.get())
    assert claim(alice_browser, body["claim_url"]).status_code == 404


def test_the_claim_page_asks_a_browser_to_sign_in_first(db: Any) -> None:
    body = instant_db().json()
    answer = browser_client().get(claim_path(body["claim_url"]))
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login?next=%2Fclaim%2F")


def test_an_unverified_user_cannot_claim(make_user: Any) -> None:
    make_user("carol@example.com")
    browser = browser_client()
    sign_in(browser, "carol@example.com")
    body = instant_db().json()
    refused = claim(browser, body["claim_url"])
    assert refused.status_code == 403
    key = APIKey.objects.get()
    assert key.user.email.endswith("@trial.invalid") and key.expires_at is not None
    assert TrialKey.objects.get().claimed_at is None


def test_two_claims_that_read_the_link_at_once_move_the_key_once(
        alice: Any, make_user: Any, verify: Any, monkeypatch: Any) -> None:
    from ainative_auth.exceptions import ClaimLinkInvalid
    from ainative_auth.services import trial_keys

    bob = verify(make_user("bob@example.com"))
    body = instant_db().json()
    token = body["claim_url"].rsplit("/", 1)[1]
    # Both claims found the link unclaimed before either wrote (a race, played in order):
    # each with its own copy of the rows, as two processes would have.
    stale = [trial_keys.find_claim(token), trial_keys.find_claim(token)]
    monkeypatch.setattr(trial_keys, "find_claim", lambda _: stale.pop(0))
    trial_keys.claim_trial_key(alice, None, token)
    with pytest.raises(ClaimLinkInvalid):
        trial_keys.claim_trial_key(bob, None, token)
    trial = TrialKey.objects.get()
    assert trial.claimed_by == alice and trial.key.user == alice


def test_claiming_asks_the_cores_step_up_check_when_there_is_one(
        alice_browser: Any, monkeypatch: Any) -> None:
    from ainative_auth.exceptions import StepUpRequired
    from ainative_auth.services import api_keys

    def require_recent_factor(user: Any, session: Any) -> None:
        raise StepUpRequired("A second factor is needed.")

    # The name the core's require_step_up calls (tests/flows/test_mfa_step_up.py runs the
    # real one with a TOTP).
    monkeypatch.setattr(api_keys, "require_recent_factor", require_recent_factor)
    body = instant_db().json()
    assert claim(alice_browser, body["claim_url"]).status_code == 403
    assert TrialKey.objects.get().claimed_at is None
    assert APIKey.objects.get().user.email.endswith("@trial.invalid")
