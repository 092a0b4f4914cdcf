"""Passkeys (WebAuthn Level 3) over the JSON API, with a software authenticator: register,
list, rename, delete, sign in; the relying party from ``SITE_URL``; user verification,
single-use challenges, counters; garbage is a 400, never a 500."""

from __future__ import annotations

import copy
from typing import Any

import jwt
import pytest

from ainative_auth.mfa.models import Passkey, RecoveryCode
from ainative_auth.models import RefreshSession
from tests.conftest import assert_error, bearer, url
from tests.mfa_helpers import ORIGIN, SoftAuthenticator, b64url, code_now, enable_totp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(auth_settings: Any) -> None:
    auth_settings(SITE_URL=ORIGIN)


@pytest.fixture
def alice(make_user: Any, verify: Any) -> Any:
    user = make_user()
    verify(user)
    return user


@pytest.fixture
def client(alice: Any, login: Any) -> Any:
    return bearer(login().json()["access_token"])


def _register(client: Any, authenticator: SoftAuthenticator, name: str = "Laptop") -> Any:
    options = client.post(url("passkey-register-options"), format="json")
    assert options.status_code == 200, options.content
    credential = authenticator.create(options.json())
    return client.post(url("passkey-register"), {"credential": credential, "name": name},
                       format="json")


