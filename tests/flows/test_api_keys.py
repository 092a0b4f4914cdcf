"""API keys over HTTP: format and storage, authentication, scopes, management, rotation,
throttling, the per-user limit and the malformed-header list (F23)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory

from ainative_auth.credentials import keys
from ainative_auth.models import APIKey

ME = "/api/v1/users/me"
BALANCE = "/api/v1/public/credits/balance"
KEYS = "/api/v1/api-keys"
KEY_RE = re.compile(r"^ak_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$")

pytestmark = pytest.mark.django_db


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Freeze the app's clock (what every expiry check reads) at ``moment``."""
    with mock.patch("ainative_auth.clock.time", return_value=moment.timestamp()):
        yield


def with_key(client: APIClient, method: str, path: str, key: str, **kwargs: Any) -> Any:
    return getattr(client, method)(path, HTTP_X_API_KEY=key, format="json", **kwargs)


# --- format, entropy, storage --------------------------------------------------------


def test_minted_keys_have_the_fixed_format_and_never_repeat(
    make_api_key: Any, auth_settings: Any,
) -> None:
    auth_settings(API_KEY_MAX_PER_USER=0)  # 0: no limit
    plaintexts = [make_api_key(name=f"k{i}")[1] for i in range(300)]
    assert all(KEY_RE.match(key) for key in plaintexts)
    assert all(len(key) == keys.API_KEY_LENGTH == 54 for key in plaintexts)
    assert len(set(plaintexts)) == 300
    secrets_ = [keys.parse_api_key(key)[1] for key in plaintexts]
    assert len(set(secrets_)) == 300
    # No shared structure: the first characters of the secrets are spread over the alphabet.
    assert len({secret[:2] for secret in secrets_}) > 250
    # 32 base62 characters carry more than 128 bits.
    assert keys.API_KEY_SECRET_LENGTH * 5.95 > 128


def test_the_database_holds_a_hash_never_the_key(api_key: Any) -> None:
    key, plaintext = api_key
    public_id, secret = keys.parse_api_key(plaintext)
    row = APIKey.objects.filter(pk=key.pk).values().get()
    assert re.fullmatch(r"[0-9a-f]{64}", row["secret_hash"])
    for value in row.values():
        assert secret[:12] not in str(value)
        assert plaintext not in str(value)
    assert row["public_id"] == public_id


def test_create_returns_the_key_once_and_lists_only_show_the_prefix(
    bearer_client: APIClient, verify: Any,
) -> None:
    verify()
    response = bearer_client.post(KEYS, {"name": "ci", "scopes": ["credits:read"]},
                                  format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "name", "key", "signing_secret", "prefix", "scopes",
                         "expires_at", "require_signature", "created_at"}
    assert KEY_RE.match(body["key"])
    assert body["prefix"] == f"ak_{body['id']}" and body["key"].startswith(body["prefix"] + "_")
    assert body["scopes"] == ["credits:read"] and body["expires_at"] is None
    secret = keys.parse_api_key(body["key"])[1]
    stored_hash = APIKey.objects.get(public_id=body["id"]).secret_hash

    listed = bearer_client.get(KEYS)
    detail = bearer_client.get(f"{KEYS}/{body['id']}")
    for response in (listed, detail):
        assert response.status_code == 200
        assert secret not in response.content.decode()
        assert stored_hash not in response.content.decode()
    assert [item["prefix"] for item in listed.json()] == [body["prefix"]]
    item = detail.json()
    assert "key" not in item
    assert item["state"] == "active" and item["last_used_at"] is None


def test_a_key_created_without_scopes_gets_the_default_scopes(
    bearer_client: APIClient, auth_settings: Any, verify: Any,
) -> None:
    verify()
    auth_settings(API_KEY_DEFAULT_SCOPES=["credits:read"])
    response = bearer_client.post(KEYS, {"name": "default"}, format="json")
    assert response.status_code == 201
    assert response.json()["scopes"] == ["credits:read"]


