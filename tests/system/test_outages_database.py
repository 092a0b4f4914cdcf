"""REL-1, the database goes away under a running server, and comes back.

A real gunicorn server of the example project (``tests/servers.py``) talks to PostgreSQL
through a TCP proxy this test runs on loopback, and the test cuts the proxy: open
connections are reset and the port is closed, exactly what a stopped or restarted
database looks like to a server with persistent connections (``CONN_MAX_AGE`` 60,
``CONN_HEALTH_CHECKS`` on, as in the example settings). Then:

- every endpoint answers 503 with the error body (``service_unavailable``) and
  ``Retry-After``, the pages included: never a 500, never HTML, never a redirect to log in;
- a refresh answers 503, never 401 (RFC 7009 section 2.2.1: on a 503 a client keeps its
  token and retries), and the refresh token still works afterwards;
- nothing is authenticated from a credential alone (an access token that verified a
  moment ago, an API key, a signature) while its session or key cannot be checked;
- when the database returns the same server process answers normally again, at once.

``hang()`` makes the database unreachable without refusing connections (a partition):
only ``connect_timeout`` (``DATABASE_CONNECT_TIMEOUT``, 2 s here) ends each attempt.

Run with
``DATABASE_URL=postgres://... REDIS_URL=redis://... pytest tests/system/test_outages_database.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings

from ainative_auth.credentials.email_tokens import reset_password_tokens
from ainative_auth.models import AccountEmail, RefreshSession
from tests.outages import (
    PASSWORD,
    SERVER_ENV,
    Account,
    assert_all_answer_normally,
    assert_all_unavailable,
    assert_unavailable,
    call,
    representative_requests,
    restore_and_assert_recovered,
    run_all,
    sign_up,
)
from tests.servers import (
    SERVERS_SECRET_KEY,
    Server,
    TCPProxy,
    database_port,
    servers_database_url,
    start_servers,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def database() -> Iterator[TCPProxy]:
    """PostgreSQL as the server sees it: through a proxy the test can cut."""
    with TCPProxy(database_port()) as proxy:
        yield proxy


@pytest.fixture
def server(database: TCPProxy) -> Iterator[Server]:
    env = {**SERVER_ENV, "DATABASE_URL": servers_database_url(database.port),
           "DATABASE_CONNECT_TIMEOUT": "2"}
    with start_servers(1, env) as (base,):
        yield base


@pytest.fixture
def account(server: Server) -> Iterator[Account]:
    signed_up = sign_up(server, "outage@example.com")
    yield signed_up
    # Before the server stops: a kept-alive connection would hold its graceful stop.
    signed_up.browser.close()


def test_with_the_database_gone_every_endpoint_answers_503_and_the_same_process_recovers(
    server: Server, database: TCPProxy, account: Account
) -> None:
    probes = representative_requests(server, account)
    # Every request works, and has put a persistent connection in its worker thread.
    assert_all_answer_normally(run_all(probes))
    workers = server.worker_pids()
    forgetful = call(server, "POST", "/api/v1/auth/register",
                     json={"email": "forgetful@example.com", "password": PASSWORD})
    assert forgetful.status_code == 201

    database.cut()
    refresh_token = account.refresh
    assert_all_unavailable(run_all(probes))
    # Twice: a failed reconnect does not turn the next request into something else.
    assert_all_unavailable(run_all(probes))
    assert account.refresh == refresh_token  # no 401 made the client drop it

    # A reset link followed during the outage is not used up by it.
    with override_settings(SECRET_KEY=SERVERS_SECRET_KEY):
        reset_token = reset_password_tokens.make_email_token(
            get_user_model().objects.get(pk=forgetful.json()["user"]["id"]))
    reset = {"token": reset_token, "new_password": "a new password after the outage"}
    assert_unavailable(call(server, "POST", "/api/v1/auth/reset-password", json=reset))

    database.restore()
    # The very first request after the database is back succeeds, in the same process.
    first = probes["me (Bearer)"]()
    assert first.status_code == 200, first.text
    assert_all_answer_normally(run_all(probes))
    assert account.refresh != refresh_token  # the refresh token held over the outage worked
    assert server.worker_pids() == workers
    reset_now = call(server, "POST", "/api/v1/auth/reset-password", json=reset)
    assert reset_now.status_code == 200, reset_now.text


def test_with_the_database_unreachable_requests_end_at_the_connect_timeout_with_503(
    server: Server, database: TCPProxy, account: Account
) -> None:
    probes = representative_requests(server, account)
    chosen = {name: probes[name] for name in (
        "health", "login", "refresh", "me (Bearer)", "me (API key)", "me (signed v2)",
        "dashboard (browser)", "login page")}
    assert_all_answer_normally(run_all(chosen))
    workers = server.worker_pids()

    # Connections are accepted and never answered: without connect_timeout these requests
    # would hang for as long as the partition lasts (the client gives up after 20 s).
    database.hang()
    assert_all_unavailable(run_all(chosen))

    restore_and_assert_recovered(database, server, chosen, workers)


def test_sign_ups_and_logins_cut_off_midway_leave_no_partial_account_and_no_orphan_token(
    server: Server, database: TCPProxy, account: Account
) -> None:
    """REL-1: "no token is returned unless its server-side state was committed", "kill
    the DB connection in the middle of register: no partial user; register again: 201"."""
    user_model = get_user_model()
    for round_, delay in enumerate((0.05, 0.25)):
        emails = [f"cut-{round_}-{i}@example.com" for i in range(4)]

        def register(email: str) -> requests.Response:
            return call(server, "POST", "/api/v1/auth/register",
                        json={"email": email, "password": PASSWORD})

        def log_in(_: int) -> requests.Response:
            return call(server, "POST", "/api/v1/auth/login",
                        json={"email": account.email, "password": PASSWORD})

        with ThreadPoolExecutor(max_workers=10) as pool:
            registering = [pool.submit(register, email) for email in emails]
            logging_in = [pool.submit(log_in, i) for i in range(2)]
            time.sleep(delay)
            database.cut()
            registered = [future.result() for future in registering]
            logged_in = [future.result() for future in logging_in]
        database.restore()

        for response in registered + logged_in:
            assert response.status_code in (200, 201, 503), response.text
            if response.status_code == 503:
                assert_unavailable(response)
        # Every token handed out has its session row; every account is whole.
        for response in registered + logged_in:
            if response.status_code in (200, 201):
                session_id = response.json()["refresh_token"].split(".")[0]
                assert RefreshSession.objects.filter(pk=session_id, revoked_at=None).exists()
        for email, response in zip(emails, registered, strict=True):
            users = list(user_model.objects.filter(email=email))
            assert len(users) <= 1
            if response.status_code == 201:
                assert users
            for user in users:
                assert AccountEmail.objects.filter(user=user, email=email).count() == 1
                assert EmailAddress.objects.filter(user=user, email=email).count() == 1
            # A client retrying gets its account: a 201, or a 409 if the first attempt
            # had committed it before the connection dropped (REL-8).
            again = register(email)
            if users:
                assert again.status_code == 409, again.text
            else:
                assert again.status_code == 201, again.text


def test_a_request_stuck_behind_a_lock_answers_503_at_the_statement_timeout() -> None:
    """A transaction that holds a row and never finishes (a stuck job, a shell left open)
    must not hold every request that needs the row, and their threads, with it: the
    server cancels the waiting statement after ``DATABASE_STATEMENT_TIMEOUT`` (1 s here)
    and the request is a 503; once the lock goes, the same login works."""
    env = {**SERVER_ENV, "DATABASE_STATEMENT_TIMEOUT": "1"}
    with start_servers(1, env) as (server,):
        account = sign_up(server, "locked@example.com")
        account.browser.close()
        login = {"email": account.email, "password": PASSWORD}
        with transaction.atomic():
            get_user_model().objects.select_for_update().get(pk=account.user_id)
            stuck = call(server, "POST", "/api/v1/auth/login", json=login)
            assert_unavailable(stuck)  # answered while the row is still locked
        again = call(server, "POST", "/api/v1/auth/login", json=login)
        assert again.status_code == 200, again.text