def _login_options(api: Any) -> dict[str, Any]:
    response = api.post(url("passkey-login-options"), format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_registration_options_name_the_relying_party_and_require_user_verification(
    client: Any
) -> None:
    options = client.post(url("passkey-register-options"), format="json").json()
    assert options["rp"]["id"] == "localhost"
    assert options["user"]["name"] == "alice@example.com"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["attestation"] == "none"
    assert len(options["challenge"]) >= 43


def test_register_list_rename_and_sign_in(client: Any, api: Any, alice: Any) -> None:
    authenticator = SoftAuthenticator(backup_eligible=True)
    response = _register(client, authenticator)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Laptop" and body["transports"] == ["internal"]
    assert body["backup_eligible"] is True and body["backed_up"] is True
    assert len(body["backupCodes"]) == 10  # the first factor: recovery codes, once
    stored = Passkey.objects.get(user=alice)
    assert stored.credential_id == next(iter(authenticator.credentials))
    assert stored.sign_count == 0 and bytes(stored.public_key)

    listed = client.get(url("passkeys")).json()
    assert [p["name"] for p in listed] == ["Laptop"]
    renamed = client.patch(url("passkey-detail", body["id"]), {"name": "Work laptop"},
                           format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Work laptop"

    assertion = authenticator.get(_login_options(api))
    signed_in = api.post(url("passkey-login"), {"credential": assertion}, format="json")
    assert signed_in.status_code == 200, signed_in.content
    claims = jwt.decode(signed_in.json()["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["hwk", "mfa"]
    session = RefreshSession.objects.get(pk=claims["sid"])
    assert session.method == "passkey" and session.factor_verified_at is not None
    stored.refresh_from_db()
    assert stored.sign_count == 1 and stored.last_used_at is not None


def test_a_second_passkey_needs_a_fresh_factor_and_gives_no_new_codes(
    client: Any, api: Any
) -> None:
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    # MFA is on now: a fresh factor is needed, and the first registration proved none.
    assert_error(client.post(url("passkey-register-options"), format="json"), 403,
                 "step_up_required")
    signed_in = api.post(url("passkey-login"),
                         {"credential": authenticator.get(_login_options(api))}, format="json")
    second = _register(bearer(signed_in.json()["access_token"]), SoftAuthenticator(), "Phone")
    assert second.status_code == 201 and "backupCodes" not in second.json()


def test_a_passkey_sign_in_is_not_stopped_by_the_gate(clock: Any, alice: Any, api: Any,
                                                      client: Any, login: Any) -> None:
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    enable_totp(alice)
    assert_error(login(), 403, "mfa_required")
    response = api.post(url("passkey-login"),
                        {"credential": authenticator.get(_login_options(api))}, format="json")
    assert response.status_code == 200, response.content


def test_a_passkey_is_the_second_factor_after_a_password(
    alice: Any, api: Any, client: Any, login: Any
) -> None:
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    body = assert_error(login(), 403, "mfa_required")
    assert body["methods"] == ["recovery_code", "webauthn"]
    response = api.post(url("mfa-challenge"), {
        "mfa_token": body["mfa_token"], "credential": authenticator.get(_login_options(api))},
        format="json")
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "hwk", "mfa"]


def test_another_users_passkey_is_no_second_factor(
    alice: Any, api: Any, client: Any, make_user: Any, verify: Any, login: Any
) -> None:
    mallory_key = SoftAuthenticator()
    verify(make_user(email="mallory@example.com"))
    mallory = bearer(login("mallory@example.com").json()["access_token"])
    assert _register(mallory, mallory_key).status_code == 201
    assert _register(client, SoftAuthenticator()).status_code == 201
    token = login().json()["mfa_token"]
    assert_error(api.post(url("mfa-challenge"), {
        "mfa_token": token, "credential": mallory_key.get(_login_options(api))},
        format="json"), 400, "passkey_invalid")


def test_user_verification_is_required(client: Any, api: Any) -> None:
    assert_error(_register(client, SoftAuthenticator(user_verified=False)), 400,
                 "passkey_invalid")
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    authenticator.user_verified = False
    assert_error(api.post(url("passkey-login"),
                          {"credential": authenticator.get(_login_options(api))},
                          format="json"), 400, "passkey_invalid")


@pytest.mark.parametrize("where", [{"origin": "http://localhost:8001"},
                                   {"origin": "https://evil.example"},
                                   {"rp_id": "evil.example"}])
def test_a_wrong_origin_or_rp_id_is_refused(client: Any, api: Any,
                                            where: dict[str, str]) -> None:
    options = client.post(url("passkey-register-options"), format="json").json()
    response = client.post(url("passkey-register"), {
        "credential": SoftAuthenticator().create(options, **where), "name": "x"},
        format="json")
    assert_error(response, 400, "passkey_invalid")
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    assert_error(api.post(url("passkey-login"), {
        "credential": authenticator.get(_login_options(api), **where)}, format="json"),
        400, "passkey_invalid")


def test_a_challenge_works_once_and_for_its_purpose(client: Any, api: Any) -> None:
    spare_options = client.post(url("passkey-register-options"), format="json").json()
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    # A counter that stays 0 (as synced passkeys report): only the challenge stops a replay.
    assertion = authenticator.get(_login_options(api), count_step=0)
    assert api.post(url("passkey-login"), {"credential": assertion},
                    format="json").status_code == 200
    replay = copy.deepcopy(assertion)
    assert_error(api.post(url("passkey-login"), {"credential": replay}, format="json"), 400,
                 "passkey_invalid")
    # A registration challenge is no sign-in challenge.
    assert_error(api.post(url("passkey-login"),
                          {"credential": authenticator.get(spare_options)},
                          format="json"), 400, "passkey_invalid")


def test_an_expired_challenge_is_refused(clock: Any, client: Any, api: Any) -> None:
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    options = _login_options(api)
    clock.advance(301)
    assert_error(api.post(url("passkey-login"), {"credential": authenticator.get(options)},
                          format="json"), 400, "passkey_invalid")


def test_a_sign_counter_that_goes_back_is_refused(client: Any, api: Any) -> None:
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    for _ in range(2):
        assert api.post(url("passkey-login"),
                        {"credential": authenticator.get(_login_options(api))},
                        format="json").status_code == 200
    cloned = authenticator.get(_login_options(api), count_step=-2)  # a clone's counter
    assert_error(api.post(url("passkey-login"), {"credential": cloned}, format="json"), 400,
                 "passkey_invalid")


def _garbage(valid: dict[str, Any], *, assertion: bool = True) -> list[Any]:
    broken = []
    for path, value in [
        (("response", "clientDataJSON"), "!!!"),
        (("response", "clientDataJSON"), b64url(b"not json")),
        (("response", "clientDataJSON"), b64url(b'{"challenge": 5}')),
        *([(("response", "authenticatorData"), "AAAA"),
           (("response", "signature"), b64url(b"\x30\x02\x00\x00")),
           (("response", "userHandle"), b64url(b"someone else"))] if assertion else []),
        (("id",), "A" * 5000),
        (("rawId",), 12),
        (("type",), "password"),
        (("response",), "x"),
    ]:
        item = copy.deepcopy(valid)
        target = item
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        broken.append(item)
    return broken + [{}, {"id": "x", "response": {}}, "not an object", [1, 2]]


def test_assertion_garbage_is_400_never_500_and_changes_nothing(client: Any, api: Any) -> None:
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    before = list(Passkey.objects.values_list("sign_count", "last_used_at"))
    for item in _garbage(authenticator.get(_login_options(api))):
        response = api.post(url("passkey-login"), {"credential": item}, format="json")
        assert_error(response, 400, codes=("passkey_invalid", "validation_error"))
    assert list(Passkey.objects.values_list("sign_count", "last_used_at")) == before
    assert RefreshSession.objects.filter(method="passkey").count() == 0


def test_attestation_garbage_is_400_never_500_and_stores_nothing(client: Any) -> None:
    options = client.post(url("passkey-register-options"), format="json").json()
    valid = SoftAuthenticator().create(options)
    items = _garbage(valid, assertion=False) + [
        {**valid, "response": {**valid["response"], "attestationObject": "AAAA"}},
        {**valid, "response": {**valid["response"], "attestationObject": b64url(b"\xff" * 40)}},
    ]
    for item in items:
        response = client.post(url("passkey-register"), {"credential": item, "name": "x"},
                               format="json")
        assert_error(response, 400, codes=("passkey_invalid", "validation_error"))
    assert not Passkey.objects.exists()


def test_deleting_a_passkey_needs_a_fresh_factor_and_drops_codes_with_the_last(
    clock: Any, alice: Any, api: Any, client: Any, login: Any
) -> None:
    clock.advance(1)
    authenticator = SoftAuthenticator()
    passkey_id = _register(client, authenticator).json()["id"]
    assert_error(client.delete(url("passkey-detail", passkey_id)), 403, "step_up_required")
    signed_in = api.post(url("passkey-login"),
                         {"credential": authenticator.get(_login_options(api))}, format="json")
    fresh = bearer(signed_in.json()["access_token"])
    assert_error(fresh.delete(url("passkey-detail", "9999")), 404, "not_found")
    assert fresh.delete(url("passkey-detail", passkey_id)).status_code == 204
    assert not Passkey.objects.exists() and not RecoveryCode.objects.exists()
    assert login().status_code == 200


def test_without_site_url_passkeys_are_not_configured(auth_settings: Any, client: Any,
                                                      api: Any) -> None:
    for site in (None, "http://127.0.0.1:8000", "http://example.com", "ftp://localhost"):
        auth_settings(SITE_URL=site)
        assert_error(client.post(url("passkey-register-options"), format="json"), 404,
                     "passkeys_not_configured")
        assert_error(api.post(url("passkey-login-options"), format="json"), 404,
                     "passkeys_not_configured")


def test_totp_code_and_passkey_both_step_up(clock: Any, alice: Any, api: Any, client: Any,
                                            login: Any) -> None:
    authenticator = SoftAuthenticator()
    assert _register(client, authenticator).status_code == 201
    secret, _ = enable_totp(alice)
    clock.advance(61)
    token = login().json()["mfa_token"]
    tokens = api.post(url("mfa-challenge"), {"mfa_token": token, "code": code_now(secret)},
                      format="json").json()
    clock.advance(700)
    response = bearer(tokens["access_token"]).post(
        url("mfa-step-up"), {"credential": authenticator.get(_login_options(api))},
        format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("passkey_id", [0, 2**63, 10**30])
def test_an_id_no_passkey_can_have_is_a_404(bearer_client: Any, passkey_id: int) -> None:
    for method in ("patch", "delete"):
        response = getattr(bearer_client, method)(url("passkey-detail", passkey_id),
                                                  {"name": "Work laptop"}, format="json")
        assert_error(response, 404, "not_found")