# --- authentication ------------------------------------------------------------------


def test_an_api_key_authenticates_as_its_owner_on_users_me(api: APIClient, api_key: Any) -> None:
    key, plaintext = api_key
    for path in (ME, "/api/v1/auth/me"):
        response = with_key(api, "get", path, plaintext)
        assert response.status_code == 200, response.content
        assert response.json()["email"] == "alice@example.com"
        assert response.json()["id"] == key.user_id


def test_the_hot_path_is_one_query(
    api: APIClient, make_api_key: Any, django_assert_num_queries: Any
) -> None:
    _, plaintext = make_api_key(scopes=["credits:read"])
    assert with_key(api, "get", BALANCE, plaintext).status_code == 200  # writes last_used_at
    with django_assert_num_queries(1):
        response = with_key(api, "get", BALANCE, plaintext)
    assert response.status_code == 200
    assert response.json()["currency"] == "credits"


def test_a_revoked_key_is_401_on_the_very_next_request(
    bearer_client: APIClient, api_key: Any
) -> None:
    key, plaintext = api_key
    client = APIClient()
    assert with_key(client, "get", ME, plaintext).status_code == 200
    assert bearer_client.delete(f"{KEYS}/{key.public_id}").status_code == 204
    response = with_key(client, "get", ME, plaintext)
    assert response.status_code == 401
    assert response.json()["error_code"] == "api_key_invalid"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert APIKey.objects.get(pk=key.pk).revoked_at is not None
    # A brand-new client (another connection) is refused as well.
    assert with_key(APIClient(), "get", ME, plaintext).status_code == 401


def test_a_key_can_revoke_itself(key_client: APIClient, api_key: Any) -> None:
    key, _ = api_key
    assert key_client.delete(f"{KEYS}/{key.public_id}").status_code == 204
    assert key_client.get(ME).status_code == 401


def test_an_expired_key_is_401(api: APIClient, make_api_key: Any) -> None:
    now = timezone.now()
    _, plaintext = make_api_key(expires_at=now + timedelta(hours=1))
    with frozen(now + timedelta(minutes=59)):
        assert with_key(api, "get", ME, plaintext).status_code == 200
    with frozen(now + timedelta(hours=1, seconds=1)):
        response = with_key(api, "get", ME, plaintext)
    assert response.status_code == 401
    assert response.json()["error_code"] == "api_key_invalid"


def test_a_key_whose_expiry_is_in_the_past_is_401(api: APIClient, api_key: Any) -> None:
    key, plaintext = api_key
    APIKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert with_key(api, "get", ME, plaintext).status_code == 401


def test_the_key_of_an_inactive_owner_is_401(api: APIClient, api_key: Any) -> None:
    key, plaintext = api_key
    assert with_key(api, "get", ME, plaintext).status_code == 200
    key.user.is_active = False
    key.user.save()
    response = with_key(api, "get", ME, plaintext)
    assert response.status_code == 401
    assert response.json()["error_code"] == "api_key_invalid"


