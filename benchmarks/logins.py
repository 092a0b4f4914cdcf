"""Login: what one argon2id login costs in CPU, the unknown-email path, concurrent memory.

Measured through the real endpoint (``POST api/auth/login`` on the WSGI handler) with the
example project's hasher, ``ainative_auth.hashers.Argon2idPasswordHasher`` (the rest of
the benchmark uses MD5 to keep bulk user creation cheap). CPU is ``time.process_time``
around each request: every thread of this process, so argon2's lanes all count. Memory is
measured in a fresh child process per concurrency level (``VmHWM``, its peak RSS, is a
lifetime peak): ``python -m benchmarks.logins memory N EMAIL PASSWORD``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Client, Contender, json_body

HASHER = "ainative_auth.hashers.Argon2idPasswordHasher"
HASHERS = [HASHER, "django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_PATH = "/api/auth/login"
EMAIL, PASSWORD = "login-bench@example.com", "correct horse battery staple 42"
# OWASP Password Storage Cheat Sheet, argon2id: equivalent minimum configurations
# (memory KiB, iterations), parallelism 1. A hasher meets the minimum if its memory and
# iterations are both at least those of one row.
OWASP_ARGON2ID = [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)]
# Parameter sets timed for comparison: what meeting the CPU budget would take.
ALTERNATIVES = [
    ("ours: t=1, m=46 MiB, p=1 (OWASP's first row)", 1, 47104, 1),
    ("OWASP minimum: t=2, m=19 MiB, p=1", 2, 19456, 1),
    ("earlier ours (RFC 9106 low memory): t=3, m=64 MiB, p=4", 3, 65536, 4),
    ("Django 5.2 default: t=2, m=100 MiB, p=8", 2, 102400, 8),
]


def _params(encoded: str) -> dict[str, Any]:
    """``argon2$argon2id$v=19$m=65536,t=3,p=4$...`` -> variant, m, t, p."""
    match = re.match(r"argon2\$(argon2i?d?)\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$", encoded)
    if match is None:
        raise SystemExit(f"login stage: not an argon2 hash: {encoded[:30]!r}")
    variant, m, t, p = match.groups()
    return {"variant": variant, "memory_kib": int(m), "time_cost": int(t),
            "parallelism": int(p)}


def meets_owasp(params: dict[str, Any]) -> bool:
    return params["variant"] == "argon2id" and any(
        params["memory_kib"] >= m and params["time_cost"] >= t for m, t in OWASP_ARGON2ID)


def _login_contender(email: str, password: str) -> Contender:
    return Contender(f"login {email}", LOGIN_PATH,
                     body=lambda: json_body({"email": email, "password": password}))


def _measure(client: Client, contender: Contender, expect: int) -> tuple[float, float]:
    """(CPU ms, wall ms) of one login request."""
    env = contender.environ()
    c0, w0 = time.process_time(), time.perf_counter()
    status, body = client.call(env)
    c1, w1 = time.process_time(), time.perf_counter()
    if status != expect:
        raise SystemExit(f"{contender.name}: expected {expect}, got {status}: {body[:200]!r}")
    return (c1 - c0) * 1000, (w1 - w0) * 1000


def _alternatives(n: int) -> list[dict[str, Any]]:
    from argon2.low_level import Type, hash_secret

    out = []
    for label, t, m, p in ALTERNATIVES:
        cpu, wall = [], []
        for _ in range(n):
            c0, w0 = time.process_time(), time.perf_counter()
            hash_secret(PASSWORD.encode(), os.urandom(16), time_cost=t, memory_cost=m,
                        parallelism=p, hash_len=32, type=Type.ID)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        out.append({"params": label, "cpu_ms": statistics.median(cpu),
                    "wall_ms": statistics.median(wall),
                    "meets_owasp": meets_owasp({"variant": "argon2id", "memory_kib": m,
                                                "time_cost": t})})
    return out


def run(client: Client, rounds: int, memory_levels: list[int]) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=HASHERS):
        user = get_user_model().objects.create_user("login-bench", EMAIL, PASSWORD)
        params = _params(user.password)
        cases = [
            ("known email, right password (200)", _login_contender(EMAIL, PASSWORD), 200),
            ("known email, wrong password (401)", _login_contender(EMAIL, PASSWORD + "x"), 401),
            ("unknown email (401)", _login_contender("nobody-" + EMAIL, PASSWORD), 401),
        ]
        for _, contender, expect in cases:  # warm-up: one of each
            _measure(client, contender, expect)
        cpu: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        wall: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for r in range(rounds):
            for name, contender, expect in cases[r % 3:] + cases[: r % 3]:
                c, w = _measure(client, contender, expect)
                cpu[name].append(c)
                wall[name].append(w)
    result: dict[str, Any] = {
        "hasher": HASHER, "params": params, "meets_owasp": meets_owasp(params),
        "rounds": rounds,
        "cases": {name: {"cpu_ms": statistics.median(cpu[name]),
                         "wall_ms": statistics.median(wall[name])} for name, _, _ in cases},
    }
    known, wrong, unknown = (result["cases"][name] for name, _, _ in cases)
    result["unknown_vs_wrong"] = {"cpu": unknown["cpu_ms"] / wrong["cpu_ms"],
                                  "wall": unknown["wall_ms"] / wrong["wall_ms"]}
    result["unknown_vs_known"] = {"cpu": unknown["cpu_ms"] / known["cpu_ms"],
                                  "wall": unknown["wall_ms"] / known["wall_ms"]}
    result["alternatives"] = _alternatives(3)
    result["memory"] = [memory(n) for n in memory_levels]
    from ainative_auth import hashers

    result["slots"] = hashers._SLOTS._initial_value  # type: ignore[attr-defined]
    _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    p = result["params"]
    print(f"\nLogin: POST {LOGIN_PATH} with {result['hasher'].rsplit('.', 1)[1]} "
          f"({p['variant']}, t={p['time_cost']}, m={p['memory_kib'] // 1024} MiB, "
          f"p={p['parallelism']}), median of {result['rounds']} each, interleaved")
    print(f"  {'case':<40} {'CPU ms':>8} {'wall ms':>8}")
    for name, c in result["cases"].items():
        print(f"  {name:<40} {c['cpu_ms']:>8.1f} {c['wall_ms']:>8.1f}")
    for key, label in (("unknown_vs_wrong", "unknown email / wrong password"),
                       ("unknown_vs_known", "unknown email / successful login")):
        r = result[key]
        print(f"  {label:<40} {r['cpu']:>7.2f}x {r['wall']:>7.2f}x")
    print("  argon2id alone (argon2-cffi hash_secret, median of 3):")
    for alt in result["alternatives"]:
        owasp = "meets OWASP" if alt["meets_owasp"] else "below OWASP"
        print(f"    {alt['params']:<40} {alt['cpu_ms']:>8.1f} {alt['wall_ms']:>8.1f}  {owasp}")
    print(f"  concurrent logins in threads, one fresh process each (hasher slots: "
          f"{result['slots']} per process):")
    print(f"    {'threads':>7} {'peak RSS MiB':>12} {'before MiB':>10} {'growth MiB':>10} "
          f"{'wall s':>7}")
    for m in result["memory"]:
        print(f"    {m['threads']:>7} {m['peak_rss_mib']:>12.0f} {m['baseline_rss_mib']:>10.0f} "
              f"{m['growth_mib']:>10.0f} {m['wall_s']:>7.2f}")


def memory(threads: int) -> dict[str, Any]:
    """Peak RSS of a fresh process running ``threads`` concurrent logins."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.logins", "memory", str(threads), EMAIL, PASSWORD],
        cwd=root, env={**os.environ, "BENCH_SQLITE_IMMEDIATE": "1"}, capture_output=True,
        text=True, timeout=300,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"memory child ({threads} threads) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _status_kib(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in KiB.

    Not ``getrusage().ru_maxrss``: Linux carries it over ``exec`` from the forked copy of
    the parent, so a child of a big benchmark process would report the parent's size.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/self/status")  # pragma: no cover - Linux only


def _child(threads: int, email: str, password: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from django.db import connections
    from django.test.utils import override_settings

    from ainative_auth.exceptions import InvalidCredentials
    from ainative_auth.services.accounts import login_with_password

    with override_settings(PASSWORD_HASHERS=HASHERS):
        # Everything but the hash itself loaded and warm: one failed lookup of an address.
        try:
            login_with_password(email="warm-" + email, password="x" * 8)  # hashes once, too
        except InvalidCredentials:
            pass
        before = _status_kib("VmRSS")
        errors: list[BaseException] = []
        barrier = threading.Barrier(threads)

        def one() -> None:
            try:
                barrier.wait()
                login_with_password(email=email, password=password)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        t0 = time.perf_counter()
        workers = [threading.Thread(target=one) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} of {threads} logins failed: {errors[0]!r}")
    peak = _status_kib("VmHWM")
    print(json.dumps({"threads": threads, "peak_rss_mib": peak / 1024,
                      "baseline_rss_mib": before / 1024, "growth_mib": (peak - before) / 1024,
                      "wall_s": wall}))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "memory":
        _child(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        raise SystemExit("usage: python -m benchmarks.logins memory THREADS EMAIL PASSWORD")
