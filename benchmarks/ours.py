"""Everything the benchmark knows about ainative_auth, in one place.

Credentials are made through the app's own services (``services.api_keys.create_key``,
``services.sessions.start_session`` + ``issue_tokens``); bulk rows for the scale stages
are written straight to the tables (``executemany`` on SQLite, ``COPY`` on PostgreSQL).

Signed API-key requests (v1 ``X-Signature``, v2 RFC 9421) are rows only when the app can
check them: ``signed_contenders`` returns nothing until
``ainative_auth.credentials.signatures`` exists and creating a key hands back a ``signing_secret``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from benchmarks.harness import Contender

KEY_HEADER = "HTTP_X_API_KEY"  # `X-API-Key`
KEY_PATH, JWT_PATH, OAUTH_PATH = "/ours-key/", "/ours-jwt/", "/ours-oauth/"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# --------------------------------------------------------------------------- API keys


@dataclass
class MintedKey:
    key: Any  # the APIKey row
    plaintext: str
    signing_secret: str | None = None  # once the signing branch has landed


def mint_key(user: Any) -> MintedKey:
    """A live key with every scope, through ``services.api_keys.create_key``."""
    from ainative_auth.services.api_keys import create_key

    result: Any = create_key(user, name="bench", scopes=["*"])
    # Today (APIKey, plaintext); with signing, a third item or an object with attributes.
    if isinstance(result, tuple):
        key, plaintext, *rest = result
        return MintedKey(key, plaintext, rest[0] if rest else None)
    return MintedKey(result.key, result.plaintext, getattr(result, "signing_secret", None))


def revoke_key(key: Any) -> None:
    from ainative_auth.services.api_keys import revoke_key as revoke

    revoke(key)


def count_keys() -> int:
    from ainative_auth.models import APIKey

    return APIKey.objects.count()


def _public_ids(count: int, taken: set[str], seed: int) -> Iterator[str]:
    """Random-looking, unique 12-character base62 ids (seeded: the same every run)."""
    rnd = random.Random(seed)
    made = 0
    while made < count:
        n = rnd.getrandbits(71)  # 2**71 < 62**12
        chars = []
        for _ in range(12):
            n, d = divmod(n, 62)
            chars.append(_BASE62[d])
        public_id = "".join(chars)
        if public_id in taken:
            continue
        taken.add(public_id)
        made += 1
        yield public_id


def bulk_insert_keys(count: int, users: list[Any]) -> None:
    """``count`` live keys spread over ``users``; real HMAC hashes of a per-row secret."""
    from ainative_auth.credentials.keys import hash_api_key_secret
    from ainative_auth.models import APIKey

    template = APIKey(public_id="x", user_id=users[0].pk, name="bulk", scopes=["*"],
                      secret_hash="x")
    taken = set(APIKey.objects.values_list("public_id", flat=True))
    # Sorted: the unique index on public_id then grows at its right edge instead of taking
    # a random page write per row (several times faster on SQLite; lookups do not care).
    ids = sorted(_public_ids(count, taken, seed=count))
    user_ids = [u.pk for u in users]
    secret = "s" * 32

    def row(i: int) -> dict[str, Any]:
        return {"public_id": ids[i], "user_id": user_ids[i % len(user_ids)],
                "secret_hash": hash_api_key_secret(ids[i], secret)}

    _bulk_copy(APIKey, template, count, row, "keys")


# --------------------------------------------------------------------------- OAuth tokens


def mint_oauth_token(user: Any) -> str:
    """An access token for the default resource, minted by the OAuth server's token
    endpoint (client_credentials of a machine client ``user`` owns): what a client holds."""
    import base64

    from allauth.idp.oidc.models import Client as OAuthClient
    from django.test import Client as TestClient

    client = OAuthClient(name="bench", type=OAuthClient.Type.CONFIDENTIAL, owner=user)
    client.set_secret("bench-secret")
    client.set_scopes(["profile"])
    client.set_grant_types(["client_credentials"])
    client.save()
    basic = base64.b64encode(f"{client.id}:bench-secret".encode()).decode()
    response = TestClient().post("/oauth/token", {"grant_type": "client_credentials"},
                                 HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


# --------------------------------------------------------------------------- JWT sessions


def mint_session(user: Any) -> tuple[Any, dict[str, Any]]:
    """A real login's session and token response: ``start_session`` + ``issue_tokens``."""
    from ainative_auth.services.sessions import issue_tokens, start_session

    session = start_session(user, ip_address="127.0.0.1", user_agent="ainative-bench/1")
    return session, issue_tokens(user, session)


def fresh_access_tokens(user: Any, session: Any, n: int) -> list[str]:
    """``n`` distinct access tokens of one session (each a new ``jti``): a row that sends
    a token this process has never verified, i.e. misses the verified-token cache."""
    from ainative_auth.credentials.tokens import encode_access_token

    return [encode_access_token(user, session.id)[0] for _ in range(n)]


def revoke_session(session: Any) -> None:
    from ainative_auth.services.sessions import revoke_session as revoke

    revoke(session, "logout")


def count_sessions() -> int:
    from ainative_auth.models import RefreshSession

    return RefreshSession.objects.count()