def test_no_credentials_is_401_with_a_bearer_challenge(api: APIClient) -> None:
    # One Bearer challenge: a key is a Bearer credential too (tests/api/test_challenges.py).
    response = api.get(ME)
    assert response.status_code == 401
    assert response.json()["error_code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith('Bearer realm="api"')
    assert "error=" not in response["WWW-Authenticate"]


def test_a_key_in_the_query_string_is_refused(api: APIClient, api_key: Any) -> None:
    _, plaintext = api_key
    response = api.get(ME, {"api_key": plaintext, "X-API-Key": plaintext})
    assert response.status_code == 400
    assert response.json()["error_code"] == "credentials_in_query"


# --- malformed values (F23) -------------------------------------------------------


def _malformed(plaintext: str) -> dict[str, str]:
    body = plaintext[3:]
    secret_start = 3 + keys.API_KEY_ID_LENGTH + 1
    flipped = "A" if plaintext[secret_start + 5] != "A" else "B"
    typo = plaintext[: secret_start + 5] + flipped + plaintext[secret_start + 6:]
    bad_checksum = plaintext[:-1] + ("x" if plaintext[-1] != "x" else "y")
    return {
        "empty": "",
        "no prefix": body,
        "upper-case prefix": "AK_" + body,
        "bearer-style prefix": "Bearer " + plaintext,
        "extra segment": plaintext + "_extra",
        "doubled separator": plaintext.replace("_", "__", 1),
        "segment split": plaintext[:20] + "_" + plaintext[20:-1],
        "confusable character": plaintext[:10] + "\u0430" + plaintext[11:],
        "leading space": " " + plaintext,
        "trailing space": plaintext + " ",
        "trailing tab": plaintext[:-1] + "\t",
        "truncated": plaintext[:-1],
        "typo in the secret": typo,
        "bad checksum": bad_checksum,
        "64 KB": "ak_" + "A" * 65536,
        "NUL byte": plaintext[:30] + "\x00" + plaintext[31:],
        "percent-encoded NUL": plaintext[:-3] + "%00",
        "newline": plaintext[:-1] + "\n",
        "two keys": f"{plaintext},{plaintext}",
    }


def test_malformed_keys_are_401_with_one_body_and_no_query(
    api: APIClient, api_key: Any, django_assert_num_queries: Any
) -> None:
    _, plaintext = api_key
    unknown = keys.api_key_plaintext("Z" * 12, "q" * 32)
    reference = with_key(api, "get", ME, unknown)
    assert reference.status_code == 401
    for label, value in _malformed(plaintext).items():
        with django_assert_num_queries(0):
            response = with_key(api, "get", ME, value)
        assert response.status_code == 401, label
        assert response.json() == reference.json(), label
        assert response["WWW-Authenticate"] == reference["WWW-Authenticate"], label


def test_well_formed_wrong_keys_get_the_same_401_after_one_query(
    api: APIClient, api_key: Any, make_api_key: Any, django_assert_num_queries: Any
) -> None:
    key, plaintext = api_key
    public_id, secret = keys.parse_api_key(plaintext)
    other, other_plaintext = make_api_key(name="other")
    other_id, other_secret = keys.parse_api_key(other_plaintext)
    revoked, revoked_plaintext = make_api_key(name="revoked")
    APIKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    candidates = {
        "right id, wrong secret": keys.api_key_plaintext(public_id, other_secret),
        "right secret, wrong id": keys.api_key_plaintext(other_id, secret),
        "unknown id": keys.api_key_plaintext("0" * 12, secret),
        "revoked": revoked_plaintext,
    }
    bodies = []
    for label, value in candidates.items():
        with django_assert_num_queries(1):
            response = with_key(api, "get", ME, value)
        assert response.status_code == 401, label
        bodies.append(response.json())
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["error_code"] == "api_key_invalid"


# --- both headers --------------------------------------------------------------------


def test_with_both_headers_the_api_key_decides(
    tokens: dict[str, Any], make_user: Any, make_api_key: Any
) -> None:
    bob = make_user("bob@example.com", name="Bob")
    _, bob_key = make_api_key(bob)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
                       HTTP_X_API_KEY=bob_key)
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["email"] == "bob@example.com"


def test_an_invalid_key_next_to_a_valid_token_is_401(tokens: dict[str, Any]) -> None:
    client = APIClient()
    bad = keys.api_key_plaintext("0" * 12, "0" * 32)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", HTTP_X_API_KEY=bad)
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["error_code"] == "api_key_invalid"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
                       HTTP_X_API_KEY="garbage")
    assert client.get(ME).status_code == 401


# --- scopes --------------------------------------------------------------------------


