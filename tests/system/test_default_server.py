"""`make run` as shipped, the real thing: gunicorn with ``example_project/gunicorn.conf.py``
in its default environment (no ``REDIS_URL``, ``WEB_CONCURRENCY`` unset, a migrated SQLite
file, nothing else set up).

F6: every limit, nonce and single-use value is one budget whichever process or thread
answers: a replayed RFC 9421 request, the sixth wrong login of five allowed, a second use
of an OAuth state or code are refused every time; and a configuration that would split
them (several processes on a per-process cache) refuses to start, naming the fix. Every
request goes on a fresh connection, as separate clients' would.

F10: proxy headers (``X-Forwarded-Proto``, ``X-Forwarded-Ssl``, ``SCRIPT_NAME``) sent by a
client are trusted by nobody unless ``TRUST_X_FORWARDED_PROTO`` says there is a proxy,
and then only ``X-Forwarded-Proto``, the one header Django is told to read.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.checks import run_checks
from django.urls import reverse

from ainative_auth.checks import per_process_caches
from tests.oauth_standins import CALLBACK, FakeGitHub, github_user, sign_in_at
from tests.servers import ROOT, Server, free_port, migrated_sqlite_url, start_servers
from tests.signing import sign_v2

# `make run`'s environment: its own SQLite, no Redis. The run's database and cache do not
# reach these tests (.ci/run's PostgreSQL pass leaves them out).
pytestmark = pytest.mark.standalone

PASSWORD = "one process, one truth"
LOGIN_LIMIT = 5  # the server's `login` rate, per minute

# `make run`'s environment: what the test run itself may have set (CI sets REDIS_URL) is
# unset, so the configuration's own defaults decide.
DEFAULT_ENV: dict[str, str | None] = {
    "REDIS_URL": None, "CACHE_URL": None, "WEB_CONCURRENCY": None, "GUNICORN_THREADS": None,
    "TRUST_X_FORWARDED_PROTO": None, "FORWARDED_ALLOW_IPS": None, "SECURE_COOKIES": None,
    "DEBUG": None,
}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite_url(tmp_path_factory.mktemp("default-server") / "db.sqlite3")


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    standin = FakeGitHub()
    try:
        yield standin
    finally:
        standin.close()


@pytest.fixture(scope="module")
def server(database: str, github: FakeGitHub) -> Iterator[Server]:
    """The default server, with a login limit small enough to reach and GitHub configured
    (its stand-in; the oauth limit raised so that the cycles below never meet it)."""
    env = {
        **DEFAULT_ENV, "DATABASE_URL": database,
        "AINATIVE_AUTH_THROTTLE_RATES": f"login={LOGIN_LIMIT}/minute,oauth=1000/minute",
        "GITHUB_URL": github.url, "GITHUB_CLIENT_ID": github.client_id,
        "GITHUB_CLIENT_SECRET": github.secret, "OAUTH_REDIRECT_URIS": CALLBACK,
    }
    with start_servers(1, env) as (base,):
        wait_for_every_worker(base)
        yield base


def wait_for_every_worker(server: Server, timeout: float = 30) -> None:
    """Return once every worker process of ``server`` has booted. The first answer only
    says that one has: requests sent then could all go to it while another still loads
    the app, and a store kept per process would pass for a shared one. A booted gthread
    worker waits for connections in ``epoll_wait`` (Linux ``/proc/<pid>/wchan``); with
    one worker there is nothing to wait for."""
    deadline = time.monotonic() + timeout
    while len(pids := server.worker_pids()) > 1 and time.monotonic() < deadline:
        try:
            waiting = [Path(f"/proc/{pid}/wchan").read_text() for pid in pids]
        except OSError:
            waiting = []  # a worker was just replaced: look again
        if waiting and all(place == "do_epoll_wait" for place in waiting):
            return
        time.sleep(0.1)


def call(base: str, method: str, name: str, **kwargs: Any) -> requests.Response:
    """One request on a new connection (no session: ``requests`` opens one per call)."""
    kwargs.setdefault("timeout", 10)
    return requests.request(method, f"{base}{reverse(name)}", **kwargs)


def error_codes(responses: list[requests.Response]) -> list[tuple[int, str | None]]:
    return [(r.status_code, r.json().get("error_code") if r.status_code >= 400 else None)
            for r in responses]


# --- F6: one budget, whichever process or thread answers ------------------------------------


def verify_address(database: str, email: str) -> None:
    """Mark ``email`` verified in the server's SQLite file (the link went to its console):
    a user creates API keys only with a verified address."""
    db = sqlite3.connect(database.removeprefix("sqlite:///"))
    try:
        with db:  # commits
            changed = db.execute(
                "UPDATE account_emailaddress SET verified = 1 WHERE email = ?", (email,)
            ).rowcount
    finally:
        db.close()
    assert changed == 1


def test_a_replayed_v2_signed_request_is_accepted_exactly_once(server: Server,
                                                               database: str) -> None:
    registered = call(server, "POST", "ainative_auth:register",
                      json={"email": "signer@example.com", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    bearer = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    verify_address(database, "signer@example.com")
    created = call(server, "POST", "ainative_auth:api-keys", json={"name": "signer"},
                   headers=bearer)
    assert created.status_code == 201, created.text
    key_id, secret = created.json()["prefix"], created.json()["signing_secret"]
    signed = sign_v2("GET", f"{server}{reverse('ainative_auth:me')}", key_id=key_id,
                     secret=secret)

    answers = [call(server, "GET", "ainative_auth:me", headers=signed) for _ in range(24)]

    assert error_codes(answers) == [(200, None)] + [(401, "signature_invalid")] * 23
    # The same request with a fresh nonce is fine: the nonce was the reason.
    fresh = sign_v2("GET", f"{server}{reverse('ainative_auth:me')}", key_id=key_id,
                    secret=secret)
    assert call(server, "GET", "ainative_auth:me", headers=fresh).status_code == 200


def test_wrong_logins_spend_one_budget(server: Server) -> None:
    # The windows are fixed minutes of the real clock: start early in one, so the
    # attempts below cannot straddle two.
    if time.time() % 60 > 55:
        time.sleep(61 - time.time() % 60)
    wrong = {"email": "nobody@example.com", "password": "not the password at all"}

    answers = [call(server, "POST", "ainative_auth:login", json=wrong)
               for _ in range(4 * LOGIN_LIMIT)]

    statuses = [answer.status_code for answer in answers]
    assert statuses == [401] * LOGIN_LIMIT + [429] * 3 * LOGIN_LIMIT
    assert all(int(answer.headers["Retry-After"]) > 0 for answer in answers[LOGIN_LIMIT:])


def oauth_cycle(server: Server, github: FakeGitHub, number: int) -> dict[str, str]:
    """GET authorize, the provider's consent, the code and state it sends back."""
    started = call(server, "GET", "ainative_auth:github-authorize",
                   params={"redirect_uri": CALLBACK})
    assert started.status_code == 200, started.text
    user = github_user(uid=9000 + number, email=f"octo{number}@example.com",
                       login=f"octo{number}")
    return sign_in_at(github, started.json()["authorization_url"], user)


