"""The production server of the example project: gunicorn's settings, HSTS behind a
proxy, what the real server sends."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "example_project" / "gunicorn.conf.py"


def gunicorn_settings(**env: str) -> dict[str, Any]:
    saved = dict(os.environ)
    try:
        for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "PORT", "HOST", "REDIS_URL",
                     "CACHE_URL", "TRUST_X_FORWARDED_PROTO", "FORWARDED_ALLOW_IPS"):
            os.environ.pop(name, None)
        os.environ.update(env)
        return runpy.run_path(str(CONFIG))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_gunicorn_runs_one_threaded_worker_with_timeouts_set_on_purpose() -> None:
    conf = gunicorn_settings()
    assert conf["workers"] == 1  # no shared cache: tests/system/test_default_server.py
    assert conf["worker_class"] == "example_project.gunicorn_worker.ThreadWorker"  # gthread
    assert conf["threads"] == 8
    assert conf["bind"] == "127.0.0.1:8000"
    # Above one login's argon2 (queued behind four), far below a hung worker.
    assert 10 <= conf["timeout"] <= 60
    assert conf["keepalive"] == 5 and conf["graceful_timeout"] > 0
    assert conf["limit_request_line"] <= 8190 and conf["limit_request_fields"] <= 100
    assert conf["limit_request_field_size"] <= 8190
    assert conf["control_socket_disable"] is True


def test_the_environment_decides_port_and_processes() -> None:
    conf = gunicorn_settings(PORT="9001", WEB_CONCURRENCY="5", GUNICORN_THREADS="8")
    assert conf["bind"] == "127.0.0.1:9001"
    assert (conf["workers"], conf["threads"]) == (5, 8)


def example_setting(name: str, **env: str) -> Any:
    """A setting of example_project.settings as a fresh process with ``env`` reads it."""
    code = f"import example_project.settings as s; print(repr(getattr(s, {name!r}, None)))"
    result = subprocess.run(  # noqa: S603 - our interpreter
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, **env},
    )
    return eval(result.stdout.strip())  # noqa: S307 - repr of a settings value we printed


def test_trust_x_forwarded_proto_sets_the_proxy_ssl_header() -> None:
    assert example_setting("SECURE_PROXY_SSL_HEADER") is None
    assert example_setting("SECURE_PROXY_SSL_HEADER", TRUST_X_FORWARDED_PROTO="1") == (
        "HTTP_X_FORWARDED_PROTO", "https")


def test_trusted_proxy_count_comes_from_the_environment() -> None:
    assert example_setting("AINATIVE_AUTH", TRUSTED_PROXY_COUNT="2")["TRUSTED_PROXY_COUNT"] == 2


@pytest.mark.django_db
def test_hsts_is_sent_for_requests_the_proxy_says_are_https(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = Client().get("/api/v1/health", HTTP_X_FORWARDED_PROTO="https")
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    plain = Client().get("/api/v1/health")
    assert "Strict-Transport-Security" not in plain
    # A client cannot claim https without the setting (no proxy is trusted then).
    settings.SECURE_PROXY_SSL_HEADER = None
    spoofed = Client().get("/api/v1/health", HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in spoofed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_real_server_names_no_version() -> None:
    from tests.servers import api, start_servers

    with start_servers(1) as (base,):
        response = api(base, "GET", "health")
    assert response.status_code == 200
    assert response.headers["Server"] == "gunicorn"
    assert "X-Powered-By" not in response.headers


def test_postgres_connections_bound_slow_statements_and_dead_hosts() -> None:
    options = example_setting("DATABASES", DATABASE_URL="postgres://u@db.example/app")[
        "default"]["OPTIONS"]
    assert options["connect_timeout"] == 5
    assert options["options"] == "-c statement_timeout=10000"
    assert (options["keepalives"], options["keepalives_idle"], options["keepalives_interval"],
            options["keepalives_count"]) == (1, 10, 2, 3)
    off = example_setting("DATABASES", DATABASE_URL="postgres://u@db.example/app",
                          DATABASE_STATEMENT_TIMEOUT="0")["default"]["OPTIONS"]
    assert off["options"] == "-c statement_timeout=0"