def test_credits_balance_needs_the_credits_read_scope(
    api: APIClient, make_api_key: Any, bearer_client: APIClient
) -> None:
    _, reader = make_api_key(name="reader", scopes=["credits:read"])
    _, other = make_api_key(name="other", scopes=["profile:write"])
    _, everything = make_api_key(name="all", scopes=["*"])

    response = with_key(api, "get", BALANCE, reader)
    assert response.status_code == 200
    assert response.json() == {"balance": 0, "currency": "credits",
                               "user_id": response.json()["user_id"]}

    response = with_key(api, "get", BALANCE, other)
    assert response.status_code == 403
    assert response.json()["error_code"] == "insufficient_scope"
    assert response["WWW-Authenticate"].startswith(
        'Bearer error="insufficient_scope", scope="credits:read"')

    assert with_key(api, "get", BALANCE, everything).status_code == 200
    # JWT sessions are not scope-limited.
    assert bearer_client.get(BALANCE).status_code == 200
    response = api.get(BALANCE)
    assert response.status_code == 401 and "WWW-Authenticate" in response


def test_any_key_reads_users_me_but_patching_needs_profile_write(
    api: APIClient, make_api_key: Any
) -> None:
    _, bare = make_api_key(name="bare", scopes=[])
    _, writer = make_api_key(name="writer", scopes=["profile:write"])
    assert with_key(api, "get", ME, bare).status_code == 200
    response = with_key(api, "patch", ME, bare, data={"name": "Mallory"})
    assert response.status_code == 403
    assert response.json()["error_code"] == "insufficient_scope"
    response = with_key(api, "patch", ME, writer, data={"name": "Alicia"})
    assert response.status_code == 200
    assert response.json()["name"] == "Alicia"


def test_managing_keys_with_a_key_needs_keys_write(
    api: APIClient, make_api_key: Any
) -> None:
    target, _ = make_api_key(name="target", scopes=["credits:read"])
    _, reader = make_api_key(name="reader", scopes=["credits:read"])
    detail = f"{KEYS}/{target.public_id}"
    for method, path, data in [
        ("get", KEYS, None), ("post", KEYS, {"name": "x", "scopes": []}),
        ("get", detail, None), ("patch", detail, {"name": "y"}), ("delete", detail, None),
        ("post", f"{detail}/rotate", None),
    ]:
        response = with_key(api, method, path, reader, data=data)
        assert response.status_code == 403, (method, path)
        assert response.json()["error_code"] == "insufficient_scope"
    target.refresh_from_db()
    assert target.revoked_at is None and target.name == "target"


def test_session_endpoints_refuse_api_keys(key_client: APIClient) -> None:
    assert key_client.post("/api/v1/auth/logout").status_code == 403
    assert key_client.get("/api/v1/auth/sessions").status_code == 403


