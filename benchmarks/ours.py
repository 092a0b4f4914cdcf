"""Everything the benchmark knows about ainative_auth's API keys, in one place.

Until ``ainative_auth.authentication.APIKeyAuthentication`` and ``models.APIKey`` exist,
``available()`` is False and the benchmark runs the floor and the peers only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

HEADER = "HTTP_X_API_KEY"  # `X-API-Key`
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def authentication_class() -> type | None:
    try:
        from ainative_auth.authentication import APIKeyAuthentication
    except ImportError:
        return None
    return APIKeyAuthentication


def available() -> bool:
    if authentication_class() is None:
        return False
    try:
        from ainative_auth.keys import hash_api_key_secret, new_api_key  # noqa: F401
        from ainative_auth.models import APIKey  # noqa: F401
    except ImportError:
        return False
    return True


def _service() -> Any:
    try:
        from ainative_auth.services import api_keys
    except ImportError:
        return None
    return api_keys


def mint_key(user: Any) -> tuple[Any, str]:
    """A live key with every scope: (APIKey, plaintext), through the app's own code."""
    issued = mint_issued(user)
    return issued.key, issued.plaintext


def mint_issued(user: Any) -> Any:
    """A live key with every scope as the service issues it (``IssuedKey``: ``key``,
    ``plaintext``, ``signing_secret``)."""
    from ainative_auth.services import api_keys

    return api_keys.create_key(user, name="bench", scopes=["*"])


def v1_headers(plaintext: str, signing_secret: str) -> dict[str, str]:
    """The SDK's v1 signature for now, as WSGI environ keys (made per request, untimed)."""
    timestamp = str(int(time.time()))
    mac = hmac.new(signing_secret.encode(), f"{plaintext}{timestamp}".encode(), hashlib.sha256)
    return {HEADER: plaintext, "HTTP_X_TIMESTAMP": timestamp,
            "HTTP_X_SIGNATURE": base64.b64encode(mac.digest()).decode()}


class _Message:
    def __init__(self, method: str, url: str) -> None:
        self.method, self.url, self.headers = method, url, {}


def v2_signer(prefix: str, signing_secret: str) -> Callable[[str], dict[str, str]]:
    """``sign(url)``: RFC 9421 hmac-sha256 headers (a fresh nonce each time) for a GET."""
    from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys={},
                                        private_keys={prefix: signing_secret.encode()}),
    )

    def sign(url: str) -> dict[str, str]:
        message = _Message("GET", url)
        signer.sign(message, key_id=prefix, nonce=secrets.token_urlsafe(16),
                    covered_component_ids=("@method", "@target-uri"))
        return {"HTTP_" + name.upper().replace("-", "_"): value
                for name, value in message.headers.items()}

    return sign


def revoke(key: Any) -> None:
    from django.utils import timezone

    from ainative_auth.models import APIKey

    service = _service()
    revoke_fn = getattr(service, "revoke_key", None) or getattr(service, "revoke_api_key", None)
    if revoke_fn is not None:
        try:
            revoke_fn(key)
            return
        except TypeError:
            pass
    APIKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())


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


def bulk_insert(count: int, users: list[Any], batch_size: int = 50_000) -> None:
    """Insert ``count`` live keys spread over ``users``, as fast as the database allows.

    The row template comes from a real model instance (every field's default, prepared for
    this database), so fields the model gains later are filled too; only ``public_id``,
    ``user_id`` and ``secret_hash`` vary. Hashes are real HMACs of a per-row secret.
    SQLite: ``executemany``; PostgreSQL: ``COPY``.
    """
    from django.db import connection, transaction

    from ainative_auth.keys import hash_api_key_secret
    from ainative_auth.models import APIKey

    template = APIKey(public_id="x", user_id=users[0].pk, name="bulk", scopes=["*"],
                      secret_hash="x")
    fields = [f for f in APIKey._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    base = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in fields]
    i_public, i_user, i_hash = (columns.index(c) for c in ("public_id", "user_id", "secret_hash"))
    table = connection.ops.quote_name(APIKey._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)

    taken = set(APIKey.objects.values_list("public_id", flat=True))
    user_ids = [u.pk for u in users]
    secret = "s" * 32
    # Sorted: the unique index on public_id then grows at its right edge instead of taking
    # random page write per row (several times faster on SQLite; lookups do not care).
    ids = sorted(_public_ids(count, taken, seed=count))
    done = 0
    t0 = time.perf_counter()
    sqlite = connection.vendor == "sqlite"
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
                public_id = ids[j]
                row = list(base)
                row[i_public] = public_id
                row[i_user] = user_ids[j % len(user_ids)]
                row[i_hash] = hash_api_key_secret(public_id, secret)
                rows.append(row)
            with transaction.atomic(), connection.cursor() as cursor:
                if sqlite:
                    marks = ", ".join(["%s"] * len(columns))
                    cursor.executemany(
                        f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)
                else:
                    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                    with raw.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            done += n
            if done % 250_000 < batch_size or done == count:
                print(f"  ... {done:,} / {count:,} keys ({time.perf_counter() - t0:.1f} s)",
                      flush=True)
    finally:
        if sqlite:  # back to the defaults the measurement should run with
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
                cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")
