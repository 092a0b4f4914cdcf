"""Per-request cost of API-key authentication, through the whole Django handler.

    .venv/bin/python benchmarks/run.py              # SQLite (a temporary file)
    .venv/bin/python benchmarks/run.py --postgres   # PostgreSQL (DATABASE_URL or localhost)

Every contender serves the same trivial DRF view behind the same middleware stack; only
the view's authentication/permission classes differ. Requests are WSGI environs handed
straight to ``WSGIHandler`` (no test client, no network), interleaved in rounds so that
machine drift hits every contender alike. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "ainative_bench"

# Targets (issue 3, item 6).
TARGET_RATIO = {"sqlite": 1.5, "postgresql": 2.0}  # ours / floor, median
TARGET_QUERIES = 1
TARGET_SCALE_RATIO = 1.2  # ours at the largest key count / ours with one key


# --------------------------------------------------------------------------- arguments


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--postgres", action="store_true",
                   help="run on PostgreSQL: DATABASE_URL if it is postgres://, else "
                        f"{DEFAULT_PG_URL}; a dedicated database {PG_BENCH_DB!r} is "
                        "created and dropped")
    p.add_argument("--pg-prepared", action="store_true",
                   help="PostgreSQL with OPTIONS server_side_binding=True, prepare_threshold=5 "
                        "(prepared statements; Django's default is client-side binding)")
    p.add_argument("--pg-database", default=PG_BENCH_DB,
                   help="name of the throw-away PostgreSQL database (default %(default)s)")
    p.add_argument("--requests", type=int, default=4000,
                   help="timed requests per contender and stage (default %(default)s)")
    p.add_argument("--warmup", type=int, default=200,
                   help="untimed requests per contender before each stage (default %(default)s)")
    p.add_argument("--round", type=int, default=100, dest="round_size",
                   help="requests per contender per interleaved round (default %(default)s)")
    p.add_argument("--scales", default="100000,1000000",
                   help="extra key counts to measure ours at, comma-separated "
                        "(default %(default)s; empty for none)")
    p.add_argument("--middleware", choices=["project", "minimal"], default="project",
                   help="project: startproject's stack + allauth's; minimal: Security, Common "
                        "+ allauth's (default %(default)s)")
    p.add_argument("--redis", nargs="?", const="redis://127.0.0.1:6379/15", default=None,
                   metavar="URL",
                   help="also measure ours with its throttle counter on Redis "
                        "(default URL %(const)s)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 500 requests, scales 10000")
    p.add_argument("--profile", action="store_true",
                   help="also cProfile 5000 requests of ours (and the floor) and print the top")
    p.add_argument("--no-breakdown", action="store_true",
                   help="skip timing the pieces of ours' hot path one by one")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    p.add_argument("--keep-db", action="store_true",
                   help="keep the SQLite file / PostgreSQL database afterwards")
    args = p.parse_args(argv)
    if args.quick:
        args.requests, args.warmup, args.scales = 500, 50, "10000"
    args.scales = [int(s.replace("_", "")) for s in args.scales.split(",") if s.strip()]
    return args


# --------------------------------------------------------------------------- database


@dataclass
class Database:
    vendor: str  # "sqlite" | "postgresql"
    cleanup: Callable[[], None]
    describe: str


def _pg_admin_connect(url: str) -> Any:
    """A connection for CREATE/DROP DATABASE: the maintenance db, else the URL's own."""
    import psycopg

    u = urlparse(url)
    common = {
        "host": u.hostname or "127.0.0.1", "port": u.port or 5432,
        "user": unquote(u.username or "postgres"), "password": unquote(u.password or ""),
        "autocommit": True, "connect_timeout": 5,
    }
    try:
        return psycopg.connect(dbname="postgres", **common)
    except psycopg.OperationalError:
        return psycopg.connect(dbname=(u.path or "/").lstrip("/") or "postgres", **common)