def test_views_without_a_scope_declaration_refuse_api_keys(
    tokens: dict[str, Any], api_key: Any
) -> None:
    from rest_framework.response import Response

    from ainative_auth.api.views.base import AuthenticatedAPIView

    class Undeclared(AuthenticatedAPIView):
        def get(self, request: Any) -> Response:
            return Response({"ok": True})

    factory = APIRequestFactory()
    view = Undeclared.as_view()
    response = view(factory.get("/x", HTTP_X_API_KEY=api_key[1]))
    assert response.status_code == 403
    assert response.data["error_code"] == "insufficient_scope"
    response = view(factory.get("/x", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"))
    assert response.status_code == 200


# --- escalation ----------------------------------------------------------------------


def test_a_key_cannot_create_a_key_with_more_scopes_than_it_has(
    api: APIClient, make_api_key: Any, verify: Any
) -> None:
    _, manager = make_api_key(name="manager", scopes=["keys:write", "credits:read"])
    verify()
    response = with_key(api, "post", KEYS, manager,
                        data={"name": "narrow", "scopes": ["credits:read"]})
    assert response.status_code == 201, response.content
    for scopes in (["*"], ["profile:write"], ["credits:read", "billing:write"], None):
        data: dict[str, Any] = {"name": "wide"}
        if scopes is not None:
            data["scopes"] = scopes  # None: the default scopes, "*"
        response = with_key(api, "post", KEYS, manager, data=data)
        assert response.status_code == 403, scopes
        assert response.json()["error_code"] == "insufficient_scope"
    assert APIKey.objects.filter(name="wide").count() == 0


def test_a_key_cannot_rescope_or_rotate_beyond_its_scopes(
    api: APIClient, make_api_key: Any
) -> None:
    _, manager = make_api_key(name="manager", scopes=["keys:write", "credits:read"])
    mine, _ = make_api_key(name="mine", scopes=["credits:read"])
    wide, wide_plaintext = make_api_key(name="wide", scopes=["*"])

    response = with_key(api, "patch", f"{KEYS}/{mine.public_id}", manager,
                        data={"scopes": ["credits:read", "profile:write"]})
    assert response.status_code == 403
    assert response.json()["error_code"] == "insufficient_scope"
    # Rotating a wider key would hand over its power: refused, and its secret still works.
    response = with_key(api, "post", f"{KEYS}/{wide.public_id}/rotate", manager)
    assert response.status_code == 403
    assert with_key(api, "get", ME, wide_plaintext).status_code == 200
    # Narrowing a key it covers is fine.
    response = with_key(api, "patch", f"{KEYS}/{mine.public_id}", manager,
                        data={"scopes": []})
    assert response.status_code == 200 and response.json()["scopes"] == []


def test_a_key_cannot_create_a_key_that_outlives_it(
    api: APIClient, make_api_key: Any, verify: Any
) -> None:
    expiry = timezone.now() + timedelta(days=1)
    _, manager = make_api_key(name="manager", scopes=["*"], expires_at=expiry)
    verify()
    response = with_key(api, "post", KEYS, manager, data={"name": "child", "scopes": []})
    assert response.status_code == 201
    child = APIKey.objects.get(public_id=response.json()["id"])
    assert child.expires_at == expiry
    later = (expiry + timedelta(days=1)).isoformat()
    response = with_key(api, "post", KEYS, manager,
                        data={"name": "child", "scopes": [], "expires_at": later})
    assert response.status_code == 403
    assert response.json()["error_code"] == "api_key_lifetime_exceeded"


def test_a_jwt_session_creates_keys_with_any_scopes(
    bearer_client: APIClient, verify: Any
) -> None:
    verify()
    response = bearer_client.post(KEYS, {"name": "all", "scopes": ["*", "keys:write"]},
                                  format="json")
    assert response.status_code == 201
    assert response.json()["scopes"] == ["*", "keys:write"]


# --- REST management -----------------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "role": "admin"}, "role"),
    ({"name": "x", "scopes": ["Credits:Read"]}, "scopes"),
    ({"name": "x", "scopes": ["a b"]}, "scopes"),
    ({"name": "x", "scopes": "credits:read"}, "scopes"),
    ({"name": "x", "scopes": [1]}, "scopes"),
    ({"name": "x", "scopes": ["s" * 65]}, "scopes"),
    ({"name": "x", "scopes": [f"s{i}" for i in range(33)]}, "scopes"),
    ({"name": "x", "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
    ({"name": "x", "expires_at": 1893456000}, "expires_at"),
    ({"name": "x", "expires_at": "tomorrow"}, "expires_at"),
    ({"scopes": []}, "name"),
    ({"name": ""}, "name"),
    ({"name": 42}, "name"),
    ({"name": "n" * 101}, "name"),
])
def test_bad_create_bodies_are_400(bearer_client: APIClient, body: dict, field: str) -> None:
    response = bearer_client.post(KEYS, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == field
    assert APIKey.objects.count() == 0


def test_create_with_an_expiry_and_read_it_back(bearer_client: APIClient, verify: Any) -> None:
    verify()
    expires = (timezone.now() + timedelta(days=90)).replace(microsecond=0)
    response = bearer_client.post(
        KEYS, {"name": "ci", "scopes": ["credits:read", "credits:read"],
               "expires_at": expires.isoformat()}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["scopes"] == ["credits:read"]  # duplicates dropped
    detail = bearer_client.get(f"{KEYS}/{body['id']}").json()
    assert detail["expires_at"] == body["expires_at"]
    assert APIKey.objects.get(public_id=body["id"]).expires_at == expires


def test_unknown_and_other_users_keys_are_404(
    bearer_client: APIClient, make_user: Any, make_api_key: Any
) -> None:
    bob = make_user("bob@example.com", name="Bob")
    bobs_key, bobs_plaintext = make_api_key(bob)
    for key_id in (bobs_key.public_id, "0" * 12, "not-an-id", "x" * 500):
        for method, suffix in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/rotate")):
            response = getattr(bearer_client, method)(f"{KEYS}/{key_id}{suffix}",
                                                      {"name": "mine"}, format="json")
            assert response.status_code == 404, (key_id, method)
            assert response.json()["error_code"] == "not_found"
    assert with_key(APIClient(), "get", ME, bobs_plaintext).json()["email"] == "bob@example.com"


def test_patch_renames_and_rescopes_without_touching_the_secret(
    bearer_client: APIClient, api_key: Any
) -> None:
    key, plaintext = api_key
    response = bearer_client.patch(f"{KEYS}/{key.public_id}",
                                   {"name": "renamed", "scopes": ["credits:read"]},
                                   format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "renamed"
    assert response.json()["scopes"] == ["credits:read"]
    assert "key" not in response.json()
    client = APIClient()
    assert with_key(client, "get", BALANCE, plaintext).status_code == 200
    response = bearer_client.patch(f"{KEYS}/{key.public_id}", {"secret_hash": "0" * 64},
                                   format="json")
    assert response.status_code == 400
    response = bearer_client.patch(f"{KEYS}/{key.public_id}", {"expires_at": None},
                                   format="json")
    assert response.status_code == 400


def test_revoked_keys_are_listed_as_revoked_and_cannot_be_changed(
    bearer_client: APIClient, api_key: Any
) -> None:
    key, _ = api_key
    path = f"{KEYS}/{key.public_id}"
    assert bearer_client.delete(path).status_code == 204
    assert bearer_client.delete(path).status_code == 204  # idempotent
    assert bearer_client.get(KEYS).json()[0]["state"] == "revoked"
    response = bearer_client.patch(path, {"scopes": ["*"]}, format="json")
    assert response.status_code == 409
    assert response.json()["error_code"] == "api_key_revoked"
    response = bearer_client.post(f"{path}/rotate")
    assert response.status_code == 409
    assert response.json()["error_code"] == "api_key_revoked"


# --- last_used_at ------------------------------------------------------------------


def test_last_used_is_written_at_most_once_per_interval(
    api: APIClient, make_api_key: Any, django_assert_num_queries: Any,
    auth_settings: Any,
) -> None:
    auth_settings(API_KEY_LAST_USED_INTERVAL=60)
    key, plaintext = make_api_key(scopes=["credits:read"])
    start = timezone.now()
    with frozen(start), django_assert_num_queries(2):  # SELECT + the one UPDATE
        response = with_key(api, "get", BALANCE, plaintext, REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == start and key.last_used_ip == "203.0.113.7"
    for offset in (1, 30, 59):
        with frozen(start + timedelta(seconds=offset)), django_assert_num_queries(1):
            assert with_key(api, "get", BALANCE, plaintext).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == start
    later = start + timedelta(seconds=61)
    with frozen(later), django_assert_num_queries(2):
        assert with_key(api, "get", BALANCE, plaintext).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == later


def test_last_used_update_is_conditional_so_a_stale_copy_writes_nothing(
    api: APIClient, make_api_key: Any
) -> None:
    key, plaintext = make_api_key()
    now = timezone.now()
    APIKey.objects.filter(pk=key.pk).update(last_used_at=now)
    # A request that loaded the row just before another one wrote it must not write again.
    from ainative_auth import authentication

    stale = APIKey.objects.get(pk=key.pk)
    stale.last_used_at = now - timedelta(hours=1)
    request = APIRequestFactory().get("/", REMOTE_ADDR="198.51.100.1")
    authentication._touch(request, stale, now + timedelta(seconds=1))
    key.refresh_from_db()
    assert key.last_used_at == now and key.last_used_ip is None


# --- throttling ----------------------------------------------------------------------


def test_per_key_throttle_gives_429_with_retry_after(
    api: APIClient, make_api_key: Any, auth_settings: Any,
) -> None:
    auth_settings.rates(api_key="3/minute")
    _, first = make_api_key(name="first")
    _, second = make_api_key(name="second")
    for _ in range(3):
        assert with_key(api, "get", ME, first).status_code == 200
    response = with_key(api, "get", ME, first)
    assert response.status_code == 429
    assert response.json()["error_code"] == "throttled"
    assert re.fullmatch(r"[1-9][0-9]*", response["Retry-After"])
    assert int(response["Retry-After"]) <= 61
    # The limit is per key: another key of the same user is not affected.
    assert with_key(api, "get", ME, second).status_code == 200


def test_a_key_can_have_its_own_rate(api: APIClient, make_api_key: Any) -> None:
    _, slow = make_api_key(name="slow", throttle_rate="1/minute")
    assert with_key(api, "get", ME, slow).status_code == 200
    assert with_key(api, "get", ME, slow).status_code == 429


def test_wrong_secrets_do_not_use_up_the_key_budget(
    api: APIClient, make_api_key: Any, clock: Any,
    auth_settings: Any,
) -> None:
    auth_settings.rates(api_key="2/minute")
    _, plaintext = make_api_key()
    public_id, _ = keys.parse_api_key(plaintext)
    forged = keys.api_key_plaintext(public_id, "f" * 32)
    statuses = [with_key(api, "get", ME, forged, REMOTE_ADDR="10.9.9.9").status_code
                for _ in range(5)]
    # The guesser's own IP runs out of failures (R29); the key's budget is untouched.
    assert statuses == [401, 401, 429, 429, 429]
    assert with_key(api, "get", ME, plaintext, REMOTE_ADDR="10.1.1.1").status_code == 200
    assert with_key(api, "get", ME, plaintext, REMOTE_ADDR="10.1.1.1").status_code == 200


def test_failed_api_keys_are_throttled_per_ip_with_a_retry_after(
    api: APIClient, django_assert_num_queries: Any, clock: Any,
    auth_settings: Any,
) -> None:
    auth_settings.rates(api_key="3/minute")
    statuses = []
    for n in range(5):
        with django_assert_num_queries(0):  # malformed: refused before any query
            response = with_key(api, "get", ME, f"ak_garbage{n}", REMOTE_ADDR="10.8.8.8")
        statuses.append(response.status_code)

    assert statuses == [401, 401, 401, 429, 429]
    assert response["Retry-After"].isdigit()
    assert response.json()["error_code"] == "throttled"
    assert with_key(api, "get", ME, "ak_garbage", REMOTE_ADDR="10.8.8.9").status_code == 401


# --- rotation ------------------------------------------------------------------------


def test_rotation_without_overlap_kills_the_old_secret_at_once(
    bearer_client: APIClient, api_key: Any
) -> None:
    key, old = api_key
    response = bearer_client.post(f"{KEYS}/{key.public_id}/rotate")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "name", "key", "signing_secret", "prefix", "scopes",
                         "expires_at", "require_signature", "created_at"}
    assert body["id"] == key.public_id and body["name"] == key.name
    assert body["scopes"] == key.scopes
    new = body["key"]
    assert new != old and new.startswith(f"ak_{key.public_id}_")
    client = APIClient()
    assert with_key(client, "get", ME, new).status_code == 200
    assert with_key(client, "get", ME, old).status_code == 401


def test_rotation_overlap_keeps_the_old_secret_for_the_configured_time(
    bearer_client: APIClient, api_key: Any, auth_settings: Any,
) -> None:
    auth_settings(API_KEY_ROTATION_OVERLAP=300)
    key, old = api_key
    rotated_at = timezone.now()
    with frozen(rotated_at):
        new = bearer_client.post(f"{KEYS}/{key.public_id}/rotate").json()["key"]
    client = APIClient()
    with frozen(rotated_at + timedelta(seconds=299)):
        assert with_key(client, "get", ME, old).status_code == 200
        assert with_key(client, "get", ME, new).status_code == 200
    with frozen(rotated_at + timedelta(seconds=301)):
        assert with_key(client, "get", ME, old).status_code == 401
        assert with_key(client, "get", ME, new).status_code == 200
    # A second rotation retires the first secret for good and keeps only the last one.
    with frozen(rotated_at + timedelta(seconds=10)):
        newest = bearer_client.post(f"{KEYS}/{key.public_id}/rotate").json()["key"]
        assert with_key(client, "get", ME, old).status_code == 401
        assert with_key(client, "get", ME, new).status_code == 200
        assert with_key(client, "get", ME, newest).status_code == 200


def test_an_expired_key_cannot_be_rotated(bearer_client: APIClient, api_key: Any) -> None:
    key, _ = api_key
    APIKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer_client.post(f"{KEYS}/{key.public_id}/rotate")
    assert response.status_code == 409
    assert response.json()["error_code"] == "api_key_expired"


# --- per-user limit ------------------------------------------------------------------


def test_the_per_user_limit_counts_live_keys_only(
    bearer_client: APIClient, make_user: Any, make_api_key: Any,
    auth_settings: Any, verify: Any,
) -> None:
    verify()
    auth_settings(API_KEY_MAX_PER_USER=2)
    ids = []
    for name in ("one", "two"):
        response = bearer_client.post(KEYS, {"name": name}, format="json")
        assert response.status_code == 201
        ids.append(response.json()["id"])
    response = bearer_client.post(KEYS, {"name": "three"}, format="json")
    assert response.status_code == 409
    assert response.json()["error_code"] == "api_key_limit_reached"
    # Other users have their own budget.
    make_api_key(make_user("bob@example.com", name="Bob"))
    # Revoked and expired keys do not count.
    assert bearer_client.delete(f"{KEYS}/{ids[0]}").status_code == 204
    assert bearer_client.post(KEYS, {"name": "three"}, format="json").status_code == 201
    APIKey.objects.filter(public_id=ids[1]).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer_client.post(KEYS, {"name": "four"}, format="json").status_code == 201
    assert bearer_client.post(KEYS, {"name": "five"}, format="json").status_code == 409


def test_the_compiled_key_lookup_returns_what_the_orm_returns(
    make_api_key, django_assert_num_queries
):
    from django.contrib.auth import get_user_model

    from ainative_auth.credentials.lookups import fetch_api_key
    from ainative_auth.models import APIKey

    key, _ = make_api_key(scopes=["credits:read", "keys:write"])
    APIKey.objects.filter(pk=key.pk).update(last_used_ip="10.1.2.3")

    with django_assert_num_queries(1):
        fetched = fetch_api_key(key.public_id)
    expected = APIKey.objects.select_related("user").get(pk=key.pk)

    assert fetched is not None
    for field in APIKey._meta.concrete_fields:
        assert getattr(fetched, field.attname) == getattr(expected, field.attname), field.name
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(fetched.user, field.attname) == getattr(expected.user, field.attname)
    assert fetched._state.db == expected._state.db and not fetched._state.adding
    assert fetch_api_key("0" * 12) is None
