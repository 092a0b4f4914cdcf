"""A fresh, dedicated database for one run: a temporary SQLite file, or a PostgreSQL
database created and dropped by the run (never one that holds anything else)."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "ainative_bench"


@dataclass
class Database:
    vendor: str  # "sqlite" | "postgresql"
    cleanup: Callable[[], None]
    describe: str


def _pg_admin_connect(url: str) -> Any:
    """A connection for CREATE/DROP DATABASE: the maintenance db, else the URL's own."""
    import psycopg

    u = urlparse(url)
    common = {
        "host": u.hostname or "127.0.0.1", "port": u.port or 5432,
        "user": unquote(u.username or "postgres"), "password": unquote(u.password or ""),
        "autocommit": True, "connect_timeout": 5,
    }
    try:
        return psycopg.connect(dbname="postgres", **common)
    except psycopg.OperationalError:
        return psycopg.connect(dbname=(u.path or "/").lstrip("/") or "postgres", **common)


def setup_database(args: argparse.Namespace) -> Database:
    """Point benchmarks.settings at a fresh, dedicated database (env vars, before setup)."""
    if args.postgres or os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:")):
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres:", "postgresql:")):
            url = DEFAULT_PG_URL
        name = args.pg_database
        if name in ("test", "postgres", "template0", "template1"):
            raise SystemExit(f"refusing to use database {name!r} for the benchmark")
        u = urlparse(url)
        with _pg_admin_connect(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ.update(
            BENCH_DB_ENGINE="postgresql", BENCH_DB_NAME=name,
            BENCH_DB_HOST=u.hostname or "127.0.0.1", BENCH_DB_PORT=str(u.port or 5432),
            BENCH_DB_USER=unquote(u.username or "postgres"),
            BENCH_DB_PASSWORD=unquote(u.password or ""),
        )

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            if args.keep_db:
                print(f"(kept PostgreSQL database {name!r})")
                return
            with _pg_admin_connect(url) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        prepared = " (server-side binding, prepared statements)" if args.pg_prepared else ""
        return Database("postgresql", drop,
                        f"PostgreSQL {u.hostname}:{u.port or 5432}/{name}{prepared}")

    tmp = tempfile.mkdtemp(prefix="ainative-bench-")
    path = os.path.join(tmp, "bench.sqlite3")
    os.environ.update(BENCH_DB_ENGINE="sqlite", BENCH_DB_NAME=path)

    def remove() -> None:
        from django.db import connections

        connections.close_all()
        if args.keep_db:
            print(f"(kept SQLite file {path})")
            return
        shutil.rmtree(tmp, ignore_errors=True)

    return Database("sqlite", remove, f"SQLite file {path}")