def oauth_callback(server: Server, **body: str) -> requests.Response:
    return call(server, "POST", "ainative_auth:github-callback",
                json={"redirect_uri": CALLBACK, **body})


def test_every_oauth_state_and_code_works_once_whichever_thread_answers(
    server: Server, github: FakeGitHub,
) -> None:
    callbacks = [oauth_callback(server, **oauth_cycle(server, github, n)) for n in range(12)]

    assert error_codes(callbacks) == [(200, None)] * 12
    # A state used once is refused the second time (with a code never used) ...
    used = oauth_cycle(server, github, 12)
    assert oauth_callback(server, **used).status_code == 200
    fresh_code = github.grant_code(github_user(uid=9012, email="octo12@example.com"))
    replayed = oauth_callback(server, code=fresh_code, state=used["state"])
    assert error_codes([replayed]) == [(400, "invalid_state")]
    # ... and a code used once is refused with a fresh state, before it reaches GitHub.
    exchanges = len(github.requests_to(github.token_path))
    fresh_state = oauth_cycle(server, github, 13)["state"]
    reused = oauth_callback(server, code=used["code"], state=fresh_state)
    assert error_codes([reused]) == [(400, "invalid_code")]
    assert len(github.requests_to(github.token_path)) == exchanges


# --- F6: a configuration that would split them refuses to start ------------------------------


def run_gunicorn(database: str, **env: str | None) -> tuple[int | None, str]:
    """Start the example's gunicorn as `make run` does, plus ``env``. Return its exit code
    and everything it printed; or, once it has bound its port and forked its workers
    (logged as "Booting worker"; the workers need not finish loading), stop it and return
    None and what it printed by then."""
    merged = {**os.environ, **DEFAULT_ENV, "DATABASE_URL": database,
              "DJANGO_SETTINGS_MODULE": "example_project.settings", "PORT": str(free_port()),
              "GUNICORN_LOG_LEVEL": "info", **env}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and config
        [sys.executable, "-m", "gunicorn", "-c", "example_project/gunicorn.conf.py",
         "example_project.wsgi:application"],
        cwd=ROOT, env={name: value for name, value in merged.items() if value is not None},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    expected = int(merged.get("WEB_CONCURRENCY") or 0) or None
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            booting = sum("Booting worker" in line for line in list(lines))
            if expected is not None and booting >= expected:
                process.send_signal(signal.SIGQUIT)  # quick shutdown: no request to finish
                process.wait(timeout=20)
                reader.join(timeout=5)
                return None, "".join(lines)
            time.sleep(0.05)
        process.wait(timeout=1)
        reader.join(timeout=5)
        return process.returncode, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_two_processes_on_the_in_process_cache_refuse_to_start(database: str) -> None:
    returncode, output = run_gunicorn(database, WEB_CONCURRENCY="2")

    assert returncode not in (None, 0), output
    assert "WEB_CONCURRENCY=2 with a per-process cache ('default': LocMemCache)" in output
    assert "Set REDIS_URL" in output and "or WEB_CONCURRENCY=1" in output
    assert "Listening at" not in output  # refused before the port was even opened


