"""What authentication costs per request: ours (JWT, API key) against a no-auth floor and
the peers, through the whole Django handler; then refresh, login and HTTP.

    make bench                                      # SQLite (a temporary file), < 5 min
    .venv/bin/python benchmarks/run.py --quick      # development smoke run, ~1 min
    .venv/bin/python benchmarks/run.py --postgres   # PostgreSQL (DATABASE_URL or localhost)

Every contender serves the same trivial DRF view behind the same middleware stack; only
the view's authentication/permission classes differ. Requests are WSGI environs handed
straight to ``WSGIHandler`` (no test client, no network), interleaved in rounds so that
machine drift hits every contender alike. Results: benchmarks/results/ (JSON + PNG).
See benchmarks/README.md for the method and how to read every row.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sys
import time
import uuid
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# Run as a script, this file's directory would come first on sys.path and its modules
# could shadow the standard library's; import them as the ``benchmarks`` package instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.database import PG_BENCH_DB, setup_database  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    FLOOR,
    Client,
    Contender,
    Row,
    measure_stage,
)

# Targets.
JWT_RATIO = {"sqlite": 1.5, "postgresql": 2.0}  # ours JWT / floor, median
KEY_RATIO = {"sqlite": 1.5, "postgresql": 2.0}  # ours API key (either header) / floor, median
BEARER_KEY_SAME = 0.03  # the key as `Authorization: Bearer` within 3% of X-API-Key
SCALE_RATIO = 1.2  # ours at the largest count / ours with one row, floor-normalized
HTTP_SHARE = 0.75  # of the no-auth view's requests per second
LOGIN_CPU_MS = 60.0
SAME_COST = 0.10  # unknown email within 10% of a known one
MEMORY_SLACK = 1.25  # peak growth <= slots x memory_cost x this

JWT_NAME = "ours: JWTAuthentication"
OAUTH_NAME = "ours: OAuth access token (RS256)"
KEY_NAME = "ours: APIKeyAuthentication"
BEARER_KEY_NAME = "ours: API key as Authorization: Bearer"


# --------------------------------------------------------------------------- arguments


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--postgres", action="store_true",
                   help="run on PostgreSQL: DATABASE_URL if it is postgres://, else "
                        "postgres://postgres@127.0.0.1:5432; a dedicated database "
                        f"({PG_BENCH_DB!r}, see --pg-database) is created and dropped")
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
                   help="key and session counts to measure ours at, besides one, "
                        "comma-separated (default %(default)s; empty for none)")
    p.add_argument("--refresh-requests", type=int, default=2000,
                   help="timed refreshes (default %(default)s)")
    p.add_argument("--login-rounds", type=int, default=10,
                   help="argon2id logins per case (default %(default)s)")
    p.add_argument("--memory-threads", default="1,4,16",
                   help="concurrent logins to measure peak RSS at (default %(default)s)")
    p.add_argument("--http-seconds", type=float, default=0.6,
                   help="seconds per HTTP slot (default %(default)s); 0 skips the HTTP stage")
    p.add_argument("--http-rounds", type=int, default=8,
                   help="HTTP rounds, rows rotated (default %(default)s)")
    p.add_argument("--http-connections", type=int, default=4,
                   help="closed-loop client connections (default %(default)s)")
    p.add_argument("--http-worker", choices=["sync", "gthread"], default="sync",
                   help="gunicorn worker class (default %(default)s; gthread: 4 threads, "
                        "keep-alive)")
    p.add_argument("--middleware", choices=["project", "minimal"], default="project",
                   help="project: startproject's stack + allauth's; minimal: Security, Common "
                        "+ allauth's (default %(default)s)")
    p.add_argument("--redis", nargs="?", const="redis://127.0.0.1:6379/15", default=None,
                   metavar="URL",
                   help="also measure the API key with its throttle counter on Redis "
                        "(default URL %(const)s)")
    p.add_argument("--quick", action="store_true",
                   help="development run (~1 min): 500 requests, scale 10000, shorter "
                        "refresh/login/HTTP stages")
    p.add_argument("--profile", action="store_true",
                   help="also cProfile 5000 requests of ours (both) and the floor")
    p.add_argument("--no-breakdown", action="store_true",
                   help="skip timing the pieces of ours' hot paths one by one")
    p.add_argument("--no-login", action="store_true", help="skip the login stage")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    p.add_argument("--keep-db", action="store_true",
                   help="keep the SQLite file / PostgreSQL database afterwards")
    p.add_argument("--results", type=Path, default=HERE / "results",
                   help="where the JSON and PNG go (default benchmarks/results)")
    args = p.parse_args(argv)
    if args.quick:
        args.requests, args.warmup, args.scales = 500, 50, "10000"
        args.refresh_requests, args.login_rounds, args.memory_threads = 300, 3, "1,8"
        args.http_seconds, args.http_rounds = min(args.http_seconds, 0.5), 3
    args.count_requests = 50 if args.quick else 200
    args.scales = [int(s.replace("_", "")) for s in args.scales.split(",") if s.strip()]
    args.memory_threads = [int(s) for s in args.memory_threads.split(",") if s.strip()]
    return args


# --------------------------------------------------------------------------- fixtures


def check_rejections(client: Client, contenders: list[Contender]) -> None:
    """Sanity: each protected view refuses a request without credentials, and a request
    with any one of its credential headers altered."""
    for c in contenders:
        if c.kind == "floor" or c.path.startswith(("/select-", "/fixed-user/")):
            continue
        if c.name == BEARER_KEY_NAME:
            continue  # "Bearer ak_" altered is "Bearer ak_...AAAA": checked with the key row
        headers = c.next_headers() if c.next_headers is not None else c.headers
        status, _ = client.call(c.environ(headers={}))
        if status not in (401, 403):
            raise SystemExit(f"{c.name}: a request without credentials got {status}")
        for name, value in headers.items():
            wrong = dict(headers)
            wrong[name] = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
            status, _ = client.call(c.environ(headers=wrong))
            if status not in (401, 403):
                raise SystemExit(f"{c.name}: a request with {name} altered got {status}")


def probe(client: Client, contender: Contender) -> str | None:
    """None if the contender answers 200, else why not (its row is then left out)."""
    status, body = client.call(contender.environ())
    return None if status == 200 else f"got {status}: {body[:200].decode(errors='replace')}"


def bulk_users(total: int) -> list[Any]:
    """``total`` users to own the bulk rows (made once, reused by the next scale)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()  # noqa: N806
    bulk = User.objects.filter(username__startswith="bulk")
    have = bulk.count()
    User.objects.bulk_create(
        [User(username=f"bulk{i}", email=f"bulk{i}@example.com", password="!")
         for i in range(have, total)], batch_size=5000)
    return list(bulk.order_by("id")[:total])