def setup_database(args: argparse.Namespace) -> Database:
    """Point benchmarks.settings at a fresh, dedicated database (env vars, before setup)."""
    if args.postgres or os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:")):
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres:", "postgresql:")):
            url = DEFAULT_PG_URL
        name = args.pg_database
        if name in ("test", "postgres", "template0", "template1"):
            raise SystemExit(f"refusing to use database {name!r} for the benchmark")
        u = urlparse(url)
        with _pg_admin_connect(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ.update(
            BENCH_DB_ENGINE="postgresql", BENCH_DB_NAME=name,
            BENCH_DB_HOST=u.hostname or "127.0.0.1", BENCH_DB_PORT=str(u.port or 5432),
            BENCH_DB_USER=unquote(u.username or "postgres"),
            BENCH_DB_PASSWORD=unquote(u.password or ""),
        )

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            if args.keep_db:
                print(f"(kept PostgreSQL database {name!r})")
                return
            with _pg_admin_connect(url) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        prepared = " (server-side binding, prepared statements)" if args.pg_prepared else ""
        return Database("postgresql", drop,
                        f"PostgreSQL {u.hostname}:{u.port or 5432}/{name}{prepared}")

    tmp = tempfile.mkdtemp(prefix="ainative-bench-")
    path = os.path.join(tmp, "bench.sqlite3")
    os.environ.update(BENCH_DB_ENGINE="sqlite", BENCH_DB_NAME=path)

    def remove() -> None:
        from django.db import connections

        connections.close_all()
        if args.keep_db:
            print(f"(kept SQLite file {path})")
            return
        shutil.rmtree(tmp, ignore_errors=True)

    return Database("sqlite", remove, f"SQLite file {path}")


# --------------------------------------------------------------------------- requests


@dataclass
class Contender:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    keys: int | None = None  # rows in its credential table, for the table only
    # Settings overridden while this contender runs (e.g. the throttle switched off).
    settings: dict[str, Any] | None = None
    # Headers made anew for every request, outside the timed part (signatures: a fresh
    # timestamp, a fresh nonce).
    refresh: Callable[[], dict[str, str]] | None = None

    def context(self) -> Any:
        from django.test.utils import override_settings

        return override_settings(**self.settings) if self.settings else nullcontext()

    def environ(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
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
        if headers is not None:
            env.update(headers)
            return env
        env.update(self.headers)
        if self.refresh is not None:
            env.update(self.refresh())
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
        env["wsgi.input"] = io.BytesIO(b"")
        response = self.handler(env, self._start_response)
        try:
            body = b"".join(response)
        finally:
            response.close()
        return int(self.status[:3]), body

    def timed(self, env: dict[str, Any], n: int, out: list[int] | None,
              refresh: Callable[[], dict[str, str]] | None = None) -> int:
        """n requests; appends each latency (ns) to ``out``; returns how many were not 200.
        ``refresh`` makes per-request headers before the clock starts."""
        handler, start_response, perf = self.handler, self._start_response, time.perf_counter_ns
        bad = 0
        for _ in range(n):
            e = dict(env)
            if refresh is not None:
                e.update(refresh())
            e["wsgi.input"] = io.BytesIO(b"")
            t0 = perf()
            response = handler(e, start_response)
            for _chunk in response:
                pass
            response.close()
            t1 = perf()
            if out is not None:
                out.append(t1 - t0)
            if self.status[:3] != "200":
                bad += 1
        return bad


def run_interleaved(client: Client, contenders: list[Contender], warmup: int, requests: int,
                    round_size: int) -> dict[str, list[int]]:
    """Warm every contender up, then time them in rounds, rotating who goes first."""
    for c in contenders:
        with c.context():
            bad = client.timed(c.environ(), warmup, None, c.refresh)
        if bad:
            raise SystemExit(f"{c.name}: {bad}/{warmup} warm-up requests were not 200")
    samples: dict[str, list[int]] = {c.name: [] for c in contenders}
    envs = {c.name: c.environ() for c in contenders}
    rounds = max(1, -(-requests // round_size))
    gc.collect()
    for r in range(rounds):
        n = min(round_size, requests - r * round_size)
        order = contenders[r % len(contenders):] + contenders[: r % len(contenders)]
        for c in order:
            with c.context():
                bad = client.timed(envs[c.name], n, samples[c.name], c.refresh)
            if bad:
                raise SystemExit(f"{c.name}: {bad} timed requests were not 200")
    return samples


def queries_per_request(client: Client, contender: Contender, n: int = 50) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with contender.context(), CaptureQueriesContext(connection) as ctx:
        for _ in range(n):
            status, body = client.call(contender.environ())
            if status != 200:
                raise SystemExit(f"{contender.name}: got {status} while counting queries: {body!r}")
    return len(ctx) / n


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    name: str
    keys: str
    median_us: float
    p90_us: float
    queries: float
    floor_us: float

    @property
    def ratio(self) -> float:
        return self.median_us / self.floor_us


def summarize(samples: list[int]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) / 1000, s[int(0.9 * (len(s) - 1))] / 1000


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    head = (f"{'contender':<34} {'keys':>9} {'median µs':>10} {'p90 µs':>9} "
            f"{'queries':>8} {'x floor':>8} {'+µs':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r.name:<34} {r.keys:>9} {r.median_us:>10.1f} {r.p90_us:>9.1f} "
              f"{r.queries:>8.2f} {r.ratio:>7.2f}x {r.median_us - r.floor_us:>7.1f}")


def measure_stage(client: Client, contenders: list[Contender], args: argparse.Namespace,
                  title: str) -> dict[str, Row]:
    # Warm-up first, so that one-off work (ours writes last_used_at on a key's first use,
    # then at most once a minute) is not counted as the steady state.
    for c in contenders:
        with c.context():
            client.timed(c.environ(), args.warmup, None, c.refresh)
    queries = {c.name: queries_per_request(client, c, n=200) for c in contenders}
    samples = run_interleaved(client, contenders, args.warmup, args.requests, args.round_size)
    floor_median = summarize(samples["floor (no auth)"])[0]
    rows = {}
    for c in contenders:
        median, p90 = summarize(samples[c.name])
        keys = "-" if c.keys is None else f"{c.keys:,}".replace(",", "_")
        rows[c.name] = Row(c.name, keys, median, p90, queries[c.name], floor_median)
    print_table(title, list(rows.values()))
    return rows


def profile(client: Client, contender: Contender, n: int = 5000, top: int = 25) -> None:
    env = contender.environ()
    client.timed(env, 200, None)
    prof = cProfile.Profile()
    prof.enable()
    client.timed(env, n, None)
    prof.disable()
    print(f"\ncProfile of {n} requests to {contender.name} (per-request µs = cumtime / {n})")
    stats = pstats.Stats(prof, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


# --------------------------------------------------------------------------- fixtures


def make_contenders(user: Any) -> list[Contender]:
    from knox.models import AuthToken
    from rest_framework.authtoken.models import Token
    from rest_framework_api_key.models import APIKey as PeerAPIKey

    drf_token = Token.objects.create(user=user)
    _, peer_key = PeerAPIKey.objects.create_key(name="bench")
    _, knox_token = AuthToken.objects.create(user=user)
    return [
        Contender("floor (no auth)", "/floor/"),
        Contender("DRF TokenAuthentication", "/drf-token/",
                  {"HTTP_AUTHORIZATION": f"Token {drf_token.key}"}, keys=1),
        Contender("djangorestframework-api-key", "/drf-api-key/",
                  {"HTTP_AUTHORIZATION": f"Api-Key {peer_key}"}, keys=1),
        Contender("django-rest-knox", "/knox/",
                  {"HTTP_AUTHORIZATION": f"Token {knox_token}"}, keys=1),
    ]


def check_rejections(client: Client, contenders: list[Contender]) -> None:
    """Sanity: each protected view refuses a request without credentials / a wrong one."""
    for c in contenders[1:]:
        status, _ = client.call(c.environ(headers={}))
        if status not in (401, 403):
            raise SystemExit(f"{c.name}: a request without credentials got {status}")
        wrong = {k: v[:-4] + ("AAAA" if not v.endswith("AAAA") else "BBBB")
                 for k, v in c.headers.items()}
        status, _ = client.call(c.environ(headers=wrong))
        if status not in (401, 403):
            raise SystemExit(f"{c.name}: a request with a wrong credential got {status}")


def bulk_users(count: int) -> list[Any]:
    from django.contrib.auth import get_user_model

    User = get_user_model()  # noqa: N806
    start = User.objects.count()
    batch = [
        User(username=f"bulk{i}", email=f"bulk{i}@example.com", password="!")
        for i in range(start, start + count)
    ]
    User.objects.bulk_create(batch, batch_size=5000)
    return list(User.objects.filter(username__startswith="bulk").order_by("-id")[:count])


def analyze() -> None:
    """Fresh planner statistics, as autovacuum / a maintained SQLite file would have."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --------------------------------------------------------------------------- main


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.middleware == "minimal":
        os.environ["BENCH_MIDDLEWARE"] = "minimal"
    if args.redis:
        os.environ["BENCH_REDIS_URL"] = args.redis
    if args.pg_prepared:
        args.postgres = True
        os.environ["BENCH_PG_PREPARED"] = "1"
    db = setup_database(args)
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"

    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from benchmarks import ours

    try:
        t0 = time.perf_counter()
        call_command("migrate", run_syncdb=True, verbosity=0)
        print(f"ainative_auth API-key benchmark — {db.describe}")
        with connection.cursor() as cursor:
            cursor.execute("select sqlite_version()" if db.vendor == "sqlite"
                           else "show server_version")
            db_version = cursor.fetchone()[0]
        versions = ", ".join(
            f"{dist} {version(dist)}" for dist in (
                "Django", "djangorestframework", "djangorestframework-api-key",
                "django-rest-knox", "django-ainative-auth"))
        print(f"Python {platform.python_version()}, {versions}, {db.vendor} {db_version}, "
              f"{os.cpu_count()} CPUs")
        print(f"middleware ({args.middleware}): "
              + ", ".join(m.rsplit(".", 1)[1] for m in settings.MIDDLEWARE))
        print(f"{args.warmup} warm-up + {args.requests} timed requests per contender and stage, "
              f"interleaved in rounds of {args.round_size}; latency = WSGIHandler call + "
              "body + close()")

        user = get_user_model().objects.create_user("bench", "bench@example.com", "x")
        contenders = make_contenders(user)
        client = Client()
        ours_contender: Contender | None = None
        ours_key: Any = None
        if ours.available():
            ours_key, plaintext = ours.mint_key(user)
            ours_contender = Contender("ours: APIKeyAuthentication", "/ours/",
                                       {ours.HEADER: plaintext}, keys=ours.count_keys())
            contenders.append(ours_contender)
            # The same view with a signed key: v1 (the SDK's HMAC) and v2 (RFC 9421 HMAC,
            # a fresh nonce per request, remembered in the cache). Signing is untimed.
            signed = ours.mint_issued(user)
            contenders.append(Contender(
                "ours, signed v1 (SDK HMAC)", "/ours/", {}, keys=ours.count_keys(),
                refresh=lambda: ours.v1_headers(signed.plaintext, signed.signing_secret)))
            sign_v2 = ours.v2_signer(signed.key.prefix, signed.signing_secret)
            contenders.append(Contender(
                "ours, signed v2 (RFC 9421 HMAC)", "/ours/", {}, keys=ours.count_keys(),
                refresh=lambda: sign_v2("http://testserver/ours/")))
            # The same requests with the per-key throttle counter off: its share of the cost.
            contenders.append(Contender(
                "ours, api_key throttle off", "/ours/", {ours.HEADER: plaintext},
                keys=ours_contender.keys,
                settings={"AINATIVE_AUTH": {"THROTTLE_RATES": {"api_key": None}}}))
            if args.redis:
                contenders.append(Contender(
                    "ours, api_key throttle on Redis", "/ours/", {ours.HEADER: plaintext},
                    keys=ours_contender.keys,
                    settings={"AINATIVE_AUTH": {
                        **settings.AINATIVE_AUTH, "THROTTLE_CACHE": "redis"}}))
        else:
            print("\nours: ainative_auth.authentication.APIKeyAuthentication / models.APIKey "
                  "not found — measuring the floor and the peers only; targets SKIPPED")
        check_rejections(client, contenders)

        results: list[tuple[int, dict[str, Row]]] = []
        rows = measure_stage(client, contenders, args,
                             f"Stage 1: every contender, one credential each ({db.vendor})")
        if ours_contender is not None:
            results.append((ours_contender.keys or 1, rows))
            if not args.no_breakdown:
                from benchmarks import breakdown

                breakdown.run(client, ours_contender)
            floor = contenders[0]
            for target in args.scales:
                have = ours.count_keys()
                if target <= have:
                    continue
                t = time.perf_counter()
                n_users = max(1, (target - have) // 100)  # at most 100 keys per user
                users = bulk_users(n_users)
                ours.bulk_insert(target - have, users)
                analyze()
                ours_contender.keys = ours.count_keys()
                print(f"\n(inserted {target - have:,} keys for {n_users:,} users in "
                      f"{time.perf_counter() - t:.1f} s)")
                rows = measure_stage(
                    client, [floor, ours_contender], args,
                    f"Stage: ours with {ours_contender.keys:,} keys ({db.vendor})")
                results.append((ours_contender.keys, rows))

            # Revocation must take effect on the very next request.
            before, _ = client.call(ours_contender.environ())
            ours.revoke(ours_key)
            after, _ = client.call(ours_contender.environ())
            revoked_ok = before == 200 and after == 401

            if args.profile:
                _, fresh = ours.mint_key(user)  # the benchmark key is revoked by now
                profile(client, Contender("ours", "/ours/", {ours.HEADER: fresh}))
                profile(client, floor)

            name = ours_contender.name
            first = results[0][1][name]
            last_keys, last_rows = results[-1]
            last = last_rows[name]
            limit = TARGET_RATIO[db.vendor]
            raw_scale = last.median_us / first.median_us
            drift_scale = last.ratio / first.ratio
            print("\nTargets")
            checks = [
                (f"ours <= {limit}x the floor ({db.vendor}, 1 key): {first.ratio:.2f}x",
                 first.ratio <= limit),
                (f"ours makes {TARGET_QUERIES} query per request at every key count: "
                 + ", ".join(f"{r[name].queries:g}" for _, r in results),
                 all(r[name].queries == TARGET_QUERIES for _, r in results)),
            ]
            if len(results) > 1:
                checks.append((
                    f"ours with {last_keys:,} keys <= {TARGET_SCALE_RATIO}x ours with 1 key: "
                    f"{drift_scale:.2f}x (floor-normalized; raw medians "
                    f"{last.median_us:.1f} / {first.median_us:.1f} µs = {raw_scale:.2f}x)",
                    drift_scale <= TARGET_SCALE_RATIO))
            checks.append((f"revocation is immediate: 200 before, {after} after revoking",
                           revoked_ok))
            for text, ok in checks:
                print(f"  {verdict(ok)}  {text}")
            failed = not all(ok for _, ok in checks)
        else:
            failed = False
        print(f"\ntotal {time.perf_counter() - t0:.0f} s")
        return 1 if (failed and args.strict) else 0
    finally:
        db.cleanup()


if __name__ == "__main__":
    sys.exit(main())
