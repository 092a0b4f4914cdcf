"""The authenticator app (TOTP, RFC 6238) and recovery codes over the JSON API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from ainative_auth.mfa.models import RecoveryCode, TOTPDevice
from ainative_auth.signals import mfa_challenge_failed, mfa_factor_added
from tests.conftest import assert_error, bearer, url
from tests.mfa_helpers import code_now, enable_totp

# Each test is one transaction rolled back; those reading mail sent after commit commit.
pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user: Any, verify: Any) -> Any:
    user = make_user()
    verify(user)
    return user


@pytest.fixture
def client(alice: Any, login: Any) -> Any:
    return bearer(login().json()["access_token"])


def _setup(client: Any) -> dict[str, Any]:
    response = client.post(url("mfa-setup"), format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_setup_answers_the_secret_the_uri_the_qr_code_and_ten_recovery_codes(client: Any) -> None:
    body = _setup(client)
    assert set(body) == {"secret", "otpauth_uri", "qrCodeUrl", "backupCodes"}
    assert re.fullmatch(r"[A-Z2-7]{32}", body["secret"])
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert "alice%40example.com" in body["otpauth_uri"] and f"secret={body['secret']}" in (
        body["otpauth_uri"])
    assert body["qrCodeUrl"].startswith("data:image/svg+xml")
    codes = body["backupCodes"]
    assert len(codes) == 10 and len(set(codes)) == 10


def test_recovery_codes_are_stored_hashed_only(client: Any, alice: Any) -> None:
    codes = _setup(client)["backupCodes"]
    stored = list(RecoveryCode.objects.filter(user=alice).values_list("code_hash", flat=True))
    assert len(stored) == 10
    for code in codes:
        plain = code.replace("-", "")
        assert all(plain not in value and code not in value for value in stored)


def test_the_factor_is_active_only_after_a_right_code(client: Any, alice: Any, login: Any) -> None:
    secret = _setup(client)["secret"]
    # Set up but not confirmed: logging in still gives tokens.
    assert login().status_code == 200
    assert client.get(url("mfa")).json()["enabled"] is False
    wrong = str((int(code_now(secret)) + 1) % 1_000_000).zfill(6)
    assert_error(client.post(url("mfa-verify"), {"code": wrong}, format="json"), 400,
                 "mfa_code_invalid")
    assert TOTPDevice.objects.get(user=alice).confirmed_at is None

    response = client.post(url("mfa-verify"), {"code": code_now(secret)}, format="json")
    assert response.status_code == 200 and response.json() == {"verified": True}
    status = client.get(url("mfa")).json()
    assert status["enabled"] is True and status["recovery_codes_left"] == 10
    assert [f["type"] for f in status["factors"]] == ["totp"]
    assert_error(login(), 403, "mfa_required")


def test_verify_without_a_setup_and_setup_twice_are_409(client: Any) -> None:
    assert_error(client.post(url("mfa-verify"), {"code": "123456"}, format="json"), 409,
                 "mfa_setup_required")
    secret = _setup(client)["secret"]
    client.post(url("mfa-verify"), {"code": code_now(secret)}, format="json")
    assert_error(client.post(url("mfa-setup"), format="json"), 409, "mfa_already_enabled")


@pytest.mark.django_db(transaction=True)  # real commits: its mail goes out after commit
def test_turning_it_on_mails_the_owner_and_sends_the_signal(client: Any, alice: Any) -> None:
    seen: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        seen.append(kwargs)

    mfa_factor_added.connect(receiver)
    try:
        secret = _setup(client)["secret"]
        mail.outbox.clear()
        client.post(url("mfa-verify"), {"code": code_now(secret)}, format="json")
    finally:
        mfa_factor_added.disconnect(receiver)
    assert [s["factor_type"] for s in seen] == ["totp"] and seen[0]["user"] == alice
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    assert "second factor was added" in mail.outbox[0].subject


def test_setup_needs_a_verified_address(make_user: Any, login: Any) -> None:
    make_user(email="bob@example.com")
    client = bearer(login("bob@example.com").json()["access_token"])
    assert_error(client.post(url("mfa-setup"), format="json"), 403, "email_not_verified")


def test_an_api_key_cannot_manage_factors(alice: Any, make_api_key: Any) -> None:
    _, plaintext = make_api_key(scopes=["*"])
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=plaintext)
    for name in ("mfa-setup", "mfa-recovery-codes", "passkey-register-options"):
        assert_error(client.post(url(name), format="json"), 403, codes=(
            "session_required", "insufficient_scope"))


# --- codes: one step of drift, each once, digits only ---------------------------------------


@pytest.fixture
def mfa_alice(alice: Any, clock: Any) -> tuple[Any, str, list[str]]:
    secret, codes = enable_totp(alice)
    clock.advance(61)  # two steps past the one that turned it on
    return alice, secret, codes


def _challenge(api: Any, login: Any, code: Any) -> Any:
    token = login().json()["mfa_token"]
    return api.post(url("mfa-challenge"), {"mfa_token": token, "code": code}, format="json")


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_one_step_of_clock_drift_either_way_is_accepted(
    mfa_alice: Any, api: Any, login: Any, offset: int
) -> None:
    _, secret, _ = mfa_alice
    assert _challenge(api, login, code_now(secret, offset)).status_code == 200


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_codes_further_away_are_refused(mfa_alice: Any, api: Any, login: Any,
                                        offset: int) -> None:
    _, secret, _ = mfa_alice
    assert_error(_challenge(api, login, code_now(secret, offset)), 400, "mfa_code_invalid")


def test_a_code_is_accepted_once_even_inside_its_window(
    mfa_alice: Any, api: Any, login: Any, clock: Any
) -> None:
    _, secret, _ = mfa_alice
    code = code_now(secret)
    assert _challenge(api, login, code).status_code == 200
    clock.advance(5)  # same step, still inside the window
    assert_error(_challenge(api, login, code), 400, "mfa_code_invalid")
    # And an earlier step's code, still inside the drift, is refused after a later one.
    assert_error(_challenge(api, login, code_now(secret, -1)), 400, "mfa_code_invalid")
    clock.advance(30)
    assert _challenge(api, login, code_now(secret)).status_code == 200


@pytest.mark.parametrize("spelling", [
    lambda c: "".join(chr(ord(d) + 0xFEE0) for d in c),  # full-width digits
    lambda c: "0" + c,
    lambda c: "+" + c,
    lambda c: c[:3] + " " + c[3:],
    lambda c: c + ".0",
    lambda c: int(c),
])
def test_other_representations_of_a_code_are_refused(
    mfa_alice: Any, api: Any, login: Any, spelling: Any
) -> None:
    _, secret, _ = mfa_alice
    response = _challenge(api, login, spelling(code_now(secret)))
    assert_error(response, 400, codes=("mfa_code_invalid", "validation_error"))
    # ... and the code itself still works: nothing was spent.
    assert _challenge(api, login, code_now(secret)).status_code == 200


def test_a_recovery_code_works_once(mfa_alice: Any, api: Any, login: Any) -> None:
    alice, _, codes = mfa_alice
    response = _challenge(api, login, codes[0].upper().replace("-", " "))
    assert response.status_code == 200, response.content
    assert_error(_challenge(api, login, codes[0]), 400, "mfa_code_invalid")
    status = bearer(response.json()["access_token"]).get(url("mfa")).json()
    assert status["recovery_codes_left"] == 9


def test_wrong_codes_are_throttled_per_account_without_a_lasting_lockout(
    mfa_alice: Any, api: Any, login: Any, auth_settings: Any, clock: Any
) -> None:
    _, secret, _ = mfa_alice
    auth_settings.rates(mfa="3/minute")

    token = login().json()["mfa_token"]

    def attempt(code: str, n: int) -> Any:  # each from another address: per account
        return api.post(url("mfa-challenge"), {"mfa_token": token, "code": code},
                        format="json", REMOTE_ADDR=f"198.51.100.{n}")

    for n in range(3):
        assert_error(attempt("000000", n), 400, "mfa_code_invalid")
    assert_error(attempt(code_now(secret), 10), 429, "throttled")
    clock.advance(60)
    token = login().json()["mfa_token"]
    assert attempt(code_now(secret), 11).status_code == 200


def test_code_attempts_are_throttled_per_ip(
    mfa_alice: Any, api: Any, login: Any, make_user: Any, auth_settings: Any, clock: Any
) -> None:
    bob = make_user(email="bob@example.com")
    bob_secret, _ = enable_totp(bob)
    clock.advance(61)
    auth_settings.rates(mfa="3/minute")
    for _ in range(3):
        token = login().json()["mfa_token"]
        api.post(url("mfa-challenge"), {"mfa_token": token, "code": "000000"}, format="json")
    token = login("bob@example.com").json()["mfa_token"]
    assert_error(api.post(url("mfa-challenge"), {"mfa_token": token,
                                                 "code": code_now(bob_secret)},
                          format="json"), 429, "throttled")


def test_the_failure_ceiling_holds_then_lifts(
    mfa_alice: Any, api: Any, login: Any, auth_settings: Any, clock: Any
) -> None:
    _, secret, _ = mfa_alice
    auth_settings(MFA_LOCKOUT_RATE="4/day")
    for _ in range(4):
        assert_error(_challenge(api, login, "000000"), 400, "mfa_code_invalid")
    assert_error(_challenge(api, login, code_now(secret)), 429, "throttled")
    clock.advance(86400)
    assert _challenge(api, login, code_now(secret)).status_code == 200


def test_a_refused_code_sends_mfa_challenge_failed(mfa_alice: Any, api: Any, login: Any) -> None:
    alice, _, _ = mfa_alice
    seen: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        seen.append(kwargs)

    mfa_challenge_failed.connect(receiver)
    try:
        _challenge(api, login, "000000")
    finally:
        mfa_challenge_failed.disconnect(receiver)
    assert len(seen) == 1 and seen[0]["user"] == alice and seen[0]["purpose"] == "challenge"


# --- disable and new recovery codes --------------------------------------------------------


def _signed_in(api: Any, login: Any, secret: str) -> Any:
    token = login().json()["mfa_token"]
    response = api.post(url("mfa-challenge"), {"mfa_token": token, "code": code_now(secret)},
                        format="json")
    assert response.status_code == 200, response.content
    return bearer(response.json()["access_token"])


@pytest.mark.django_db(transaction=True)  # real commits: its mail goes out after commit
def test_disable_needs_a_code_and_removes_every_factor(
    mfa_alice: Any, api: Any, login: Any, clock: Any
) -> None:
    alice, secret, codes = mfa_alice
    client = _signed_in(api, login, secret)
    assert_error(client.post(url("mfa-disable"), {"code": "000000"}, format="json"), 400,
                 "mfa_code_invalid")
    mail.outbox.clear()
    response = client.post(url("mfa-disable"), {"code": codes[3]}, format="json")
    assert response.status_code == 200, response.content
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not RecoveryCode.objects.filter(user=alice).exists()
    assert login().status_code == 200  # no second factor asked any more
    assert len(mail.outbox) == 1 and "removed" in mail.outbox[0].subject
    assert_error(client.post(url("mfa-disable"), {"code": codes[4]}, format="json"), 409,
                 "mfa_not_enabled")


def test_new_recovery_codes_replace_the_old_ones(
    mfa_alice: Any, api: Any, login: Any
) -> None:
    _, secret, old = mfa_alice
    client = _signed_in(api, login, secret)
    response = client.post(url("mfa-recovery-codes"), format="json")
    assert response.status_code == 200, response.content
    new = response.json()["backupCodes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert_error(_challenge(api, login, old[0]), 400, "mfa_code_invalid")
    assert _challenge(api, login, new[0]).status_code == 200


@pytest.mark.django_db(transaction=True)  # real commits: its mail goes out after commit
def test_a_password_reset_never_turns_mfa_off(
    mfa_alice: Any, api: Any, login: Any, mail_token: Any
) -> None:
    api.post(url("forgot-password"), {"email": "alice@example.com"}, format="json")
    token = mail_token("reset")
    response = api.post(url("reset-password"),
                        {"token": token, "new_password": "another long passphrase 9"},
                        format="json")
    assert response.status_code == 200, response.content
    assert_error(login(password="another long passphrase 9"), 403, "mfa_required")