def test_two_processes_on_a_shared_cache_start(database: str) -> None:
    """The refusal is about the cache, not the number: with Redis configured (the server
    need not reach it to start) several processes are allowed."""
    returncode, output = run_gunicorn(database, REDIS_URL="redis://127.0.0.1:9/0",
                                      WEB_CONCURRENCY="2")

    assert returncode is None, output
    assert "Listening at" in output and "per-process cache" not in output


def test_per_process_caches_names_the_aliases_a_second_process_would_split(
    settings: Any, tmp_path: Path,
) -> None:
    locmem = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache",
             "LOCATION": "redis://127.0.0.1:9/0"}
    settings.CACHES = {"default": locmem}
    assert per_process_caches() == ["default"]
    for backend in ("dummy.DummyCache", "filebased.FileBasedCache"):
        settings.CACHES = {"default": {"BACKEND": f"django.core.cache.backends.{backend}",
                                       "LOCATION": str(tmp_path)}}
        assert per_process_caches() == ["default"]
    settings.CACHES = {"default": redis}
    assert per_process_caches() == []
    # Throttles and nonces on Redis, OAuth state left on the local default: still split.
    settings.CACHES = {"default": locmem, "shared": redis}
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "THROTTLE_CACHE": "shared"}
    assert per_process_caches() == ["default"]
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "OAUTH_CACHE": "shared"}
    assert per_process_caches() == []


# The model checks run too, and on SQLite Django 6.x asks the connection whether it has
# JSON fields: the database must be open to this test, whatever ran before it.
@pytest.mark.django_db
def test_check_deploy_warns_that_a_per_process_cache_means_one_process(settings: Any) -> None:
    def w005(deploy: bool) -> list[Any]:
        return [message for message in run_checks(include_deployment_checks=deploy)
                if message.id == "ainative_auth.W005"]

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    [warning] = w005(deploy=True)
    assert "'default'" in warning.msg and "one process" in warning.msg
    assert "Redis" in warning.hint
    assert w005(deploy=False) == []  # a development server is one process anyway
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:9/0"}}
    assert w005(deploy=True) == []


# --- F10: proxy headers are trusted from nobody unless told -----------------------------------

SPOOFED_SCHEMES = ({"X-Forwarded-Proto": "https"}, {"X-Forwarded-Ssl": "on"},
                   {"X-Forwarded-Protocol": "ssl"})


def csrf_cookie(response: requests.Response) -> str:
    """The ``Set-Cookie`` header of the CSRF cookie, as sent."""
    [cookie] = [value for value in response.raw.headers.getlist("Set-Cookie")
                if value.startswith("csrftoken=")]
    return str(cookie)


def looks_https(base: str, headers: dict[str, str]) -> tuple[bool, bool]:
    """Whether the server took the request for https: (HSTS sent, CSRF cookie Secure)."""
    health = call(base, "GET", "ainative_auth:health", headers=headers)
    assert health.status_code == 200, health.text
    page = call(base, "GET", "ainative_auth_pages:login", headers=headers)
    assert page.status_code == 200
    secure = "; secure" in csrf_cookie(page).lower()
    return "Strict-Transport-Security" in health.headers, secure


@pytest.mark.parametrize("spoofed", SPOOFED_SCHEMES, ids=lambda h: next(iter(h)))
def test_a_clients_scheme_headers_are_not_trusted(server: Server, spoofed: dict[str, str],
                                                  ) -> None:
    assert looks_https(server, spoofed) == (False, False)


def test_a_clients_script_name_does_not_move_the_routes(server: Server) -> None:
    plain = call(server, "GET", "ainative_auth:health")
    prefixed = call(server, "GET", "ainative_auth:health", headers={"SCRIPT_NAME": "/api"})
    assert (prefixed.status_code, prefixed.json()) == (plain.status_code, plain.json())
    assert plain.status_code == 200


def test_behind_a_trusted_proxy_x_forwarded_proto_alone_says_https(database: str) -> None:
    with start_servers(1, {**DEFAULT_ENV, "DATABASE_URL": database,
                           "TRUST_X_FORWARDED_PROTO": "1"}) as (base,):
        assert looks_https(base, {"X-Forwarded-Proto": "https"}) == (True, True)
        assert looks_https(base, {}) == (False, False)
        # gunicorn's other scheme headers are not Django's: they say nothing here either.
        assert looks_https(base, {"X-Forwarded-Ssl": "on"}) == (False, False)
        assert looks_https(base, {"X-Forwarded-Protocol": "ssl"}) == (False, False)
        prefixed = call(base, "GET", "ainative_auth:health", headers={"SCRIPT_NAME": "/api"})
        assert prefixed.status_code == 200
