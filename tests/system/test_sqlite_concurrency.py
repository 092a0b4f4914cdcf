"""SQLite, the default, under ordinary concurrency (issue 8, item 5).

The test database is in memory and the test client runs one request at a time, so this
runs the example project (its own settings, as ``make run`` does) on a SQLite *file* in a
subprocess with a threaded WSGI server, and sends it real parallel HTTP requests. Before
the example project used ``transaction_mode="IMMEDIATE"`` and a busy timeout, 10 parallel
resets of one token gave one 200 and nine 503s, and 10 parallel key creations seven 503s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency import run_together

# SQLite files of their own, whatever the run's database (.ci/run's PostgreSQL pass leaves
# these tests out).
pytestmark = pytest.mark.standalone

ROOT = Path(__file__).resolve().parents[2]
PARALLEL = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    db = tmp_path_factory.mktemp("sqlite") / "db.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sqlite_server", str(db)], cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            process.wait(timeout=30)
            pytest.fail(f"the server did not start: {process.stderr.read()[-3000:]}")
        info = json.loads(line)
        info["base"] = f"http://127.0.0.1:{info['port']}/api/v1/"
        info["process"] = process
        yield info
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def call(server: dict[str, Any], method: str, path: str, body: dict | None = None,
         token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        server["base"] + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def outcomes(results: list[tuple[int, dict]]) -> Counter:
    return Counter((status, body.get("error_code")) for status, body in results)


def test_the_example_project_runs_sqlite_with_immediate_transactions_and_a_busy_timeout():
    code = ("import example_project.settings as s; o = s.DATABASES['default']['OPTIONS']; "
            "print(o['transaction_mode'], o['timeout'])")
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x" * 50}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    assert out.stdout.split() == ["IMMEDIATE", "20"]


def test_parallel_resets_of_one_token_give_one_200_and_400s_never_503(server):
    token = server["reset_token"]
    results = run_together([
        lambda i=i: call(server, "POST", "auth/reset-password",
                         {"token": token, "new_password": f"a brand new passphrase {i}"})
        for i in range(PARALLEL)
    ])
    assert outcomes(results) == {(200, None): 1, (400, "token_invalid"): PARALLEL - 1}


def test_parallel_key_creations_all_succeed_never_503(server):
    access = server["access_token"]
    results = run_together([
        lambda i=i: call(server, "POST", "api-keys", {"name": f"agent {i}"}, token=access)
        for i in range(PARALLEL)
    ])
    assert outcomes(results) == {(201, None): PARALLEL}
    status, keys = call(server, "GET", "api-keys", token=access)
    assert status == 200 and len(keys) == PARALLEL


def test_parallel_registrations_of_one_address_give_one_201_and_409s_never_503(server):
    results = run_together([
        lambda i=i: call(server, "POST", "auth/register",
                         {"email": "Race@Example.com" if i % 2 else "race@example.com",
                          "password": "a long enough passphrase", "name": f"Racer {i}"})
        for i in range(PARALLEL)
    ])
    assert outcomes(results) == {(201, None): 1, (409, "email_taken"): PARALLEL - 1}
