"""Real example-project servers for the tests that cross process boundaries.

``start_servers(n, env)`` runs ``n`` gunicorn processes of the example project (its real
settings, one worker each) on free loopback ports, pointed at the test database and at
Redis, and stops them afterwards. What one process does must be seen by the others: that
is the only way to show that revocation, rotation, throttles and nonces live in the shared
stores and not in a process's memory.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# The servers' SECRET_KEY: a test can make the mail tokens they would have mailed.
SERVERS_SECRET_KEY = "two-server-test-secret-key-0123456789abcdefghijklmnopqrstuv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_port() -> int:
    """The port of the test run's PostgreSQL."""
    return int(connection.settings_dict.get("PORT") or 5432)


def servers_database_url(port: int | None = None) -> str:
    """The URL of the database the test run created (``test_<name>``), for the servers;
    ``port`` reaches it through another port (a ``TCPProxy`` on loopback)."""
    conf = connection.settings_dict
    user = conf.get("USER") or "postgres"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    host = "127.0.0.1" if port else conf.get("HOST") or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{port or database_port()}/{conf['NAME']}"


def migrated_sqlite_url(path: Path) -> str:
    """A SQLite file at ``path`` with the example project's tables, as ``DATABASE_URL``:
    for servers whose tests do not need the test run's database."""
    url = f"sqlite:///{path}"
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT, check=True, env={**os.environ, "DATABASE_URL": url,
                                   "DJANGO_SETTINGS_MODULE": "example_project.settings"},
    )
    return url


class Server(str):
    """A running server's base URL (``http://127.0.0.1:PORT``), with its gunicorn master."""

    process: subprocess.Popen[bytes]

    def __new__(cls, url: str, process: subprocess.Popen[bytes]) -> Server:
        server = super().__new__(cls, url)
        server.process = process
        return server

    def worker_pids(self) -> set[int]:
        """The pids of the master's worker processes right now (Linux ``/proc``)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return {int(child) for child in children}


@contextlib.contextmanager
def start_servers(count: int, env: Mapping[str, str | None] | None = None,
                  ) -> Iterator[list[Server]]:
    """Yield the base URLs (``http://127.0.0.1:PORT``, as ``Server``) of ``count`` running
    servers. A ``None`` in ``env`` unsets that variable (e.g. ``WEB_CONCURRENCY``, to run
    the configuration's own default)."""
    merged: dict[str, str | None] = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DATABASE_URL": servers_database_url(),
        "SECRET_KEY": SERVERS_SECRET_KEY,
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "GUNICORN_LOG_LEVEL": "warning",
        **(env or {}),
    }
    base_env = {name: value for name, value in merged.items() if value is not None}
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[Server] = []
    try:
        for _ in range(count):
            port = free_port()
            processes.append(subprocess.Popen(  # noqa: S603 - our own interpreter and config
                [sys.executable, "-m", "gunicorn", "-c", "example_project/gunicorn.conf.py",
                 "--access-logfile", "/dev/null", "example_project.wsgi:application"],
                cwd=ROOT, env={**base_env, "PORT": str(port)},
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            ))
            urls.append(Server(f"http://127.0.0.1:{port}", processes[-1]))
        for url, process in zip(urls, processes, strict=True):
            _wait_healthy(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def served_example(database: str) -> Iterator[Server]:
    """One example project on ``database``, with the ``SITE_URL`` it derives from its port
    (``site_of``): what a test of a published client talks to."""
    with start_servers(1, {"DATABASE_URL": database, "SITE_URL": None}) as (base,):
        yield base


def site_of(server: Server) -> str:
    """The ``SITE_URL`` of a served example project: ``http://localhost:<PORT>``."""
    return server.replace("127.0.0.1", "localhost")


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server {url} exited: {process.stderr.read().decode()[-2000:]}"
                               if process.stderr else f"server {url} exited")
        try:
            if requests.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server {url} did not become healthy")


def api(base: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 10)
    return requests.request(method, f"{base}/api/v1/{path}", **kwargs)


class TCPProxy:
    """A loopback TCP forwarder to ``target`` that a test can take down and bring back.

    ``with TCPProxy(5432) as proxy:`` listens on ``proxy.port`` and forwards every
    connection to 127.0.0.1:``target``. Point a server at the proxy, then:

    - ``proxy.cut()``: the service is gone. Open connections are reset (RST) and the port
      is closed, so a new connection is refused at once: a database or cache that was
      stopped, or restarted, under a running server.
    - ``proxy.hang()``: the service is unreachable but the network still accepts. Open
      connections are reset; new ones are accepted and then never answered, as when the
      host is partitioned away; only the client's own connect timeout ends the wait.
    - ``proxy.restore()``: forward again, on the same port.

    The server under test never restarts: what it does with its persistent connections
    across the outage is what is being tested.
    """

    def __init__(self, target: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._mode = "down"
        self._closed = False

    def __enter__(self) -> TCPProxy:
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        self._stop_listening()
        self._reset_all()

    @property
    def mode(self) -> str:
        return self._mode

    def cut(self) -> None:
        self._mode = "down"
        self._stop_listening()
        self._reset_all()

    def hang(self) -> None:
        self._mode = "hang"
        self._reset_all()
        self._listen()

    def restore(self) -> None:
        self._mode = "up"
        self._reset_all()  # connections held by hang() never get an answer
        self._listen()

    # --- the machinery ---

    def _listen(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _stop_listening(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone may not.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _reset_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _reset(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the port is down
            self._track(client)
            if self._mode != "up":
                continue  # hang: accepted, held open, never answered
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            self._track(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0): the peer sees a dropped connection, not a clean close."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _reset(source)
        _reset(sink)
