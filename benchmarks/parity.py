"""Timing parity of forgot-password and resend-verification (R55): known vs unknown address.

    .venv/bin/python benchmarks/parity.py            # SQLite file, ~30 s
    .venv/bin/python benchmarks/parity.py --quick    # smoke run
    .venv/bin/python benchmarks/parity.py --mail     # also: mail stall behind bad addresses

Separate from the API-key benchmark (``run.py``) on purpose: it shares only
``benchmarks/settings.py`` and the harness's WSGI client with it. Each request is a WSGI
environ handed straight to Django's ``WSGIHandler`` (no sockets), with mail sent from the
app's background thread as in production. Requests for the known and the unknown address
are interleaved one by one, in a shuffled order, so drift, the garbage collector and the
mail thread's work after a known-address request land on both sides alike. Printed: median
and p90 per case, and the known/unknown ratio of the medians (target: within 10%, R55).

``--mail`` measures the issue-8 stall: 20 messages to addresses the SMTP server refuses
(a local aiosmtpd server on 127.0.0.1 answering 550, through Django's SMTP backend) are
queued, then one good message; printed is the time from queueing the good message to the
server receiving it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402 - needs ROOT on sys.path

TARGET = 0.10  # |known / unknown - 1| of the medians

# ROOT_URLCONF while this benchmark runs (Django imports this module as benchmarks.parity,
# after setup): the app's endpoints under /api/v1/.
urlpatterns: list[Any] = []
if __name__ != "__main__":
    from django.urls import include, path

    urlpatterns = [path("api/v1/", include("ainative_auth.urls"))]


class Client(harness.Client):
    """The harness's WSGI client, with the one request this benchmark times."""

    def post(self, path: str, body: bytes, ip: str) -> tuple[int, int]:
        env = {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "",
            "QUERY_STRING": "", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": ip, "HTTP_HOST": "testserver",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_ACCEPT": "application/json", "HTTP_USER_AGENT": "ainative-parity/1",
            "wsgi.input": io.BytesIO(body), "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        }
        t0 = time.perf_counter_ns()
        response = self.handler(env, self._start_response)
        for _chunk in response:
            pass
        response.close()
        elapsed = time.perf_counter_ns() - t0
        return int(self.status[:3]), elapsed


def parity(client: Client, path: str, known: str, unknown: str, requests: int,
           warmup: int) -> tuple[float, float, float, float]:
    """(known median, known p90, unknown median, unknown p90) in µs."""
    from ainative_auth import outbox

    samples: dict[str, list[int]] = {known: [], unknown: []}
    rng = random.Random(55)
    order = [known, unknown] * (requests + warmup)
    rng.shuffle(order)  # a random order: no request type always follows the other
    for index, email in enumerate(order):
        # Each request starts with the mail thread idle, so what is timed is the request's
        # own work (its own mail's rendering included if that overlapped the request), not
        # leftovers of the one before.
        outbox.flush_mail(timeout=30)
        # Each request from its own IP, as an attacker probing many addresses would be.
        ip = f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
        status, elapsed = client.post(path, json.dumps({"email": email}).encode(), ip)
        if status != 200:
            raise SystemExit(f"{path} for {email}: {status}")
        if index >= 2 * warmup:
            samples[email].append(elapsed)

    def stats(values: list[int]) -> tuple[float, float]:
        ordered = sorted(values)
        return statistics.median(ordered) / 1000, ordered[int(0.9 * (len(ordered) - 1))] / 1000

    return (*stats(samples[known]), *stats(samples[unknown]))


def mail_stall(bad: int = 20) -> float:
    """Seconds from queueing a good message behind ``bad`` refused ones to its arrival."""
    import threading

    from aiosmtpd.controller import Controller
    from django.test.utils import override_settings

    from ainative_auth import outbox

    arrived = threading.Event()

    class Handler:
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                              rcpt_options: Any) -> str:
            if address.startswith("bounce"):
                return "550 5.1.1 No such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if "good@example.com" in envelope.rcpt_tos:
                arrived.set()
            return "250 OK"

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                               EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_TIMEOUT=5):
            context = {"name": "", "email": "x", "url": "https://app.example.com/x",
                       "token": "t", "expires_in": "1 hour"}
            for i in range(bad):
                outbox.dispatch(outbox.MailJob("ainative_auth/email/verify_email",
                                           f"bounce{i}@example.com", context))
            started = time.perf_counter()
            outbox.dispatch(outbox.MailJob("ainative_auth/email/verify_email", "good@example.com",
                                       context))
            if not arrived.wait(120):
                raise SystemExit("the good message never arrived")
            elapsed = time.perf_counter() - started
            outbox.flush_mail(timeout=120)
    finally:
        controller.stop()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--requests", type=int, default=3000,
                   help="timed requests per address and endpoint (default %(default)s)")
    p.add_argument("--warmup", type=int, default=200, help="untimed requests per address")
    p.add_argument("--quick", action="store_true", help="smoke run: 300 requests")
    p.add_argument("--mail", action="store_true",
                   help="also measure a good message queued behind 20 refused ones")
    p.add_argument("--strict", action="store_true", help="exit 1 when the target fails")
    args = p.parse_args(argv)
    if args.quick:
        args.requests, args.warmup = 300, 50

    tmp = tempfile.mkdtemp(prefix="ainative-parity-")
    os.environ.update(BENCH_DB_ENGINE="sqlite", BENCH_DB_NAME=os.path.join(tmp, "db.sqlite3"),
                      DJANGO_SETTINGS_MODULE="benchmarks.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test.utils import override_settings

        from ainative_auth import outbox
        from ainative_auth.services import accounts

        call_command("migrate", run_syncdb=True, verbosity=0)
        overrides = override_settings(
            ROOT_URLCONF="benchmarks.parity",
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            AINATIVE_AUTH={
                "FRONTEND_URL": "https://app.example.com",
                # No limit may trigger: past the per-address limit a known address mails
                # nothing, which would hide the very difference measured here.
                "THROTTLE_RATES": {"forgot_password": "1000000000/minute",
                                   "resend_verification": "1000000000/minute"},
            },
        )
        overrides.enable()
        accounts.register(email="known@example.com", password="a long passphrase 1",
                          name="Known")
        outbox.flush_mail(timeout=30)
        client = Client()
        print("ainative_auth timing parity (R55): known vs unknown address, "
              f"{args.warmup} warm-up + {args.requests} timed requests each, interleaved")
        print(f"{'endpoint':<28} {'known µs':>9} {'p90':>7} {'unknown µs':>11} {'p90':>7} "
              f"{'ratio':>7}")
        failed = False
        for path in ("/api/v1/auth/forgot-password", "/api/v1/auth/resend-verification"):
            # Addresses of the same length: canonicalising one costs time per character.
            known_med, known_p90, unknown_med, unknown_p90 = parity(
                client, path, "known@example.com", "other@example.com",
                args.requests, args.warmup)
            ratio = known_med / unknown_med
            ok = abs(ratio - 1) <= TARGET
            failed |= not ok
            print(f"{path.rsplit('/', 1)[1]:<28} {known_med:>9.1f} {known_p90:>7.1f} "
                  f"{unknown_med:>11.1f} {unknown_p90:>7.1f} {ratio:>6.3f}x  "
                  f"{'PASS' if ok else 'FAIL'} (within {TARGET:.0%})")
            outbox.flush_mail(timeout=60)
        print(f"mail counters: {outbox.stats() if hasattr(outbox, 'stats') else 'n/a'}")
        if args.mail:
            import logging

            # 20 "could not send" lines per run are the point here, not news.
            logging.getLogger("ainative_auth").setLevel(logging.CRITICAL)
            runs = sorted(mail_stall() for _ in range(5))
            elapsed = statistics.median(runs)
            print(f"\nmail stall: a good message queued behind 20 refused ones (SMTP 550) "
                  f"reached the SMTP server {elapsed * 1000:.0f} ms later (median of 5; "
                  f"worst {runs[-1] * 1000:.0f} ms) "
                  f"{'PASS' if runs[-1] < 1 else 'FAIL'} (target < 1 s)")
            failed |= runs[-1] >= 1
        overrides.disable()
        return 1 if (failed and args.strict) else 0
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
