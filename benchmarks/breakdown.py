"""Where ours' per-request time goes: its pieces timed one by one, outside the handler.

The SQL is the statement ours really sent (captured with ``connection.execute_wrapper``
during one real request), replayed through a plain cursor: the gap between that and the
ORM call is the ORM's own cost (building the queryset, compiling SQL, making instances).
Each piece is best-of-5 timing loops, so the numbers are lower bounds on a warm CPU;
the handler-level table remains the reference.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any


def _best_us(fn: Callable[[], Any], number: int) -> float:
    fn()
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def capture_statements(call: Callable[[], Any]) -> list[tuple[str, Any]]:
    from django.db import connection

    statements: list[tuple[str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        call()
    return statements


def run(client: Any, contender: Any, number: int = 1000) -> None:
    from django.db import connection
    from django.test import RequestFactory
    from rest_framework.request import Request

    from benchmarks import ours

    auth_class = ours.authentication_class()
    plaintext = contender.headers[ours.HEADER]
    env = contender.environ()
    rows: list[tuple[str, float | None]] = []

    def add(label: str, fn: Callable[[], Any], n: int = number) -> float | None:
        try:
            value = _best_us(fn, n)
        except Exception as exc:  # noqa: BLE001 - a piece that moved must not stop the bench
            print(f"  (could not time {label!r}: {type(exc).__name__}: {exc})")
            value = None
        rows.append((label, value))
        return value

    with contender.context():
        django_request = RequestFactory().get(contender.path, **contender.headers)
        add(f"{auth_class.__name__}().authenticate(request)",
            lambda: auth_class().authenticate(Request(django_request)))

        statements = capture_statements(lambda: client.call(env))
        selects = [(sql, params) for sql, params in statements
                   if sql.lstrip().upper().startswith("SELECT")]
        if selects:
            sql, params = selects[0]

            def replay() -> Any:
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.fetchall()

            add("  its SELECT replayed on a Django cursor (DB + driver)", replay)

        try:
            from ainative_auth import keys, throttling

            public_id, secret = keys.parse_api_key(plaintext)
            from ainative_auth.models import APIKey

            stored = [APIKey.objects.get(public_id=public_id).secret_hash]
            add("  keys.parse_api_key (format + checksum)", lambda: keys.parse_api_key(plaintext))
            add("  keys.api_key_secret_matches (HMAC-SHA256, constant time)",
                lambda: keys.api_key_secret_matches(public_id, secret, stored))
            rate = throttling.rate_for("api_key")
            if rate is not None:
                add("  throttling.hit('api_key') (cache add + incr)",
                    lambda: throttling.hit("api_key", "key", "breakdown-" + public_id, rate))
        except Exception as exc:  # noqa: BLE001
            print(f"  (helpers not timed: {type(exc).__name__}: {exc})")

    print("\nBreakdown of ours (best of 5 loops; µs per call)")
    for label, value in rows:
        print(f"  {label:<66} {'n/a' if value is None else f'{value:8.1f}'}")
    values = dict(rows)
    total = values.get(f"{auth_class.__name__}().authenticate(request)")
    parts = [v for label, v in rows if label.startswith("  ") and v is not None]
    if total is not None and parts:
        print(f"  {'  => rest of authenticate(): ORM queryset/compiler/instances, misc':<66} "
              f"{total - sum(parts):8.1f}")
