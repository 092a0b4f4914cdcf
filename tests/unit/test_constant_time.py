"""Every secret-dependent comparison goes through a constant-time function (review F12).

A timing test cannot tell ``==`` from ``hmac.compare_digest`` in a test run, so each claim
is checked by what the comparison decides: a spy stands in for the constant-time
functions (``hmac.compare_digest`` and Django's ``constant_time_compare``, wherever the
app's modules bound them) and answers for the comparisons that involve the value the
client sent. When the spy says "equal", a forgery passes; when it says "different", the
genuine credential fails. If the app compared with ``==`` (or anything else), the spy's
answer would change nothing and these tests fail.

Covered: v1 request signatures, email tokens (verify and reset), refresh tokens, OAuth
state MACs, the frontend's PKCE ``code_verifier`` and the ID token's nonce. API-key
secrets have their own spy in ``test_api_key_secrets.py``.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import crypto
from django.utils.encoding import force_bytes
from rest_framework.test import APIClient

from ainative_auth.credentials import oauth_state
from ainative_auth.credentials.email_tokens import reset_password_tokens, verify_email_tokens
from ainative_auth.users import address_verified, email_of
from tests.conftest import PASSWORD, assert_error
from tests.oauth_standins import OIDCUser, authorize, callback, github_user, log_in_with, sign_in_at
from tests.signing import v1_headers

pytestmark = pytest.mark.django_db

REAL_COMPARE_DIGEST = hmac.compare_digest
REAL_CONSTANT_TIME_COMPARE = crypto.constant_time_compare


class ConstantTimeSpy:
    """Records the constant-time comparisons that involve a watched value and, unless the
    verdict is None, answers them with the verdict; every other comparison runs for real.
    """

    def __init__(self) -> None:
        self.watched: set[Any] = set()
        self.verdict: bool | None = None
        self.calls: list[tuple[str, Any, Any]] = []

    def watch(self, values: Iterable[str | bytes], verdict: bool | None = None) -> None:
        for value in values:
            # Watched as str and as UTF-8 bytes (raw bytes, a MAC, only as bytes).
            self.watched.add(value)
            self.watched.add(value.encode() if isinstance(value, str) else value)
            if isinstance(value, bytes) and value.isascii():
                self.watched.add(value.decode())
        self.verdict = verdict

    def _judge(self, name: str, real: Any, a: Any, b: Any) -> bool:
        if a in self.watched or b in self.watched:
            self.calls.append((name, a, b))
            if self.verdict is not None:
                return self.verdict
        return bool(real(a, b))

    def compare_digest(self, a: Any, b: Any) -> bool:
        return self._judge("hmac.compare_digest", REAL_COMPARE_DIGEST, a, b)

    def constant_time_compare(self, a: Any, b: Any) -> bool:
        # Django's own body, on the real function: the patched `secrets.compare_digest`
        # below would count the same comparison twice.
        return self._judge("constant_time_compare",
                           lambda x, y: REAL_COMPARE_DIGEST(force_bytes(x), force_bytes(y)), a, b)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ConstantTimeSpy:
    """Put the spy in place of both functions: on their modules (for ``hmac.x(...)``
    calls; ``secrets.compare_digest`` is the same function) and in every
    ``ainative_auth`` module that imported them by name."""
    spy = ConstantTimeSpy()
    monkeypatch.setattr(hmac, "compare_digest", spy.compare_digest)
    monkeypatch.setattr(secrets, "compare_digest", spy.compare_digest)
    monkeypatch.setattr(crypto, "constant_time_compare", spy.constant_time_compare)
    for name, module in list(sys.modules.items()):
        if not name.startswith("ainative_auth") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if value is REAL_COMPARE_DIGEST:
                monkeypatch.setattr(module, attribute, spy.compare_digest)
            elif value is REAL_CONSTANT_TIME_COMPARE:
                monkeypatch.setattr(module, attribute, spy.constant_time_compare)
    return spy


def tampered(text: str) -> str:
    """``text`` with its last character changed, within the same alphabet."""
    return text[:-1] + ("A" if text[-1] != "A" else "B")


# --- v1 request signatures ---------------------------------------------------------------


def me_signed(headers: dict[str, str]) -> Any:
    return APIClient().get(reverse("ainative_auth:me"), **headers)


def sent_mac(headers: dict[str, str]) -> bytes:
    return base64.b64decode(headers["HTTP_X_SIGNATURE"])


def test_v1_a_forged_signature_passes_when_compare_digest_says_equal(make_api_key, spy):
    issued = make_api_key()
    forged = v1_headers(issued.plaintext, "aks_" + "A" * 43)  # signed with another secret
    assert_error(me_signed(forged), 401, "signature_invalid")

    spy.watch([sent_mac(forged)], verdict=True)

    assert me_signed(forged).status_code == 200
    assert spy.calls and {name for name, _, _ in spy.calls} == {"hmac.compare_digest"}


def test_v1_a_genuine_signature_fails_when_compare_digest_says_different(make_api_key, spy):
    issued = make_api_key()
    genuine = v1_headers(issued.plaintext, issued.signing_secret)
    assert me_signed(genuine).status_code == 200

    spy.watch([sent_mac(genuine)], verdict=False)

    assert_error(me_signed(genuine), 401, "signature_invalid")


# --- email tokens: verify and reset ------------------------------------------------------


def forge_email_token(token: str) -> tuple[str, str]:
    """The token with another hash (same user, same timestamp), and its compared part."""
    uid, _, inner = token.partition(".")
    forged_inner = tampered(inner)
    return f"{uid}.{forged_inner}", forged_inner


def verify(token: str) -> Any:
    return APIClient().post(reverse("ainative_auth:verify-email"), {"token": token},
                            format="json")


def reset(token: str) -> Any:
    return APIClient().post(reverse("ainative_auth:reset-password"),
                            {"token": token, "new_password": "A brand new pass phrase 9"},
                            format="json")


def test_verify_a_forged_email_token_passes_when_constant_time_compare_says_equal(
        make_user, spy):
    user = make_user()
    forged, compared = forge_email_token(verify_email_tokens.make_email_token(user))
    assert_error(verify(forged), 400, "token_invalid")

    spy.watch([compared], verdict=True)

    assert verify(forged).status_code == 200
    assert address_verified(user.pk, email_of(user))
    assert {name for name, _, _ in spy.calls} == {"constant_time_compare"}


def test_verify_a_genuine_email_token_fails_when_constant_time_compare_says_different(
        make_user, spy):
    user = make_user()
    token = verify_email_tokens.make_email_token(user)

    spy.watch([token.partition(".")[2]], verdict=False)

    assert_error(verify(token), 400, "token_invalid")
    assert not address_verified(user.pk, email_of(user))


def test_reset_a_forged_email_token_passes_when_constant_time_compare_says_equal(
        make_user, spy):
    user = make_user()
    forged, compared = forge_email_token(reset_password_tokens.make_email_token(user))
    assert_error(reset(forged), 400, "token_invalid")

    spy.watch([compared], verdict=True)

    assert reset(forged).status_code == 200
    user.refresh_from_db()
    assert user.check_password("A brand new pass phrase 9")
    assert {name for name, _, _ in spy.calls} == {"constant_time_compare"}


def test_reset_a_genuine_email_token_fails_when_constant_time_compare_says_different(
        make_user, spy):
    user = make_user()
    token = reset_password_tokens.make_email_token(user)

    spy.watch([token.partition(".")[2]], verdict=False)

    assert_error(reset(token), 400, "token_invalid")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- refresh tokens ----------------------------------------------------------------------


def refresh(token: str) -> Any:
    return APIClient().post(reverse("ainative_auth:refresh"), {"refresh_token": token},
                            format="json")


def test_a_forged_refresh_token_passes_when_compare_digest_says_equal(tokens, spy):
    forged = tampered(tokens["refresh_token"])
    assert_error(refresh(forged), 401, "refresh_token_invalid")

    spy.watch([forged], verdict=True)

    assert refresh(forged).status_code == 200
    assert {name for name, _, _ in spy.calls} == {"hmac.compare_digest"}


def test_a_genuine_refresh_token_fails_when_compare_digest_says_different(tokens, spy):
    spy.watch([tokens["refresh_token"]], verdict=False)

    assert_error(refresh(tokens["refresh_token"]), 401, "refresh_token_invalid")


# --- OAuth state MACs --------------------------------------------------------------------


def new_state() -> tuple[str, str]:
    """A state of ours and its MAC part."""
    state, _ = oauth_state.new_transaction("github", "https://app.example.com/auth/callback",
                                           with_nonce=False)
    return state, state.rpartition(".")[2]


def test_a_forged_state_mac_passes_when_compare_digest_says_equal(spy):
    state, mac = new_state()
    forged = f"{state.rpartition('.')[0]}.{tampered(mac)}"
    assert not oauth_state.is_our_state(forged)

    spy.watch([tampered(mac)], verdict=True)

    assert oauth_state.is_our_state(forged)
    assert {name for name, _, _ in spy.calls} == {"hmac.compare_digest"}


def test_a_genuine_state_mac_fails_when_compare_digest_says_different(spy):
    state, mac = new_state()
    assert oauth_state.is_our_state(state)

    spy.watch([mac], verdict=False)

    assert not oauth_state.is_our_state(state)


# --- the frontend's PKCE code_verifier ---------------------------------------------------


def test_a_contradicting_code_verifier_passes_when_compare_digest_says_equal(
        api, github, spy):
    started = authorize(api, "github").json()
    got = sign_in_at(github, started["authorization_url"], github_user())
    contradicting = "z" * 43

    spy.watch([contradicting], verdict=True)
    response = callback(api, "github", **got, code_verifier=contradicting)

    # Judged equal, the state's own verifier goes to the provider, which accepts it.
    assert response.status_code == 200, response.content
    assert {name for name, _, _ in spy.calls} == {"hmac.compare_digest"}


def test_a_contradicting_code_verifier_is_compared_in_constant_time(api, github, spy):
    started = authorize(api, "github").json()
    got = sign_in_at(github, started["authorization_url"], github_user())
    contradicting = "z" * 43

    spy.watch([contradicting], verdict=None)
    response = callback(api, "github", **got, code_verifier=contradicting)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "code_verifier"
    assert [name for name, _, _ in spy.calls] == ["hmac.compare_digest"]


# --- the ID token's nonce ----------------------------------------------------------------


def test_a_wrong_id_token_nonce_passes_when_compare_digest_says_equal(api, linkedin, spy):
    linkedin.claim_overrides = {"nonce": "someone-elses-nonce"}
    assert_error(log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1")), 401)

    spy.watch(["someone-elses-nonce"], verdict=True)

    response = log_in_with(api, linkedin, "linkedin", OIDCUser(sub="s1"))
    assert response.status_code == 200, response.content
    assert {name for name, _, _ in spy.calls} == {"hmac.compare_digest"}


def test_the_right_id_token_nonce_fails_when_compare_digest_says_different(
        api, linkedin, spy):
    started = authorize(api, "linkedin").json()
    # The nonce we issued travels in the authorization URL; the stand-in puts it in the
    # ID token as a real issuer does.
    ours = parse_qs(urlsplit(started["authorization_url"]).query)["nonce"][0]
    got = sign_in_at(linkedin, started["authorization_url"], OIDCUser(sub="s1"))

    spy.watch([ours], verdict=False)

    assert_error(callback(api, "linkedin", **got), 401)
    assert {name for name, _, _ in spy.calls} == {"hmac.compare_digest"}
