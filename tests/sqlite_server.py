"""The example project, served by a threaded WSGI server on a SQLite *file*, for the
concurrency tests of ``test_sqlite_concurrency.py`` (the test database is in memory).

    python -m tests.sqlite_server /path/to/db.sqlite3

Runs with ``example_project.settings`` as ``make run`` does (its SQLite options included,
real argon2 parameters), migrates, makes two users, then prints one JSON line: the port
(127.0.0.1, chosen by the OS), a reset token of one user (alice) and an access
token of another (bob, whose address is verified: he creates API keys). It serves
until its stdin closes (the test ends) or two minutes pass, whichever comes first.
"""

from __future__ import annotations

import json
import os
import sys
import threading


def main(db_path: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="example_project.settings",
        DATABASE_URL=f"sqlite:///{db_path}",
        SECRET_KEY="sqlite-concurrency-test-only-" + "x" * 40,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CACHE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    from ainative_auth.credentials.email_tokens import reset_password_tokens
    from ainative_auth.services import accounts, sessions
    from ainative_auth.services.verification import mark_email_verified

    call_command("migrate", verbosity=0)
    user = accounts.register(email="alice@example.com", password="correct horse battery 1")
    other = accounts.register(email="bob@example.com", password="correct horse battery 2")
    mark_email_verified(other)
    access = sessions.sign_in(other, method="password").tokens["access_token"]

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1],
                      "reset_token": reset_password_tokens.make_email_token(user),
                      "access_token": access}), flush=True)
    stopper = threading.Thread(target=sys.stdin.read, daemon=True)
    stopper.start()
    stopper.join(timeout=120)
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
