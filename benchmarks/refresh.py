"""Refresh: ``POST api/auth/refresh`` against the floors, and ``issue_tokens`` alone.

Each request sends the refresh token the previous response handed out (the rotation's
steady state: the current generation is consumed by one conditional UPDATE). Queries and
transactions are counted per request (``harness.TransactionCounter``: an autocommit
statement or an outermost atomic block is one transaction).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
import timeit
from collections.abc import Iterator
from typing import Any

from benchmarks.harness import (
    FLOOR,
    Client,
    Contender,
    Row,
    TransactionCounter,
    json_body,
    measure_stage,
)

REFRESH_PATH = "/api/auth/refresh"


def refresh_contender(refresh_token: str) -> Contender:
    state = {"token": refresh_token}

    def feed(body: bytes) -> None:
        state["token"] = json.loads(body)["refresh_token"]

    return Contender("ours: POST auth/refresh (rotation)", REFRESH_PATH, credentials=1,
                     kind="ours", body=lambda: json_body({"refresh_token": state["token"]}),
                     feed=feed)


def _median_us(fn: Any, n: int) -> float:
    fn()
    samples = []
    perf = time.perf_counter_ns
    for _ in range(n):
        t0 = perf()
        fn()
        samples.append(perf() - t0)
    return statistics.median(samples) / 1000


@contextlib.contextmanager
def sqlite_wal() -> Iterator[None]:
    """The SQLite file in WAL mode with ``synchronous=NORMAL`` (what Django's docs suggest
    for production SQLite), then back to what it was."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA journal_mode = {mode}")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")


def _write_costs(session: Any, n: int) -> dict[str, float]:
    """The refresh's UPDATE alone: committed (autocommit, what refresh does) and rolled
    back (no flush to disk): the difference is what the commit costs."""
    from django.db import transaction

    from ainative_auth import clock
    from ainative_auth.models import RefreshSession

    def update() -> int:
        return RefreshSession.objects.filter(pk=session.pk).update(last_used_at=clock.now())

    def rolled_back() -> None:
        with contextlib.suppress(_Rollback), transaction.atomic():
            update()
            raise _Rollback

    return {"update_commit_us": _median_us(update, n),
            "update_rolled_back_us": _median_us(rolled_back, n)}


class _Rollback(Exception):
    pass


def run(client: Client, args: Any, user: Any) -> dict[str, Any]:
    from django.db import connection

    from ainative_auth.models import RefreshSession
    from ainative_auth.services.sessions import issue_tokens
    from benchmarks import ours

    session, tokens = ours.mint_session(user)
    rotation = refresh_contender(tokens["refresh_token"])
    contenders = [
        Contender(FLOOR, "/floor/", kind="floor"),
        Contender("floor POST (JSON body, the app's base view)", "/floor-post/", kind="info",
                  body=lambda: json_body({"refresh_token": tokens["refresh_token"]})),
        rotation,
    ]
    rows: dict[str, Row] = measure_stage(
        client, contenders, args, f"Refresh ({connection.vendor}, Django's defaults)",
        requests=args.refresh_requests, transactions=True)

    # What one refresh sends, statement by statement (steady state).
    counter = TransactionCounter()
    with counter.active():
        status, body = client.call(rotation.environ())
    if status != 200 or rotation.feed is None:
        raise SystemExit(f"refresh: got {status}: {body[:200]!r}")
    rotation.feed(body)
    statements = [s.split()[0] for s in counter.statements]

    fresh = RefreshSession.objects.select_related("user").get(pk=session.pk)
    queries_in_issue = TransactionCounter()
    with queries_in_issue.active():
        issue_tokens(fresh.user, fresh)
    issue_us = _median_us(lambda: issue_tokens(fresh.user, fresh), args.refresh_requests)
    # The pieces of refresh() that are not issuing tokens, for the README's breakdown.
    orm_select_us = min(timeit.repeat(
        lambda: RefreshSession.objects.select_related("user").filter(pk=session.pk).first(),
        number=100, repeat=15)) / 100 * 1e6
    n = min(500, args.refresh_requests)
    writes = {"default": _write_costs(session, n)}

    floor = rows[FLOOR]
    refresh_row = rows[rotation.name]
    budget = 2 * floor.median_us + issue_us
    result: dict[str, Any] = {
        "rows": [r.as_dict() for r in rows.values()],
        "statements": statements,
        "status": status,
        "transactions": counter.transactions,
        "writing_transactions": counter.writing,
        "issue_tokens_us": issue_us,
        "issue_tokens_queries": len(queries_in_issue.statements),
        "orm_select_us": orm_select_us,
        "writes": writes,
        "budget_us": budget,
        "refresh_us": refresh_row.median_us,
    }
    if connection.vendor == "sqlite":
        with sqlite_wal():
            wal_rows = measure_stage(
                client, [contenders[0], rotation], args,
                "Refresh, the same SQLite file in WAL mode with synchronous=NORMAL",
                requests=args.refresh_requests, transactions=True)
            writes["wal"] = _write_costs(session, n)
        wal = wal_rows[rotation.name]
        result["wal"] = {"rows": [r.as_dict() for r in wal_rows.values()],
                         "refresh_us": wal.median_us,
                         "budget_us": 2 * wal.floor_us + issue_us}
    print(f"  one refresh: {len(statements)} statements ({', '.join(statements)}), "
          f"{counter.transactions} transactions (autocommit), {counter.writing} of them writing")
    print(f"  issue_tokens() alone: {issue_us:.1f} µs median "
          f"({len(queries_in_issue.statements)} queries)")
    print(f"  refresh's session SELECT, an ORM queryset (select_related + first()): "
          f"{orm_select_us:.1f} µs")
    for mode, w in writes.items():
        print(f"  its UPDATE ({mode}): {w['update_commit_us']:.1f} µs committed, "
              f"{w['update_rolled_back_us']:.1f} µs rolled back (no flush)")
    print(f"  budget 2 x floor + issue_tokens = 2 x {floor.median_us:.1f} + {issue_us:.1f} = "
          f"{budget:.1f} µs; refresh median {refresh_row.median_us:.1f} µs")
    if "wal" in result:
        w = result["wal"]
        print(f"  in WAL mode: budget {w['budget_us']:.1f} µs; refresh median "
              f"{w['refresh_us']:.1f} µs")
    return result