def analyze() -> None:
    """Fresh planner statistics, as autovacuum / a maintained SQLite file would have."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def profile(client: Client, contender: Contender, n: int = 5000, top: int = 25) -> None:
    client.run(contender, 200, None)
    prof = cProfile.Profile()
    prof.enable()
    client.run(contender, n, None)
    prof.disable()
    print(f"\ncProfile of {n} requests to {contender.name} (per-request µs = cumtime / {n})")
    stats = pstats.Stats(prof, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


# --------------------------------------------------------------------------- targets


class Targets:
    def __init__(self) -> None:
        self.checks: list[dict[str, Any]] = []

    def add(self, name: str, ok: bool, text: str, **numbers: Any) -> None:
        self.checks.append({"target": name, "ok": bool(ok), "text": text, **numbers})

    def print(self) -> None:
        print("\nTargets")
        for c in self.checks:
            print(f"  {'PASS' if c['ok'] else 'FAIL'}  {c['text']}")

    @property
    def failed(self) -> bool:
        return not all(c["ok"] for c in self.checks)


# --------------------------------------------------------------------------- main


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

    from ainative_auth.credentials import lookups
    from ainative_auth.models import APIKey, RefreshSession
    from benchmarks import breakdown, ours, peers, report, urls

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    load_before = load_average()
    results: dict[str, Any] = {}
    targets = Targets()
    try:
        call_command("migrate", run_syncdb=True, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("select sqlite_version()" if db.vendor == "sqlite"
                           else "show server_version")
            db_version = cursor.fetchone()[0]
        versions = {dist: version(dist) for dist in (
            "Django", "djangorestframework", "djangorestframework-simplejwt",
            "djangorestframework-api-key", "django-rest-knox", "django-ainative-auth",
            "argon2-cffi", "gunicorn")}
        print(f"ainative_auth benchmark — {db.describe}")
        print(f"Python {platform.python_version()}, "
              + ", ".join(f"{k} {v}" for k, v in versions.items())
              + f", {db.vendor} {db_version}; {machine()}; load average {load_before}")
        print(f"middleware ({args.middleware}): "
              + ", ".join(m.rsplit(".", 1)[1] for m in settings.MIDDLEWARE))
        print(f"{args.warmup} warm-up + {args.requests} timed requests per contender and stage, "
              f"interleaved in rounds of {args.round_size}; latency = WSGIHandler call + "
              "body + close()", flush=True)
        results["meta"] = {
            "date": started.strftime("%Y-%m-%d %H:%M UTC"), "database": db.describe,
            "vendor": db.vendor, "db_version": db_version, "python": platform.python_version(),
            "versions": versions, "machine": machine(), "load_average_before": load_before,
            "middleware": args.middleware, "requests": args.requests, "warmup": args.warmup,
            "round_size": args.round_size, "quick": args.quick,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
        }

        # ---- fixtures: one user, one credential per contender, made by each one's own code
        user = get_user_model().objects.create_user("bench", "bench@example.com", "x")
        client = Client()
        minted = ours.mint_key(user)
        session, tokens = ours.mint_session(user)
        jwt_headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
        key_headers = {ours.KEY_HEADER: minted.plaintext}
        key_lookup = lookups._lookup(APIKey, "public_id", "")
        session_lookup = lookups._lookup(RefreshSession, "pk", uuid.UUID(int=0),
                                         lookups.SESSION_FIELDS)
        urls.SELECTS["key"] = (key_lookup.sql, [key_lookup._prep(minted.key.public_id)])
        urls.SELECTS["session"] = (session_lookup.sql, [session_lookup._prep(session.id)])
        for name, lookup in (("key", key_lookup), ("session", session_lookup)):
            urls.DRIVER_SELECTS[name] = (lookup.driver_sql or lookup.sql,
                                         urls.SELECTS[name][1])
        urls.FIXED_USER[0] = user

        jwt = Contender(JWT_NAME, ours.JWT_PATH, jwt_headers, credentials=1, kind="ours")
        key = Contender(KEY_NAME, ours.KEY_PATH, key_headers, credentials=1, kind="ours")
        oauth_headers = {"HTTP_AUTHORIZATION": f"Bearer {ours.mint_oauth_token(user)}"}
        oauth = Contender(OAUTH_NAME, ours.OAUTH_PATH, oauth_headers, credentials=1,
                          kind="ours")
        bearer_headers = {"HTTP_AUTHORIZATION": f"Bearer {minted.plaintext}"}
        bearer_key = Contender(BEARER_KEY_NAME, ours.KEY_PATH, bearer_headers, credentials=1,
                               kind="ours")
        floor = Contender(FLOOR, "/floor/", kind="floor")

        def new_token() -> dict[str, str]:
            token = ours.fresh_access_tokens(user, session, 1)[0]
            return {"HTTP_AUTHORIZATION": f"Bearer {token}"}

        contenders = [
            floor,
            Contender("floor + ours' session SELECT only", "/select-session/", kind="info"),
            Contender("floor + ours' key SELECT only", "/select-key/", kind="info"),
            Contender("floor + ours' session SELECT on the driver's cursor",
                      "/select-session-driver/", kind="info"),
            Contender("floor + ours' key SELECT on the driver's cursor",
                      "/select-key-driver/", kind="info"),
            Contender("floor + DRF auth of a fixed user (no I/O)", "/fixed-user/", kind="info"),
            *peers.contenders(user),
            jwt,
            oauth,
            Contender("ours: JWT, a new token each request", ours.JWT_PATH, kind="info",
                      credentials=1, next_headers=new_token),
            key,
            bearer_key,
            # The same requests with the per-key throttle counter off: its share of the cost.
            Contender("ours: API key, api_key throttle off", ours.KEY_PATH, key_headers,
                      credentials=1, kind="info",
                      settings={"AINATIVE_AUTH": {**settings.AINATIVE_AUTH,
                                                  "THROTTLE_RATES": {"api_key": None}}}),
        ]
        if args.redis:
            contenders.append(Contender(
                "ours: API key, throttle on Redis", ours.KEY_PATH, key_headers, credentials=1,
                kind="info",
                settings={"AINATIVE_AUTH": {**settings.AINATIVE_AUTH,
                                            "THROTTLE_CACHE": "redis"}}))
        signed, why_not = ours.signed_contenders(minted)
        for c in signed:
            reason = probe(client, c)
            if reason is None:
                contenders.append(c)
            else:
                print(f"(row {c.name!r} left out: {reason})")
        if why_not:
            print(f"(signed-request rows left out: {why_not})")
        check_rejections(client, contenders)

        # ---- the statements the database itself sees (SQLite): the counts in the tables
        # come from Django's execute_wrapper, under which the lookups take Django's cursor;
        # here nothing is wrapped, so they take the driver's, as in the timed runs.
        driver_counts: dict[str, float] = {}
        driver_writes: dict[str, float] = {}
        if db.vendor == "sqlite":
            from benchmarks.harness import driver_statements_per_request

            traced = {c.name: driver_statements_per_request(client, c)
                      for c in (key, bearer_key, jwt)}
            driver_counts = {name: n for name, (n, _) in traced.items()}
            driver_writes = {name: w for name, (_, w) in traced.items()}
            print("statements the SQLite driver ran per request, nothing wrapped: "
                  + ", ".join(f"{name.split(': ', 1)[1]} {n:g} ({driver_writes[name]:g} "
                              "writing)" for name, n in driver_counts.items()))
        results["driver_statements"] = {"statements": driver_counts, "writing": driver_writes}

        # ---- stage 1: every contender side by side
        rows = measure_stage(client, contenders, args,
                             f"Stage 1: every contender, one credential each ({db.vendor})")
        results["stages"] = [{"title": "every contender, one credential each",
                              "rows": [r.as_dict() for r in rows.values()]}]
        results["ratio_targets"] = [(KEY_RATIO[db.vendor], f"API key {KEY_RATIO[db.vendor]}x"),
                                    (JWT_RATIO[db.vendor], f"JWT {JWT_RATIO[db.vendor]}x")]
        # ---- over HTTP (early: it needs both cores, so it goes while the machine is as quiet
        # as it was when the run started)
        if args.http_seconds > 0:
            from benchmarks import over_http

            simplejwt = next(c for c in contenders if c.path == "/simplejwt/")
            connection.close()  # the workers open their own; SQLite likes one writer
            results["http"] = over_http.run(
                [("no auth (floor)", "/floor/", {}),
                 (KEY_NAME, ours.KEY_PATH, key_headers),
                 (BEARER_KEY_NAME, ours.KEY_PATH, bearer_headers),
                 (JWT_NAME, ours.JWT_PATH, jwt_headers),
                 (simplejwt.name, simplejwt.path, simplejwt.headers)],
                seconds=args.http_seconds, rounds=args.http_rounds,
                connections=args.http_connections, worker_class=args.http_worker,
                threads=4 if args.http_worker == "gthread" else 1)

        if not args.no_breakdown:
            n = min(2000, args.requests)
            results["breakdown"] = {"jwt": breakdown.jwt(client, floor, jwt, n),
                                    "api_key": breakdown.api_key(client, floor, key, n)}
        if args.profile:
            for c in (jwt, key, floor):
                profile(client, c)

        # ---- scales: ours at 1 row, then grown (keys and sessions together)
        scale_rows: list[tuple[int, int, dict[str, Row]]] = []

        def scale_stage() -> None:
            key.credentials, jwt.credentials = ours.count_keys(), ours.count_sessions()
            title = (f"Scale: {key.credentials:,} keys, {jwt.credentials:,} sessions "
                     f"({db.vendor})")
            scale_rows.append((key.credentials, jwt.credentials,
                               measure_stage(client, [floor, key, jwt], args, title)))

        scale_stage()
        for target in args.scales:
            have_keys, have_sessions = ours.count_keys(), ours.count_sessions()
            if target <= max(have_keys, have_sessions):
                continue
            t = time.perf_counter()
            n_users = max(1, target // 100)  # at most 100 keys (and sessions) per user
            users = bulk_users(n_users)
            ours.bulk_insert_keys(target - have_keys, users)
            ours.bulk_insert_sessions(target - have_sessions, users)
            analyze()
            print(f"(inserted {target - have_keys:,} keys and {target - have_sessions:,} "
                  f"sessions for {n_users:,} users in {time.perf_counter() - t:.1f} s)")
            scale_stage()
        results["scales"] = [
            {"credentials": k, "sessions": s, "key_x_floor": r[KEY_NAME].ratio,
             "jwt_x_floor": r[JWT_NAME].ratio, "key_queries": r[KEY_NAME].queries,
             "jwt_queries": r[JWT_NAME].queries, "rows": [x.as_dict() for x in r.values()]}
            for k, s, r in scale_rows]

        # ---- refresh
        from benchmarks import refresh

        results["refresh"] = refresh.run(client, args, user)

        # ---- login
        if not args.no_login:
            from benchmarks import logins

            results["login"] = logins.run(client, args.login_rounds, args.memory_threads)

        # ---- revocation must take effect on the very next request
        revocation = {}
        for name, contender, revoke in (
                ("API key", key, lambda: ours.revoke_key(minted.key)),
                ("JWT", jwt, lambda: ours.revoke_session(session))):
            before, _ = client.call(contender.environ())
            revoke()
            after, _ = client.call(contender.environ())
            revocation[name] = (before, after)
        results["revocation"] = revocation

        # ---- targets
        first_k, first_s, first = scale_rows[0]
        last_k, last_s, last = scale_rows[-1]
        s1_jwt, s1_key = rows[JWT_NAME], rows[KEY_NAME]
        jwt_limit, key_limit = JWT_RATIO[db.vendor], KEY_RATIO[db.vendor]
        targets.add("jwt_ratio", s1_jwt.ratio <= jwt_limit,
                    f"JWT <= {jwt_limit}x the floor ({db.vendor}): {s1_jwt.ratio:.2f}x "
                    f"({s1_jwt.median_us:.0f} / {s1_jwt.floor_us:.0f} µs)",
                    value=s1_jwt.ratio, limit=jwt_limit)
        jwt_queries = [r[JWT_NAME].queries for _, _, r in scale_rows]
        driver_note = (f"; the SQLite driver ran {driver_counts[JWT_NAME]:g}"
                       if JWT_NAME in driver_counts else "")
        targets.add("jwt_queries", all(q <= 1 for q in jwt_queries)
                    and driver_counts.get(JWT_NAME, 1) <= 1,
                    "JWT makes one query or none per request at every session count: "
                    + ", ".join(f"{q:g}" for q in jwt_queries) + driver_note,
                    value=jwt_queries, limit=1)
        s1_bearer = rows[BEARER_KEY_NAME]
        worst_key = max(s1_key, s1_bearer, key=lambda row: row.ratio)
        targets.add("key_ratio", worst_key.ratio <= key_limit,
                    f"API key (either header) <= {key_limit}x the floor ({db.vendor}): "
                    f"X-API-Key {s1_key.ratio:.2f}x ({s1_key.median_us:.0f} / "
                    f"{s1_key.floor_us:.0f} µs), Bearer {s1_bearer.ratio:.2f}x "
                    f"({s1_bearer.median_us:.0f} µs)",
                    value=worst_key.ratio, limit=key_limit)
        bearer_vs_key = s1_bearer.median_us / s1_key.median_us
        targets.add("bearer_key_same", abs(bearer_vs_key - 1) <= BEARER_KEY_SAME,
                    f"the key as Bearer within {BEARER_KEY_SAME:.0%} of X-API-Key: "
                    f"{bearer_vs_key:.3f}x ({s1_bearer.median_us:.0f} / "
                    f"{s1_key.median_us:.0f} µs)", value=bearer_vs_key, limit=BEARER_KEY_SAME)
        key_queries = [r[KEY_NAME].queries for _, _, r in scale_rows]
        steady_writes = sum(driver_writes.values())
        driver_note = "".join(f"; the SQLite driver ran {driver_counts[name]:g} ({label})"
                              for name, label in ((KEY_NAME, "X-API-Key"),
                                                  (BEARER_KEY_NAME, "Bearer"))
                              if name in driver_counts)
        targets.add("key_queries", all(q == 1 for q in key_queries) and not steady_writes
                    and all(driver_counts.get(n, 1) == 1 for n in (KEY_NAME, BEARER_KEY_NAME)),
                    "API key makes one query and no write per request at every key count: "
                    + ", ".join(f"{q:g}" for q in key_queries) + driver_note,
                    value=key_queries, limit=1)
        if len(scale_rows) > 1:
            for tname, name, n_first, n_last in (("jwt_flat", JWT_NAME, first_s, last_s),
                                                 ("key_flat", KEY_NAME, first_k, last_k)):
                flat = last[name].ratio / first[name].ratio
                raw = last[name].median_us / first[name].median_us
                what = "sessions" if tname == "jwt_flat" else "keys"
                targets.add(tname, flat <= SCALE_RATIO,
                            f"{name.split(': ')[1]} with {n_last:,} {what} <= {SCALE_RATIO}x "
                            f"with {n_first:,}: {flat:.2f}x (floor-normalized; raw medians "
                            f"{last[name].median_us:.0f} / {first[name].median_us:.0f} µs = "
                            f"{raw:.2f}x)", value=flat, limit=SCALE_RATIO)
        if "http" in results:
            http_rows = {r["name"]: r for r in results["http"]["rows"]}
            for tname, name in (("http_key", KEY_NAME), ("http_bearer_key", BEARER_KEY_NAME),
                                ("http_jwt", JWT_NAME)):
                share = http_rows[name]["of_floor"]
                targets.add(tname, share >= HTTP_SHARE,
                            f"over HTTP, {name.split(': ')[1]} keeps >= {HTTP_SHARE:.0%} of the "
                            f"no-auth req/s: {share:.1%} ({http_rows[name]['rps']:.0f} / "
                            f"{results['http']['rows'][0]['rps']:.0f})",
                            value=share, limit=HTTP_SHARE)
        if "login" in results:
            lg = results["login"]
            p = lg["params"]
            targets.add("login_owasp", lg["meets_owasp"],
                        f"login hash {p['variant']} t={p['time_cost']} "
                        f"m={p['memory_kib'] // 1024} MiB p={p['parallelism']} is at or above "
                        "OWASP's argon2id minimum", value=p)
            cpu = lg["cases"]["known email, right password (200)"]["cpu_ms"]
            targets.add("login_cpu", cpu <= LOGIN_CPU_MS,
                        f"login <= {LOGIN_CPU_MS:g} ms CPU: {cpu:.0f} ms (median, all threads; "
                        f"argon2 alone "
                        f"{lg['alternatives'][0]['cpu_ms']:.0f} ms)", value=cpu,
                        limit=LOGIN_CPU_MS)
            same = lg["unknown_vs_wrong"]
            # Judged on CPU (the work done); wall time on a shared machine is mostly the
            # neighbours' noise, printed for the record.
            targets.add("login_unknown_same", abs(same["cpu"] - 1) <= SAME_COST,
                        f"unknown email costs the same CPU as a known one (wrong password), "
                        f"within {SAME_COST:.0%}: {same['cpu']:.2f}x (wall {same['wall']:.2f}x)",
                        value=same, limit=SAME_COST)
            bound = lg["slots"] * p["memory_kib"] / 1024
            worst = max(lg["memory"], key=lambda m: m["threads"])
            targets.add("login_memory", worst["growth_mib"] <= bound * MEMORY_SLACK,
                        f"concurrent hashing bounded: {worst['threads']} concurrent logins grow "
                        f"RSS by {worst['growth_mib']:.0f} MiB (bound: {lg['slots']} slots x "
                        f"{p['memory_kib'] // 1024} MiB = {bound:.0f} MiB)",
                        value=worst["growth_mib"], limit=bound)
        rf = results["refresh"]
        targets.add("refresh_transaction", rf["writing_transactions"] == 1,
                    f"refresh writes in one transaction: {rf['writing_transactions']} writing "
                    f"of {rf['transactions']} ({', '.join(rf['statements'])}, autocommit)",
                    value=rf["writing_transactions"], limit=1)
        targets.add("refresh_cost", rf["refresh_us"] <= rf["budget_us"],
                    f"refresh <= 2x floor + issue_tokens: {rf['refresh_us']:.0f} µs against "
                    f"{rf['budget_us']:.0f} µs ({rf['refresh_us'] / rf['budget_us']:.2f}x the "
                    "budget)", value=rf["refresh_us"], limit=rf["budget_us"])
        for name, (before, after) in revocation.items():
            targets.add(f"revocation_{name.lower().replace(' ', '_')}",
                        before == 200 and after == 401,
                        f"{name} revocation is immediate: {before} before, {after} after")
        targets.print()
        results["targets"] = targets.checks
        results["meta"]["load_average_after"] = load_average()
        results["meta"]["seconds"] = round(time.perf_counter() - t0, 1)
        stamp = started.strftime("%Y%m%d-%H%M%S")
        for path in report.write(results, stamp, args.results):
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average before {load_before}, "
              f"after {results['meta']['load_average_after']}")
        return 1 if (targets.failed and args.strict) else 0
    finally:
        db.cleanup()


if __name__ == "__main__":
    sys.exit(main())
