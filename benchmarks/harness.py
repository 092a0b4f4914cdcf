"""The in-process measuring kit: contenders, the WSGI client, interleaved rounds, counts.

Every request is a WSGI environ handed straight to ``WSGIHandler`` (no test client, no
sockets), so the latency covers exactly what Django does for a request behind a WSGI
server: the handler call, draining the body and ``close()`` (``request_finished``).
"""

from __future__ import annotations

import gc
import io
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

FLOOR = "floor (no auth)"


@dataclass
class Contender:
    """One row: a path, the headers that authenticate it, and what it is (for the table).

    ``next_headers`` (optional) gives each request its own headers, built outside the timed
    window: a fresh nonce for a signed request, a never-seen token for a cache-miss row.
    ``body`` + ``feed`` make a stateful POST row: ``body()`` is the next request's JSON body,
    ``feed(response body)`` is called after each (timed) request, e.g. to pick up the
    rotated refresh token.
    """

    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    credentials: int | None = None  # rows in its credential table, for the table only
    kind: str = "peer"  # floor | peer | ours | info
    # Settings overridden while this contender runs (e.g. the throttle switched off).
    settings: dict[str, Any] | None = None
    next_headers: Callable[[], dict[str, str]] | None = None
    body: Callable[[], bytes] | None = None
    feed: Callable[[bytes], None] | None = None

    @property
    def dynamic(self) -> bool:
        return self.next_headers is not None or self.body is not None

    def context(self) -> Any:
        from django.test.utils import override_settings

        return override_settings(**self.settings) if self.settings else nullcontext()

    def environ(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """The request's environ; for a dynamic contender, the next one in its sequence."""
        env: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": self.path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "HTTP_ACCEPT": "application/json",
            "HTTP_USER_AGENT": "ainative-bench/1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if headers is None:
            headers = self.next_headers() if self.next_headers is not None else self.headers
        env.update(headers)
        if self.body is not None:
            raw = self.body()
            env.update(REQUEST_METHOD="POST", CONTENT_TYPE="application/json",
                       CONTENT_LENGTH=str(len(raw)))
            env["bench.body"] = raw
        return env


class Client:
    """Calls the WSGI handler the way a WSGI server does: environ in, body drained, closed."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.status = ""

    def _start_response(self, status: str, headers: list, exc_info: Any = None) -> None:
        self.status = status

    def call(self, env: dict[str, Any]) -> tuple[int, bytes]:
        env = dict(env)
        env["wsgi.input"] = io.BytesIO(env.get("bench.body", b""))
        response = self.handler(env, self._start_response)
        try:
            body = b"".join(response)
        finally:
            response.close()
        return int(self.status[:3]), body

    def timed(self, next_env: Callable[[], dict[str, Any]], n: int, out: list[int] | None,
              feed: Callable[[bytes], None] | None = None) -> int:
        """n requests, each with the environ ``next_env()`` builds before the clock starts;
        appends each latency (ns) to ``out``, hands each 200's body to ``feed`` after the
        clock stops; returns how many were not 200."""
        handler, start_response, perf = self.handler, self._start_response, time.perf_counter_ns
        bad = 0
        for _ in range(n):
            e = next_env()
            e["wsgi.input"] = io.BytesIO(e.get("bench.body", b""))
            t0 = perf()
            response = handler(e, start_response)
            body = b"".join(response)
            response.close()
            t1 = perf()
            if out is not None:
                out.append(t1 - t0)
            if self.status[:3] != "200":
                bad += 1
            elif feed is not None:
                feed(body)
        return bad

    def run(self, contender: Contender, n: int, out: list[int] | None,
            env: dict[str, Any] | None = None) -> int:
        if contender.dynamic:
            # A new environ per request (a fresh nonce, the next refresh token).
            return self.timed(contender.environ, n, out, contender.feed)
        fixed = env if env is not None else contender.environ()
        return self.timed(fixed.copy, n, out)


def warm_up(client: Client, contenders: list[Contender], n: int) -> None:
    for c in contenders:
        with c.context():
            bad = client.run(c, n, None)
        if bad:
            raise SystemExit(f"{c.name}: {bad}/{n} warm-up requests were not 200")


def run_interleaved(client: Client, contenders: list[Contender], warmup: int, requests: int,
                    round_size: int) -> dict[str, list[int]]:
    """Warm every contender up, then time them in rounds, rotating who goes first."""
    warm_up(client, contenders, warmup)
    samples: dict[str, list[int]] = {c.name: [] for c in contenders}
    envs = {c.name: c.environ() for c in contenders if not c.dynamic}
    rounds = max(1, -(-requests // round_size))
    gc.collect()
    for r in range(rounds):
        n = min(round_size, requests - r * round_size)
        order = contenders[r % len(contenders):] + contenders[: r % len(contenders)]
        for c in order:
            with c.context():
                bad = client.run(c, n, samples[c.name], envs.get(c.name))
            if bad:
                raise SystemExit(f"{c.name}: {bad} timed requests were not 200")
    return samples


# Statements that change nothing: reads and transaction control (SQLite's BEGIN, savepoints).
_READ_OR_CONTROL = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK")


class TransactionCounter:
    """Statements and transactions on the default connection while it is active.

    A transaction is either one statement run in autocommit mode, or one outermost atomic
    block (counted when it commits or rolls back). ``writing`` counts those that changed
    something (any statement other than a SELECT).
    """

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.transactions = 0
        self.writing = 0
        self._block_writes = False

    @contextmanager
    def active(self) -> Iterator[TransactionCounter]:
        from django.db import connection

        def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            verb = sql.lstrip()[:9].upper()
            write = not verb.startswith(_READ_OR_CONTROL)
            self.statements.append(sql)
            if connection.in_atomic_block:
                self._block_writes = self._block_writes or write
            else:
                self.transactions += 1
                self.writing += write
            return execute(sql, params, many, context)

        def ended(original: Callable[[], None]) -> Callable[[], None]:
            def end() -> None:
                self.transactions += 1
                self.writing += self._block_writes
                self._block_writes = False
                original()
            return end

        commit, rollback = connection.commit, connection.rollback
        connection.commit = ended(commit)  # type: ignore[method-assign]
        connection.rollback = ended(rollback)  # type: ignore[method-assign]
        try:
            with connection.execute_wrapper(wrapper):
                yield self
        finally:
            del connection.commit, connection.rollback  # back to the class's methods


@dataclass
class Counts:
    queries: float
    transactions: float
    writing: float


def counts_per_request(client: Client, contender: Contender, n: int = 50) -> Counts:
    """Steady-state statements and transactions per request (after the warm-up)."""
    counter = TransactionCounter()
    with contender.context(), counter.active():
        for _ in range(n):
            env = contender.environ()
            status, body = client.call(env)
            if status != 200:
                raise SystemExit(f"{contender.name}: got {status} while counting queries: "
                                 f"{body[:300]!r}")
            if contender.feed is not None:
                contender.feed(body)
    return Counts(len(counter.statements) / n, counter.transactions / n, counter.writing / n)


def driver_statements_per_request(client: Client, contender: Contender,
                                  n: int = 200) -> tuple[float, float]:
    """(statements, writing statements) per request as the SQLite driver itself runs them
    (``sqlite3.Connection.set_trace_callback``), with no Django ``execute_wrapper``
    installed: what the timed requests do, whichever cursor the code takes."""
    from django.db import connection

    with contender.context():
        for _ in range(20):  # the steady state: a key's first use writes last_used_at
            client.call(contender.environ())
    connection.ensure_connection()
    seen: list[str] = []
    connection.connection.set_trace_callback(seen.append)
    try:
        with contender.context():
            for _ in range(n):
                status, body = client.call(contender.environ())
                if status != 200:
                    raise SystemExit(f"{contender.name}: got {status} while tracing: "
                                     f"{body[:300]!r}")
    finally:
        connection.connection.set_trace_callback(None)
    writes = [sql for sql in seen if not sql.lstrip()[:9].upper().startswith(_READ_OR_CONTROL)]
    return len(seen) / n, len(writes) / n


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    name: str
    kind: str
    credentials: str
    median_us: float
    p90_us: float
    queries: float
    transactions: float
    floor_us: float

    @property
    def ratio(self) -> float:
        return self.median_us / self.floor_us

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "credentials": self.credentials,
                "median_us": round(self.median_us, 1), "p90_us": round(self.p90_us, 1),
                "queries": self.queries, "transactions": self.transactions,
                "x_floor": round(self.ratio, 3),
                "added_us": round(self.median_us - self.floor_us, 1)}


def summarize(samples: list[int]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) / 1000, s[int(0.9 * (len(s) - 1))] / 1000


def count_label(n: int | None) -> str:
    return "-" if n is None else f"{n:,}".replace(",", "_")


def print_table(title: str, rows: list[Row], transactions: bool = False) -> None:
    print(f"\n{title}")
    tx = f" {'tx':>5}" if transactions else ""
    head = (f"{'contender':<44} {'rows':>9} {'median µs':>10} {'p90 µs':>9} "
            f"{'queries':>7}{tx} {'x floor':>8} {'+µs':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        tx = f" {r.transactions:>5.2f}" if transactions else ""
        print(f"{r.name:<44} {r.credentials:>9} {r.median_us:>10.1f} {r.p90_us:>9.1f} "
              f"{r.queries:>7.2f}{tx} {r.ratio:>7.2f}x {r.median_us - r.floor_us:>7.1f}",
              flush=True)


def measure_stage(client: Client, contenders: list[Contender], args: Any, title: str,
                  requests: int | None = None, transactions: bool = False) -> dict[str, Row]:
    # Warm-up first, so that one-off work (ours writes last_used_at on a key's first use,
    # then at most once a minute) is not counted as the steady state.
    warm_up(client, contenders, args.warmup)
    counts = {c.name: counts_per_request(client, c, n=200) for c in contenders}
    samples = run_interleaved(client, contenders, args.warmup, requests or args.requests,
                              args.round_size)
    floor_median = summarize(samples[FLOOR])[0]
    rows = {}
    for c in contenders:
        median, p90 = summarize(samples[c.name])
        k = counts[c.name]
        rows[c.name] = Row(c.name, c.kind, count_label(c.credentials), median, p90,
                           k.queries, k.transactions, floor_median)
    print_table(title, list(rows.values()), transactions)
    return rows


def json_body(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
