"""Signing secrets and the signing settings of a key: returned once, derived never stored,
rotated with the key; ``require_signature`` and ``public_key`` through REST, the admin and
``ainative_mint_api_key``."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from ainative_auth.credentials import keys
from ainative_auth.models import APIKey
from ainative_auth.services import api_keys
from tests.signing import as_meta, new_ed25519, sign_v2, v1_headers

KEYS = "/api/v1/api-keys"
ME = "/api/v1/users/me"
SECRET_RE = re.compile(r"aks_[A-Za-z0-9_-]{43}")
KEY_RE = re.compile(r"ak_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}")

pytestmark = pytest.mark.django_db


# --- the secret itself ------------------------------------------------------------------


def test_create_returns_the_signing_secret_once_and_nothing_else_shows_it(
    bearer_client: APIClient, verify: Any,
) -> None:
    verify()
    response = bearer_client.post(KEYS, {"name": "sdk"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert SECRET_RE.fullmatch(body["signing_secret"])
    assert body["require_signature"] is False
    secret = body["signing_secret"]
    for page in (bearer_client.get(KEYS), bearer_client.get(f"{KEYS}/{body['id']}")):
        assert page.status_code == 200
        assert secret not in page.content.decode()
        assert "signing_secret" not in page.content.decode()


def test_the_signing_secret_is_derived_never_stored(make_api_key: Any) -> None:
    issued = make_api_key()
    key = issued.key
    row = APIKey.objects.filter(pk=key.pk).values().get()
    body = issued.signing_secret[len("aks_"):]
    for value in row.values():
        assert body[:16] not in str(value)
    # Recomputed from what the row stores plus the server key: the same secret.
    assert keys.signing_secret_for(key.public_id, row["secret_hash"]) == issued.signing_secret
    # ...and only with the server key: another SECRET_KEY gives another secret.
    assert keys.signing_secret_for(key.public_id, row["secret_hash"], "other") != (
        issued.signing_secret)


def test_every_key_gets_its_own_signing_secret(make_api_key: Any) -> None:
    secrets_ = {make_api_key(name=f"k{i}").signing_secret for i in range(20)}
    assert len(secrets_) == 20
    assert all(SECRET_RE.fullmatch(secret) for secret in secrets_)


def test_create_and_rotate_return_an_issued_key(make_user: Any) -> None:
    user = make_user()
    issued = api_keys.create_key(user, name="x")
    assert isinstance(issued, api_keys.IssuedKey)
    assert issued.plaintext.startswith(issued.key.prefix + "_")
    rotated = api_keys.rotate_key(issued.key)
    assert rotated.key.pk == issued.key.pk
    assert rotated.plaintext != issued.plaintext
    assert rotated.signing_secret != issued.signing_secret


def test_rotation_returns_a_new_signing_secret_and_the_old_one_stops(
    bearer_client: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    response = bearer_client.post(f"{KEYS}/{issued.key.public_id}/rotate")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "name", "key", "signing_secret", "prefix", "scopes",
                         "expires_at", "require_signature", "created_at"}
    assert SECRET_RE.fullmatch(body["signing_secret"])
    assert body["signing_secret"] != issued.signing_secret
    client = APIClient()
    assert client.get(ME, **v1_headers(body["key"], body["signing_secret"])).status_code == 200
    old = client.get(ME, **v1_headers(body["key"], issued.signing_secret))
    assert old.status_code == 401 and old.json()["error_code"] == "signature_invalid"


# --- require_signature and public_key over REST -----------------------------------------


def test_a_key_can_be_created_requiring_signatures_with_a_public_key(
    bearer_client: APIClient, verify: Any,
) -> None:
    verify()
    _, pem = new_ed25519()
    response = bearer_client.post(
        KEYS, {"name": "agent", "require_signature": True, "public_key": pem}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["require_signature"] is True
    key = APIKey.objects.get(public_id=body["id"])
    assert key.require_signature is True and key.public_key == pem
    detail = bearer_client.get(f"{KEYS}/{body['id']}").json()
    assert detail["require_signature"] is True and detail["public_key"] == pem
    unsigned = APIClient().get(ME, HTTP_X_API_KEY=body["key"])
    assert unsigned.status_code == 401
    assert unsigned.json()["error_code"] == "signature_required"


def test_patch_sets_and_clears_require_signature_and_the_public_key(
    bearer_client: APIClient, make_api_key: Any
) -> None:
    issued = make_api_key()
    path = f"{KEYS}/{issued.key.public_id}"
    _, pem = new_ed25519()
    response = bearer_client.patch(path, {"require_signature": True, "public_key": pem},
                                   format="json")
    assert response.status_code == 200, response.content
    assert response.json()["require_signature"] is True
    assert response.json()["public_key"] == pem
    assert APIClient().get(ME, HTTP_X_API_KEY=issued.plaintext).json()["error_code"] == (
        "signature_required")
    # Renaming alone leaves both as they are.
    assert bearer_client.patch(path, {"name": "renamed"}, format="json").json()[
        "public_key"] == pem
    response = bearer_client.patch(path, {"require_signature": False, "public_key": None},
                                   format="json")
    assert response.status_code == 200
    assert response.json()["require_signature"] is False
    assert response.json()["public_key"] is None
    key = APIKey.objects.get(pk=issued.key.pk)
    assert key.public_key == "" and key.require_signature is False
    assert APIClient().get(ME, HTTP_X_API_KEY=issued.plaintext).status_code == 200


def test_a_public_key_is_stored_in_canonical_form(
    bearer_client: APIClient, verify: Any
) -> None:
    verify()
    _, pem = new_ed25519()
    sloppy = "\r\n".join(pem.strip().splitlines()) + "\r\n\r\n"
    response = bearer_client.post(KEYS, {"name": "a", "public_key": sloppy}, format="json")
    assert response.status_code == 201, response.content
    assert APIKey.objects.get(public_id=response.json()["id"]).public_key == pem


def _rsa_or_ec_public_pem() -> str:
    private = generate_private_key(SECP256R1())
    return private.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _bad_public_keys() -> dict[str, Any]:
    private, pem = new_ed25519()
    private_pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                        NoEncryption()).decode()
    lines = pem.splitlines()
    return {
        "a P-256 key": _rsa_or_ec_public_pem(),
        "the private key": private_pem,
        "garbage": "not a key",
        "empty": "",
        "a number": 12345,
        "a list": [pem],
        "truncated PEM": "\n".join(lines[:2]),
        "corrupted base64": pem.replace(lines[1], "!" * len(lines[1])),
        "raw base64 without PEM armour": lines[1],
        "huge": pem + "A" * 5000,
        "non-ASCII": pem.replace("PUBLIC", "PUBLİC"),
    }


@pytest.mark.parametrize("label", sorted(_bad_public_keys()))
def test_a_bad_public_key_is_a_400_naming_the_field_and_changes_nothing(
    bearer_client: APIClient, make_api_key: Any, label: str
) -> None:
    value = _bad_public_keys()[label]
    issued = make_api_key()
    created = bearer_client.post(KEYS, {"name": "x", "public_key": value}, format="json")
    patched = bearer_client.patch(f"{KEYS}/{issued.key.public_id}", {"public_key": value},
                                  format="json")
    for response in (created, patched):
        assert response.status_code == 400, (label, response.content)
        body = response.json()
        assert body["error_code"] == "validation_error"
        assert body["errors"][0]["field"] == "public_key"
    assert APIKey.objects.count() == 1
    assert APIKey.objects.get().public_key == ""


@pytest.mark.parametrize("value", ["true", 1, 0, "yes", None, []])
def test_require_signature_must_be_a_json_boolean(
    bearer_client: APIClient, value: Any
) -> None:
    response = bearer_client.post(KEYS, {"name": "x", "require_signature": value},
                                  format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "require_signature"
    assert not APIKey.objects.exists()


def test_a_key_that_must_sign_cannot_make_or_leave_a_key_that_need_not(
    api: APIClient, make_api_key: Any, verify: Any
) -> None:
    manager = make_api_key(name="manager", scopes=["keys:write", "credits:read"],
                           require_signature=True)
    verify()
    target = make_api_key(name="target", scopes=["credits:read"], require_signature=True)

    def signed(method: str, path: str, body: bytes | None = None) -> Any:
        headers = sign_v2(method, f"http://testserver{path}", key_id=manager.key.prefix,
                          secret=manager.signing_secret, body=body,
                          headers={"Content-Type": "application/json"} if body else None)
        return api.generic(method, path, body or b"", content_type="application/json",
                           **as_meta(headers))

    weak = signed("POST", KEYS, b'{"name": "weak", "scopes": ["credits:read"]}')
    assert weak.status_code == 403 and weak.json()["error_code"] == "signature_downgrade"
    off = signed("PATCH", f"{KEYS}/{target.key.public_id}", b'{"require_signature": false}')
    assert off.status_code == 403 and off.json()["error_code"] == "signature_downgrade"
    assert APIKey.objects.get(pk=target.key.pk).require_signature is True
    strong = signed("POST", KEYS,
                    b'{"name": "strong", "scopes": [], "require_signature": true}')
    assert strong.status_code == 201, strong.content
    assert strong.json()["require_signature"] is True
    assert APIKey.objects.count() == 3


# --- admin --------------------------------------------------------------------------------


ADD = "/admin/ainative_auth/apikey/add/"


def test_the_admin_shows_the_key_and_its_signing_secret_once(
    admin_client: Client, make_user: Any
) -> None:
    alice = make_user()
    _, pem = new_ed25519()
    response = admin_client.post(ADD, {
        "user": alice.pk, "name": "ci", "scopes": "", "expires_at_0": "", "expires_at_1": "",
        "throttle_rate": "", "require_signature": "on", "public_key": pem, "full_access": "on",
    }, follow=True)
    assert response.status_code == 200
    content = response.content.decode()
    shown_keys, shown_secrets = KEY_RE.findall(content), SECRET_RE.findall(content)
    assert len(set(shown_keys)) == 1 and len(set(shown_secrets)) == 1
    key = APIKey.objects.get()
    assert key.require_signature is True and key.public_key == pem
    issued_secret = keys.signing_secret_for(key.public_id, key.secret_hash)
    assert shown_secrets[0] == issued_secret
    page = admin_client.get(f"/admin/ainative_auth/apikey/{key.pk}/change/").content.decode()
    assert issued_secret not in page and SECRET_RE.search(page) is None


def test_the_admin_refuses_a_bad_public_key(admin_client: Client, make_user: Any) -> None:
    alice = make_user()
    response = admin_client.post(ADD, {
        "user": alice.pk, "name": "ci", "scopes": "", "expires_at_0": "", "expires_at_1": "",
        "throttle_rate": "", "public_key": _rsa_or_ec_public_pem(),
    })
    assert response.status_code == 200  # the form again, with the error
    assert "Only Ed25519 public keys are supported." in response.content.decode()
    assert not APIKey.objects.exists()


def test_the_admin_change_form_sets_require_signature(
    admin_client: Client, make_api_key: Any
) -> None:
    issued = make_api_key(name="ci")
    url = f"/admin/ainative_auth/apikey/{issued.key.pk}/change/"
    response = admin_client.post(url, {
        "name": "ci", "scopes": "*", "expires_at_0": "", "expires_at_1": "",
        "throttle_rate": "", "require_signature": "on", "public_key": "",
    })
    assert response.status_code == 302, response.content
    assert APIKey.objects.get(pk=issued.key.pk).require_signature is True
    unsigned = APIClient().get(ME, HTTP_X_API_KEY=issued.plaintext)
    assert unsigned.json()["error_code"] == "signature_required"


# --- ainative_mint_api_key -------------------------------------------------------------


def mint(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ainative_mint_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_mint_with_signing_secret_prints_the_key_then_the_secret(make_user: Any) -> None:
    make_user()
    out, err = mint("--user", "alice@example.com", "--name", "sdk", "--signing-secret")
    lines = out.splitlines()
    assert len(lines) == 2 and out.endswith("\n")
    plaintext, secret = lines
    assert KEY_RE.fullmatch(plaintext) and SECRET_RE.fullmatch(secret)
    assert secret not in err and plaintext not in err
    key = APIKey.objects.get()
    assert keys.signing_secret_for(key.public_id, key.secret_hash) == secret
    response = APIClient().get(ME, **v1_headers(plaintext, secret))
    assert response.status_code == 200


def test_mint_without_the_flag_prints_only_the_key(make_user: Any) -> None:
    make_user()
    out, _ = mint("--user", "alice@example.com", "--name", "sdk")
    assert len(out.splitlines()) == 1 and KEY_RE.fullmatch(out.strip())


def test_mint_require_signature_and_public_key(make_user: Any, tmp_path: Path) -> None:
    make_user()
    _, pem = new_ed25519()
    path = tmp_path / "agent.pub"
    path.write_text(pem)
    out, err = mint("--user", "alice@example.com", "--name", "agent", "--require-signature",
                    "--public-key", str(path))
    key = APIKey.objects.get()
    assert key.require_signature is True and key.public_key == pem
    assert "signatures required" in err and "Ed25519" in err
    unsigned = APIClient().get(ME, HTTP_X_API_KEY=out.strip())
    assert unsigned.status_code == 401
    assert unsigned.json()["error_code"] == "signature_required"


@pytest.mark.parametrize("content", ["not a key", None])
def test_mint_refuses_a_bad_or_missing_public_key_file(
    make_user: Any, tmp_path: Path, content: str | None
) -> None:
    make_user()
    path = tmp_path / "agent.pub"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CommandError, match="--public-key"):
        mint("--user", "alice@example.com", "--name", "agent", "--public-key", str(path))
    assert not APIKey.objects.exists()
