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
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def servers_database_url() -> str:
    """The URL of the database the test run created (``test_<name>``), for the servers."""
    conf = connection.settings_dict
    user = conf.get("USER") or "postgres"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    host, port = conf.get("HOST") or "127.0.0.1", conf.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{conf['NAME']}"


@contextlib.contextmanager
def start_servers(count: int, env: dict[str, str] | None = None) -> Iterator[list[str]]:
    """Yield the base URLs (``http://127.0.0.1:PORT``) of ``count`` running servers."""
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DATABASE_URL": servers_database_url(),
        "SECRET_KEY": "two-server-test-secret-key-0123456789abcdefghijklmnopqrstuv",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "GUNICORN_LOG_LEVEL": "warning",
        **(env or {}),
    }
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(count):
            port = free_port()
            processes.append(subprocess.Popen(  # noqa: S603 - our own interpreter and config
                [sys.executable, "-m", "gunicorn", "-c", "example_project/gunicorn.conf.py",
                 "--access-logfile", "/dev/null", "example_project.wsgi:application"],
                cwd=ROOT, env={**base_env, "PORT": str(port)},
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            ))
            urls.append(f"http://127.0.0.1:{port}")
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
