"""Hostile inputs a real server answers before (or while) Django reads the request: F2 huge,
chunked, endless and slow bodies; F3 ambiguous framing; F17 huge heads. Sent over raw
sockets to the example project's gunicorn (``make run``'s configuration, one worker of
four threads, a read deadline of ``READ_TIMEOUT`` seconds) on its own SQLite file.

Every refusal is the documented 4xx with the JSON error body, the connection is closed
when its framing can no longer be trusted, nothing is written or sent (every table a
request can write and the folder the server's mail goes to are compared before and
after; the request's valid twin still succeeds afterwards), and the server goes on
serving other clients. Where "quickly"
matters it is shown by order, never by wall time: the refusal arrives while the hostile
client is still sending.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_error
from tests.servers import api, migrated_sqlite_url, start_servers

# The server runs on its own SQLite without Redis: the run's database and cache do not
# reach these tests (.ci/run's PostgreSQL pass leaves them out).
pytestmark = pytest.mark.standalone

READ_TIMEOUT = 2  # the servers' GUNICORN_READ_TIMEOUT, seconds
PASSWORD = "edge of the server 1"
REGISTER = "/api/v1/auth/register"


# Every table a request can write.
TABLES = ("auth_user", "ainative_auth_accountemail", "account_emailaddress",
          "ainative_auth_refreshsession", "ainative_auth_apikey", "socialaccount_socialaccount")


class EdgeServer(str):
    """The server's base URL, with its SQLite file and the folder its mail goes to."""

    database: Path
    mail: Path

    def state(self) -> tuple[Any, ...]:
        """Every row of every table a request can write, and every mail sent."""
        with contextlib.closing(sqlite3.connect(self.database)) as db:
            rows = tuple(tuple(db.execute(f"SELECT * FROM {table} ORDER BY 1"))  # noqa: S608
                         for table in TABLES)
        return rows, tuple(sorted(path.name for path in self.mail.iterdir()))

    def users(self) -> list[str]:
        with contextlib.closing(sqlite3.connect(self.database)) as db:
            return [email for (email,) in db.execute("SELECT email FROM auth_user ORDER BY id")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    folder = tmp_path_factory.mktemp("edge")
    (folder / "mail").mkdir()
    env = {"DATABASE_URL": migrated_sqlite_url(folder / "db.sqlite3"), "REDIS_URL": "",
           "CACHE_URL": "", "GUNICORN_READ_TIMEOUT": str(READ_TIMEOUT),
           "EMAIL_BACKEND": "tests.mail_backends.DirectoryBackend",
           "TEST_MAIL_DIR": str(folder / "mail"),
           "AINATIVE_AUTH_THROTTLE_RATES": "register=1000/minute,login=1000/minute"}
    with start_servers(1, env) as (base,):
        edge = EdgeServer(base)
        edge.database, edge.mail = folder / "db.sqlite3", folder / "mail"
        yield edge


@pytest.fixture
def unchanged(server: EdgeServer) -> Iterator[None]:
    """For tests that only send hostile requests: afterwards every table and the mail
    folder are as they were."""
    before = server.state()
    yield
    assert server.state() == before


@dataclass
class RawResponse:
    """One answer read off a raw socket, shaped for ``assert_error``."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    closed: bool = field(default=False)  # the server closed the connection after it

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.headers


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=20)
    return sock


class _Unbuffered:
    """The socket as ``http.client`` reads a response from it: through an unbuffered file,
    so that no byte of what follows (a pipelined answer, the close) is taken with it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> Any:
        return self.sock.makefile(mode, buffering=0)


def read_response(sock: socket.socket, *, check_close: bool = True) -> RawResponse:
    reply = http.client.HTTPResponse(_Unbuffered(sock))  # a socket-like: makefile only
    reply.begin()
    content = reply.read()
    headers = {name.lower(): value for name, value in reply.getheaders()}
    closed = False
    if check_close:
        closed = _closed(sock)
    return RawResponse(reply.status, headers, content, closed)


def _closed(sock: socket.socket) -> bool:
    """Whether the server closes the connection (EOF or reset) within the deadline and a
    margin; a connection kept open answers nothing and times out instead."""
    sock.settimeout(READ_TIMEOUT + 5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def exchange(base: str, data: bytes, *, shut_write: bool = False, check_close: bool = True
             ) -> RawResponse:
    with connect(base) as sock:
        sock.sendall(data)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        return read_response(sock, check_close=check_close)


def head(method: str, path: str, *lines: str) -> bytes:
    lines = ("Host: 127.0.0.1", *lines)
    text = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{line}\r\n" for line in lines)
    return (text + "\r\n").encode("latin-1")


def register_body(email: str) -> bytes:
    return json.dumps({"email": email, "password": PASSWORD, "name": "Edge"}).encode()


def fresh_email() -> str:
    return f"edge-{secrets.token_hex(4)}@example.com"


def assert_nothing_created(server: EdgeServer, email: str, before: tuple[Any, ...]) -> None:
    """Nothing was written or mailed, and the refused request's valid twin still registers
    the address (and is mailed: the check would see a mail)."""
    assert server.state() == before
    assert register(server, email).status_code == 201


def register(server: EdgeServer, email: str, **kwargs: Any) -> Any:
    """Register over HTTP and wait for the verification mail the server sends after the
    commit, in the background: a later test's before/after comparison must not see it
    arrive."""
    mails = len(list(server.mail.iterdir()))
    response = api(server, "POST", "auth/register",
                   json={"email": email, "password": PASSWORD, "name": "Edge"}, **kwargs)
    if response.status_code == 201:
        wait_for_mail(server, mails + 1)
    return response


def wait_for_mail(server: EdgeServer, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(list(server.mail.iterdir())) < count:
        assert time.monotonic() < deadline, "the verification mail never came"
        time.sleep(0.05)


def assert_still_serving(base: str) -> None:
    assert api(base, "GET", "health").status_code == 200


class Dribbler(threading.Thread):
    """Sends ``data`` to a connection one piece every ``interval`` seconds and records how
    much it got to send before the server answered or hung up."""

    def __init__(self, sock: socket.socket, pieces: list[bytes], interval: float) -> None:
        super().__init__(daemon=True)
        self.sock, self.pieces, self.interval = sock, pieces, interval
        self.sent = 0
        self.finished = threading.Event()  # every piece was sent
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            for piece in self.pieces:
                if self.stop.wait(self.interval):
                    return
                self.sock.sendall(piece)
                self.sent += 1
            self.finished.set()
        except OSError:
            return  # the server hung up on us


def dribble(sock: socket.socket, data: bytes, interval: float = 0.25) -> Dribbler:
    sender = Dribbler(sock, [data[i:i + 1] for i in range(len(data))], interval)
    sender.start()
    return sender


def slow_post(server: EdgeServer, path: str, content_type: str, body: bytes
              ) -> tuple[RawResponse, Dribbler]:
    """POST ``body`` at 4 bytes a second; the answer, and how far the sender got."""
    with connect(server) as sock:
        sock.sendall(head("POST", path, f"Content-Type: {content_type}",
                          f"Content-Length: {len(body)}"))
        sender = dribble(sock, body)
        response = read_response(sock)
        sender.stop.set()
    return response, sender


# --- the deadline itself ------------------------------------------------------------------


def test_the_deadline_refuses_waiting_not_bytes_already_sent() -> None:
    """Past the deadline, what the client has already sent is still read (the application
    may have been slow to ask for it); only waiting for more is refused."""
    from example_project.gunicorn_worker import DeadlineSocket, RequestReadTimeout

    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        reader = DeadlineSocket(server_side)
        reader.deadline = time.monotonic() - 1
        client_side.sendall(b"already here")
        assert reader.recv(100) == b"already here"
        with pytest.raises(RequestReadTimeout):
            reader.recv(100)
        reader.deadline = time.monotonic() + 0.2
        with pytest.raises(RequestReadTimeout):
            reader.recv(100)  # waits out the 0.2 s, then refuses
        assert server_side.gettimeout() is None  # the socket is left as it was
        reader.deadline = None
        client_side.sendall(b"no deadline")
        assert reader.recv(100) == b"no deadline"


# --- F2: huge, chunked, endless and slow bodies --------------------------------------------


def test_a_50_mb_body_is_refused_413_without_being_read(server: EdgeServer) -> None:
    before = server.state()
    email = fresh_email()
    size = 50 * 1024 * 1024
    prefix = register_body(email)[:-1] + b', "pad": "'
    with connect(server) as sock:
        sock.sendall(head("POST", REGISTER, "Content-Type: application/json",
                          f"Content-Length: {size}") + prefix)
        sent = {"bytes": len(prefix)}

        def flood() -> None:
            block = b"a" * (1024 * 1024)
            try:
                while sent["bytes"] < size:
                    sock.sendall(block)
                    sent["bytes"] += len(block)
            except OSError:
                pass

        sender = threading.Thread(target=flood, daemon=True)
        sender.start()
        response = read_response(sock)
        sender.join(timeout=30)
    assert_error(response, 413, "request_too_large")
    assert response.closed
    # Refused on its declared length: the server hung up long before 50 MB went through.
    assert sent["bytes"] < size
    assert_nothing_created(server, email, before)


def test_a_chunked_body_is_refused_411_not_read_as_empty(server: EdgeServer) -> None:
    before = server.state()
    email = fresh_email()
    body = register_body(email)
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    response = exchange(server, head("POST", REGISTER, "Content-Type: application/json",
                                     "Transfer-Encoding: chunked") + chunked,
                        check_close=False)  # framed well: the connection may be kept
    assert_error(response, 411, "length_required")
    assert_nothing_created(server, email, before)


@pytest.mark.usefixtures("unchanged")
def test_a_chunked_body_that_never_ends_is_refused_and_cut_off(server: EdgeServer) -> None:
    with connect(server) as sock:
        sock.sendall(head("POST", REGISTER, "Content-Type: application/json",
                          "Transfer-Encoding: chunked") + b"1\r\n{\r\n")
        sender = Dribbler(sock, [b"1\r\n \r\n"] * 200, interval=0.05)  # 10 s of chunks
        sender.start()
        response = read_response(sock)
        sender.stop.set()
    assert_error(response, 411, "length_required")
    assert response.closed  # the rest is not drained forever: the connection is dropped
    assert not sender.finished.is_set()
    assert_still_serving(server)


def test_a_slow_body_is_cut_off_at_the_deadline_with_408(server: EdgeServer) -> None:
    before = server.state()
    email = fresh_email()
    body = register_body(email)  # ~80 bytes at 4 a second: 20 s, the deadline is 2 s
    response, sender = slow_post(server, REGISTER, "application/json", body)
    assert_error(response, 408, "request_timeout")
    assert response["Connection"] == "close" and response.closed
    assert not sender.finished.is_set() and sender.sent < len(body)
    assert_nothing_created(server, email, before)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("path", ["/login", "/admin/login/"])
def test_a_slow_form_body_to_a_page_is_refused_not_a_500(server: EdgeServer, path: str) -> None:
    """The pages read forms through Django's CSRF check, which takes an unreadable body
    as a failed check: a 403, never a server error."""
    form = b"email=edge%40example.com&password=edge+of+the+server+1"
    response, sender = slow_post(server, path, "application/x-www-form-urlencoded", form)
    assert response.status_code == 403
    assert not sender.finished.is_set()


def test_slow_clients_on_every_thread_do_not_lock_out_the_others(server: EdgeServer) -> None:
    """Six slow bodies for a worker of four threads: without the deadline each would hold
    its thread for 20 s and every other client would wait behind them."""
    slow = [connect(server) for _ in range(6)]
    senders = []
    users_before = server.users()
    try:
        for sock in slow:
            body = register_body(fresh_email())
            sock.sendall(head("POST", REGISTER, "Content-Type: application/json",
                              f"Content-Length: {len(body)}"))
            senders.append(dribble(sock, body))
        time.sleep(0.5)  # the slow ones hold the threads now
        other_email = fresh_email()
        other = register(server, other_email, timeout=30)
        still_sending = [not sender.finished.is_set() for sender in senders]
        statuses = [read_response(sock, check_close=False).status_code for sock in slow]
    finally:
        for sender in senders:
            sender.stop.set()
        for sock in slow:
            sock.close()
    assert other.status_code == 201, other.text
    assert all(still_sending)  # the other client was served before any slow one finished
    assert statuses == [408] * 6
    assert server.users() == [*users_before, other_email]  # none of the slow ones


@pytest.mark.usefixtures("unchanged")
def test_a_head_that_never_ends_is_dropped_at_the_deadline(server: EdgeServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sender = Dribbler(sock, [b"X-Slow: a\r\n"] * 80, interval=0.25)  # 20 s of header
        sender.start()
        assert _closed(sock)  # no answer: the connection is closed
        sender.stop.set()
    assert not sender.finished.is_set()
    assert_still_serving(server)


# --- F3: framing ---------------------------------------------------------------------------


def smuggled(email: str) -> bytes:
    """A complete second request hidden where a server that trusts the other length header
    would read it as the next request."""
    body = register_body(email)
    return head("POST", REGISTER, "Content-Type: application/json",
                f"Content-Length: {len(body)}") + body


AMBIGUOUS = {
    "Content-Length and Transfer-Encoding": ["Content-Length: 5", "Transfer-Encoding: chunked"],
    "Transfer-Encoding and Content-Length": ["Transfer-Encoding: chunked", "Content-Length: 5"],
    "two Content-Lengths": ["Content-Length: 5", "Content-Length: 200"],
    "a Content-Length list": ["Content-Length: 5, 200"],
    "a signed Content-Length": ["Content-Length: +5"],
    "a hex Content-Length": ["Content-Length: 0x5"],
    "a negative Content-Length": ["Content-Length: -5"],
    "Transfer-Encoding twice chunked": ["Transfer-Encoding: chunked, chunked"],
    "a space before the colon": ["Transfer-Encoding : chunked", "Content-Length: 5"],
    "identity coding": ["Transfer-Encoding: identity", "Content-Length: 5"],
    "obsolete line folding": ["Content-Length: 5", "X-Folded: a", " b"],
}


@pytest.mark.parametrize("lines", list(AMBIGUOUS.values()), ids=list(AMBIGUOUS))
def test_ambiguous_framing_is_400_and_nothing_behind_it_runs(
    server: EdgeServer, lines: list[str]
) -> None:
    before = server.state()
    email = fresh_email()
    data = head("POST", REGISTER, "Content-Type: application/json", *lines)
    response = exchange(server, data + b"0\r\n\r\n" + smuggled(email))
    assert_error(response, 400, "malformed_request")
    assert response.closed
    assert_nothing_created(server, email, before)  # the smuggled registration never ran


@pytest.mark.usefixtures("unchanged")
def test_an_unknown_transfer_coding_is_501(server: EdgeServer) -> None:
    response = exchange(server, head("POST", REGISTER, "Content-Type: application/json",
                                     "Transfer-Encoding: xchunked") + b"0\r\n\r\n")
    assert_error(response, 501, "not_implemented")
    assert response.closed


def test_an_expectation_the_server_cannot_meet_is_417_and_100_continue_works(
    server: EdgeServer
) -> None:
    response = exchange(server, head("GET", "/api/v1/health", "Expect: 200-ok"))
    assert_error(response, 417, "expectation_failed")
    email = fresh_email()
    body = register_body(email)
    with connect(server) as sock:
        sock.sendall(head("POST", REGISTER, "Content-Type: application/json",
                          f"Content-Length: {len(body)}", "Expect: 100-continue"))
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        mails = len(list(server.mail.iterdir()))
        sock.sendall(body)
        assert read_response(sock, check_close=False).status_code == 201
    wait_for_mail(server, mails + 1)


@pytest.mark.usefixtures("unchanged")
def test_chunked_http_1_0_is_400(server: EdgeServer) -> None:
    data = head("POST", REGISTER, "Content-Type: application/json",
                "Transfer-Encoding: chunked").replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    response = exchange(server, data + b"2\r\n{}\r\n0\r\n\r\n")
    assert_error(response, 400, "malformed_request")


def test_a_body_shorter_than_its_content_length_is_400_not_acted_on(server: EdgeServer) -> None:
    """The client stops early and closes its side: the truncated body would still parse
    (and here even hold the right password), so it must be refused, not used."""
    email = fresh_email()
    assert register(server, email).status_code == 201
    form = f"username={email}&password={PASSWORD}".replace("@", "%40").encode()
    before = server.state()
    response = exchange(server, head(
        "POST", "/api/v1/auth/login", "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(form) + 10}") + form, shut_write=True)
    assert_error(response, 400, "malformed_request")
    assert "shorter than its Content-Length" in json.loads(response.content)["detail"]
    assert server.state() == before  # no session was opened


def test_a_body_that_stops_before_its_content_length_is_408(server: EdgeServer) -> None:
    before = server.state()
    email = fresh_email()
    body = register_body(email)
    with connect(server) as sock:
        sock.sendall(head("POST", REGISTER, "Content-Type: application/json",
                          f"Content-Length: {len(body) + 10}") + body)
        response = read_response(sock)  # ... and nothing more is sent
    assert_error(response, 408, "request_timeout")
    assert response.closed
    assert_nothing_created(server, email, before)


def test_bytes_beyond_the_content_length_are_the_next_request(server: EdgeServer) -> None:
    """Framing is by Content-Length exactly: what follows is parsed as a request of its
    own, as any proxy in front would parse it, never as part of the body."""
    data = head("POST", REGISTER, "Content-Type: application/json", "Content-Length: 2")
    health = head("GET", "/api/v1/health", "Connection: close")
    with connect(server) as sock:
        sock.sendall(data + b"{}" + health)
        first = read_response(sock, check_close=False)
        second = read_response(sock)
    assert_error(first, 400, "validation_error")
    assert second.status_code == 200 and json.loads(second.content) == {"status": "ok"}


# --- F17: huge heads ------------------------------------------------------------------------

HUGE_HEADS = {
    "Authorization 64 KB": ["Authorization: Bearer " + "a" * 65536],
    "X-API-Key 64 KB": ["X-API-Key: ak_" + "a" * 65536],
    "10 000 duplicate headers": ["X-API-Key: ak_x"] * 10_000,
    "10 000 distinct headers": [f"X-H{i}: 1" for i in range(10_000)],
}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("lines", list(HUGE_HEADS.values()), ids=list(HUGE_HEADS))
def test_a_huge_head_is_431_json_before_django(server: EdgeServer, lines: list[str]) -> None:
    response = exchange(server, head("GET", "/api/v1/users/me", *lines))
    assert_error(response, 431, "headers_too_large")
    assert response.closed
    assert_still_serving(server)


@pytest.mark.usefixtures("unchanged")
def test_a_huge_request_line_is_414_json(server: EdgeServer) -> None:
    response = exchange(server, head("GET", "/api/v1/users/me?" + "a" * 65536))
    assert_error(response, 414, "request_line_too_long")
    assert response.closed
    assert_still_serving(server)


@pytest.mark.usefixtures("unchanged")
def test_gunicorn_refusals_say_no_more_than_the_error_body(server: EdgeServer) -> None:
    """The JSON answer never echoes what the client sent (gunicorn's HTML page quotes it)."""
    response = exchange(server, b"GET /<script>alert(1)</script> HTTP/9.9\r\n\r\n")
    body = assert_error(response, 400, "malformed_request")
    assert "script" not in response.content.decode() and set(body) == {"detail", "error_code"}
