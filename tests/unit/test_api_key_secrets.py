"""How an API key's secret is checked and stored (R17, R75; issue 8, item 6).

Each test breaks if the property goes: the secret compared with ``==`` instead of
``hmac.compare_digest``, or hashed without the SECRET_KEY-derived pepper.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from rest_framework.test import APIClient

from ainative_auth.credentials import keys

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


def get_me(plaintext: str) -> Any:
    return APIClient().get(ME, HTTP_X_API_KEY=plaintext)


def spy_compare_digest(monkeypatch: pytest.MonkeyPatch, stored: str, verdict: bool | None
                       ) -> list[tuple[Any, Any]]:
    """Replace ``hmac.compare_digest``: comparisons involving ``stored`` are recorded and,
    unless ``verdict`` is None, answered with ``verdict``; all others run for real."""
    real = hmac.compare_digest
    seen: list[tuple[Any, Any]] = []
    forms = {stored, stored.encode()}

    def spy(a: Any, b: Any) -> bool:
        if a in forms or b in forms:
            seen.append((a, b))
            if verdict is not None:
                return verdict
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return seen


def test_the_stored_hash_is_compared_with_compare_digest(api_key, monkeypatch):
    key, plaintext = api_key
    seen = spy_compare_digest(monkeypatch, key.secret_hash, verdict=None)
    assert get_me(plaintext).status_code == 200
    assert seen, "the stored hash was never compared with hmac.compare_digest"


def test_compare_digest_alone_decides_a_right_key_fails_when_it_says_no(api_key, monkeypatch):
    key, plaintext = api_key
    spy_compare_digest(monkeypatch, key.secret_hash, verdict=False)
    assert get_me(plaintext).status_code == 401


def test_compare_digest_alone_decides_a_wrong_secret_passes_when_it_says_yes(
        api_key, monkeypatch):
    # A well-formed key (right public id, valid checksum) with another secret: only the
    # secret comparison stands between it and the account. If that comparison were `==`,
    # forcing compare_digest to say yes would change nothing.
    key, plaintext = api_key
    public_id, secret = keys.parse_api_key(plaintext)
    wrong_secret = secret[::-1] if secret[::-1] != secret else "A" * len(secret)
    forged = keys.api_key_plaintext(public_id, wrong_secret)
    assert get_me(forged).status_code == 401
    spy_compare_digest(monkeypatch, key.secret_hash, verdict=True)
    assert get_me(forged).status_code == 200


def test_the_stored_hash_is_no_unkeyed_digest_of_the_key(api_key, settings):
    key, plaintext = api_key
    public_id, secret = keys.parse_api_key(plaintext)
    stored = key.secret_hash
    assert len(stored) == 64 and secret not in stored
    messages = [secret, plaintext, f"{public_id}:{secret}", f"{public_id}{secret}"]
    unkeyed = {hashlib.sha256(m.encode()).hexdigest() for m in messages}
    unkeyed |= {hashlib.sha512(m.encode()).hexdigest()[:64] for m in messages}
    # HMAC keyed with SECRET_KEY itself (no derived pepper), or with an empty key.
    unkeyed |= {hmac.new(k.encode(), m.encode(), hashlib.sha256).hexdigest()
                for k in (settings.SECRET_KEY, "") for m in messages}
    assert stored not in unkeyed


def test_the_hash_depends_on_secret_key(api_key, settings):
    # The pepper is derived from SECRET_KEY: a database dump alone cannot test a guess,
    # and a new SECRET_KEY (without the old one as a fallback) voids every stored hash.
    _, plaintext = api_key
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    settings.SECRET_KEY_FALLBACKS = []
    assert get_me(plaintext).status_code == 401
    settings.SECRET_KEY_FALLBACKS = [old]
    assert get_me(plaintext).status_code == 200


@pytest.mark.parametrize("text", ["credits:read,keys:write", "credits:read keys:write",
                                  " credits:read ,\tkeys:write\n", "credits:read,, keys:write"])
def test_scopes_typed_as_text_split_one_way_everywhere(text: str) -> None:
    """The dashboard, the admin and ``ainative_mint_api_key`` read typed scopes with one
    rule: commas and/or whitespace separate them."""
    from ainative_auth.admin import ScopesFormField
    from ainative_auth.credentials.keys import split_scopes_text

    assert split_scopes_text(text) == ["credits:read", "keys:write"]
    assert ScopesFormField(required=False).clean(text) == ["credits:read", "keys:write"]
