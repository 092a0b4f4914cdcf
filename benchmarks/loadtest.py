"""A bounded load run against the real server: ``make loadtest``.

Two gunicorn workers of the example project on loopback, on PostgreSQL and Redis (a
throw-away database ``ainative_loadtest`` is created and dropped), and a few concurrent
clients that each loop through what real clients do: register, log in, refresh, read
``users/me``, create an API key, call the credits endpoint with it (plain and v1-signed),
revoke the key, log out. It runs for ``--duration`` seconds (60 by default), then reports
requests per second and p50/p99 latency per operation, and checks:

- no answer was a 5xx, and none was unexpected (each step knows the status it must get);
- every account a client created exists, once, with its canonical address;
- every session a client logged out is revoked, every session it kept is live;
- every key it created exists, revoked exactly when the client revoked it.

It exits 1 when any check fails. Not part of ``make test``: it needs PostgreSQL and Redis
and a minute. Options: ``--duration``, ``--clients``, ``--workers``, ``--database-url``,
``--redis-url``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DATABASE = "ainative_loadtest"
PASSWORD = "load test passphrase, long enough"


@dataclass
class Account:
    email: str
    user_id: int = 0
    kept_sessions: set[str] = field(default_factory=set)
    ended_sessions: set[str] = field(default_factory=set)
    live_keys: set[str] = field(default_factory=set)
    revoked_keys: set[str] = field(default_factory=set)


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    unexpected: list[str] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, seconds: float, status: int, expected: int, body: str) -> None:
        with self.lock:
            self.latencies[name].append(seconds)
            self.statuses[name][status] += 1
            if status != expected:
                self.unexpected.append(f"{name}: {status} (expected {expected}) {body[:200]}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (60)")
    p.add_argument("--clients", type=int, default=6, help="concurrent clients (6)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (2)")
    p.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="PostgreSQL server to create the throw-away database on")
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    return p.parse_args(argv)


def _admin(url: str) -> Any:
    import psycopg

    u = urlparse(url)
    return psycopg.connect(host=u.hostname or "127.0.0.1", port=u.port or 5432,
                           user=u.username or "postgres", password=u.password or "",
                           dbname="postgres", autocommit=True, connect_timeout=5)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Client(threading.Thread):
    """One client looping through a user's life until the deadline."""

    def __init__(self, base: str, results: Results, deadline: float, index: int) -> None:
        super().__init__(daemon=True)
        self.base, self.results, self.deadline, self.index = base, results, deadline, index
        self.http = requests.Session()

    def call(self, name: str, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = self.http.request(method, f"{self.base}/api/v1/{path}", timeout=30,
                                     **kwargs)
        self.results.record(name, time.perf_counter() - started, response.status_code,
                            expected, response.text)
        return response

    def run(self) -> None:
        loop = 0
        while time.monotonic() < self.deadline:
            loop += 1
            account = Account(f"load-{self.index}-{loop}-{secrets.token_hex(3)}@Example.com")
            with self.results.lock:
                self.results.accounts.append(account)
            self.one_life(account)

    def one_life(self, account: Account) -> None:
        body = self.call("register", "POST", "auth/register", 201,
                         json={"email": account.email, "password": PASSWORD, "name": "Load"})
        if body.status_code != 201:
            return
        first = body.json()
        account.user_id = first["user"]["id"]
        account.kept_sessions.add(first["refresh_token"].split(".")[0])
        login = self.call("login", "POST", "auth/login", 200,
                          json={"email": account.email.lower(), "password": PASSWORD})
        if login.status_code != 200:
            return
        tokens = login.json()
        session = tokens["refresh_token"].split(".")[0]
        for _ in range(2):
            rotated = self.call("refresh", "POST", "auth/refresh", 200,
                                json={"refresh_token": tokens["refresh_token"]})
            if rotated.status_code != 200:
                return
            tokens = rotated.json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        for _ in range(3):
            self.call("users/me (Bearer)", "GET", "users/me", 200, headers=bearer)
        created = self.call("create key", "POST", "api-keys", 201, headers=bearer,
                            json={"name": "load", "scopes": ["credits:read"]})
        if created.status_code == 201:
            key = created.json()
            account.live_keys.add(key["id"])
            for _ in range(5):
                self.call("credits (API key)", "GET", "public/credits/balance", 200,
                          headers={"X-API-Key": key["key"]})
            stamp = str(int(time.time()))
            mac = hmac.new(key["signing_secret"].encode(), f"{key['key']}{stamp}".encode(),
                           hashlib.sha256)
            self.call("credits (v1 signed)", "GET", "public/credits/balance", 200,
                      headers={"X-API-Key": key["key"], "X-Timestamp": stamp,
                               "X-Signature": base64.b64encode(mac.digest()).decode()})
            if self.call("revoke key", "DELETE", f"api-keys/{key['id']}", 204,
                         headers=bearer).status_code == 204:
                account.live_keys.discard(key["id"])
                account.revoked_keys.add(key["id"])
                self.call("revoked key refused", "GET", "public/credits/balance", 401,
                          headers={"X-API-Key": key["key"]})
        if self.call("logout", "POST", "auth/logout", 200, headers=bearer).status_code == 200:
            account.ended_sessions.add(session)
            self.call("logged-out token refused", "GET", "users/me", 401, headers=bearer)
        else:
            account.kept_sessions.add(session)


def check_consistency(results: Results) -> list[str]:
    """What the clients believe, against what the database holds."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from ainative_auth.models import AccountEmail, APIKey, RefreshSession

    problems: list[str] = []
    users = get_user_model().objects
    for account in results.accounts:
        if not account.user_id:
            continue
        canonical = account.email.lower()
        matches = list(users.filter(email__iexact=canonical))
        if len(matches) != 1 or matches[0].pk != account.user_id:
            problems.append(f"{canonical}: {len(matches)} user rows")
            continue
        if not AccountEmail.objects.filter(user_id=account.user_id, email=canonical).exists():
            problems.append(f"{canonical}: no uniqueness record")
        live = set(RefreshSession.objects.filter(user_id=account.user_id).live()
                   .values_list("id", flat=True))
        live_hex = {value.hex for value in live}
        for sid in account.kept_sessions - live_hex:
            problems.append(f"{canonical}: session {sid} should be live")
        for sid in account.ended_sessions & live_hex:
            problems.append(f"{canonical}: session {sid} should be revoked")
        keys = {k.public_id: k for k in APIKey.objects.filter(user_id=account.user_id)}
        for public_id in account.live_keys | account.revoked_keys:
            if public_id not in keys:
                problems.append(f"{canonical}: key {public_id} missing")
        for public_id in account.revoked_keys:
            if public_id in keys and keys[public_id].revoked_at is None:
                problems.append(f"{canonical}: key {public_id} should be revoked")
        for public_id in account.live_keys:
            if public_id in keys and keys[public_id].revoked_at is not None:
                problems.append(f"{canonical}: key {public_id} should be live")
    return problems


def report(results: Results, elapsed: float) -> None:
    total = sum(len(v) for v in results.latencies.values())
    print(f"\n{total} requests in {elapsed:.1f} s: {total / elapsed:.0f} requests/s")
    head = f"{'operation':<26} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses"
    print(head)
    print("-" * len(head))
    everything: list[float] = []
    for name, values in results.latencies.items():
        values = sorted(values)
        everything.extend(values)
        p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
        statuses = ", ".join(f"{code}x{count}" for code, count in
                             sorted(results.statuses[name].items()))
        print(f"{name:<26} {len(values):>7} {statuses_ms(statistics.median(values)):>8} "
              f"{statuses_ms(p99):>8}  {statuses}")
    everything.sort()
    if everything:
        p99 = everything[min(len(everything) - 1, int(0.99 * len(everything)))]
        print(f"{'all':<26} {len(everything):>7} {statuses_ms(statistics.median(everything)):>8} "
              f"{statuses_ms(p99):>8}")


def statuses_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    u = urlparse(args.database_url)
    with _admin(args.database_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    database_url = (f"postgres://{u.username or 'postgres'}"
                    f"{':' + u.password if u.password else ''}@{u.hostname or '127.0.0.1'}"
                    f":{u.port or 5432}/{DATABASE}")
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "load-test-secret-key-" + secrets.token_hex(16),
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_LOG_LEVEL": "warning",
        "PORT": str(port),
        # Real limits would throttle a load test from one IP; every scope gets room.
        "AINATIVE_AUTH_THROTTLE_RATES": ",".join(
            f"{scope}=100000/minute" for scope in (
                "login", "register", "refresh", "forgot_password", "reset_password",
                "verify_email", "resend_verification", "change_password", "oauth",
                "api_key")),
    }
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL",
                                           "REDIS_URL", "SECRET_KEY")})
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],  # noqa: S603
                   cwd=ROOT, env=env, check=True)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    server = subprocess.Popen(  # noqa: S603 - our interpreter, our config
        [sys.executable, "-m", "gunicorn", "-c", "example_project/gunicorn.conf.py",
         "--access-logfile", "/dev/null", "example_project.wsgi:application"],
        cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        print(f"make loadtest: {args.clients} clients for {args.duration:.0f} s against "
              f"gunicorn ({args.workers} workers) on PostgreSQL + Redis, {os.cpu_count()} CPUs")
        results = Results()
        started = time.monotonic()
        clients = [Client(base, results, started + args.duration, i)
                   for i in range(args.clients)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    report(results, elapsed)
    problems = check_consistency(results)
    server_errors = sum(count for statuses in results.statuses.values()
                        for code, count in statuses.items() if code >= 500)
    print(f"\naccounts created: {sum(1 for a in results.accounts if a.user_id)}; "
          f"5xx answers: {server_errors}; unexpected answers: {len(results.unexpected)}; "
          f"inconsistencies: {len(problems)}")
    for line in (results.unexpected + problems)[:20]:
        print("  " + line)
    from django.db import connections

    connections.close_all()
    with _admin(args.database_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    ok = not server_errors and not results.unexpected and not problems
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