def bulk_insert_sessions(count: int, users: list[Any]) -> None:
    """``count`` live sessions spread over ``users`` (random UUID primary keys)."""
    from ainative_auth import clock
    from ainative_auth.models import RefreshSession

    now = clock.now()
    template = RefreshSession(
        user_id=users[0].pk, salt="s" * 32, created_at=now, last_used_at=now,
        expires_at=now + timedelta(days=7), absolute_expires_at=now + timedelta(days=30),
        ip_address="127.0.0.1", user_agent="ainative-bench/1", device="bench",
    )
    rnd = random.Random(count)
    # Sorted for the same reason as the keys' public ids.
    ids = sorted(uuid.UUID(int=rnd.getrandbits(128), version=4) for _ in range(count))
    user_ids = [u.pk for u in users]

    def row(i: int) -> dict[str, Any]:
        return {"id": ids[i], "user_id": user_ids[i % len(user_ids)]}

    _bulk_copy(RefreshSession, template, count, row, "sessions")


def _bulk_copy(model: Any, template: Any, count: int, vary: Callable[[int], dict[str, Any]],
               what: str, batch_size: int = 50_000) -> None:
    """Insert ``count`` rows of ``model`` as fast as the database allows.

    The row template comes from a real model instance (every field's default, prepared for
    this database), so fields the model gains later are filled too; only the columns
    ``vary(i)`` names change per row. SQLite: ``executemany``; PostgreSQL: ``COPY``.
    """
    from django.db import connection, transaction

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    pk = model._meta.pk
    first = vary(0)
    if pk.attname in first:
        fields = [pk, *fields]  # the primary key is made here (UUIDs), not by the database
    columns = [f.column for f in fields]
    attnames = [f.attname for f in fields]
    base = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in fields]
    varying = [(attnames.index(name), fields[attnames.index(name)]) for name in first]
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    sqlite = connection.vendor == "sqlite"
    done = 0
    t0 = time.perf_counter()
    if sqlite:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            cache_size = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            synchronous = cursor.fetchone()[0]
            cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB while loading
            cursor.execute("PRAGMA synchronous = OFF")
    try:
        while done < count:
            n = min(batch_size, count - done)
            rows = []
            for j in range(done, done + n):
                row = list(base)
                values = vary(j)
                for (index, f), value in zip(varying, values.values(), strict=True):
                    row[index] = f.get_db_prep_save(value, connection)
                rows.append(row)
            with transaction.atomic(), connection.cursor() as cursor:
                if sqlite:
                    marks = ", ".join(["%s"] * len(columns))
                    cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)
                else:
                    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                    with raw.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            done += n
            if done % 250_000 < batch_size or done == count:
                print(f"  ... {done:,} / {count:,} {what} ({time.perf_counter() - t0:.1f} s)",
                      flush=True)
    finally:
        if sqlite:  # back to the defaults the measurement should run with
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
                cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")


# --------------------------------------------------------------------------- signed keys


def signing_available() -> bool:
    return importlib.util.find_spec("ainative_auth.credentials.signatures") is not None


def v1_headers(plaintext: str, signing_secret: str) -> dict[str, str]:
    """DESIGN.md's v1: ``X-Signature = base64(HMAC-SHA256(secret, api_key + timestamp))``."""
    timestamp = str(int(time.time()))
    mac = hmac.new(signing_secret.encode(), (plaintext + timestamp).encode(), hashlib.sha256)
    return {KEY_HEADER: plaintext, "HTTP_X_TIMESTAMP": timestamp,
            "HTTP_X_SIGNATURE": base64.b64encode(mac.digest()).decode()}


def v2_headers(keyid: str, signing_secret: str, method: str = "GET", authority: str =
               "testserver", path: str = KEY_PATH) -> dict[str, str]:
    """RFC 9421 with ``hmac-sha256``: ``@method``, ``@authority``, ``@path`` covered, a
    fresh ``created`` and ``nonce`` (each nonce is accepted once), ``keyid`` the prefix."""
    params = (f'("@method" "@authority" "@path");created={int(time.time())};'
              f'nonce="{secrets.token_urlsafe(16)}";keyid="{keyid}";alg="hmac-sha256"')
    base = (f'"@method": {method}\n"@authority": {authority}\n"@path": {path}\n'
            f'"@signature-params": {params}')
    mac = hmac.new(signing_secret.encode(), base.encode(), hashlib.sha256).digest()
    return {"HTTP_SIGNATURE_INPUT": f"sig1={params}",
            "HTTP_SIGNATURE": f"sig1=:{base64.b64encode(mac).decode()}:"}


def signed_contenders(minted: MintedKey) -> tuple[list[Contender], str | None]:
    """The v1 and v2 rows for ``minted`` and None, or no rows and why they are left out.

    Each request gets fresh headers (timestamp, nonce), built before the clock starts.
    """
    if not signing_available():
        return [], "ainative_auth.credentials.signatures does not exist yet"
    secret = minted.signing_secret
    if not secret:
        return [], "creating a key returned no signing_secret"
    plaintext, keyid = minted.plaintext, minted.key.prefix
    return [
        Contender("ours: API key + v1 X-Signature", KEY_PATH, v1_headers(plaintext, secret),
                  credentials=1, kind="ours", next_headers=lambda: v1_headers(plaintext, secret)),
        Contender("ours: API key + v2 RFC 9421 (hmac)", KEY_PATH, v2_headers(keyid, secret),
                  credentials=1, kind="ours", next_headers=lambda: v2_headers(keyid, secret)),
    ], None
