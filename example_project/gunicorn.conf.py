"""gunicorn settings of the example project (``make run``), each chosen on purpose.

Read by ``gunicorn -c example_project/gunicorn.conf.py example_project.wsgi``; the
environment decides the port (``PORT``), the process count (``WEB_CONCURRENCY``), the
threads per process (``GUNICORN_THREADS``) and which proxies are trusted
(``TRUST_X_FORWARDED_PROTO``, ``FORWARDED_ALLOW_IPS``).
In production put a buffering reverse proxy (nginx, a cloud load balancer) in front: it
absorbs slow clients, terminates TLS and bounds bodies before they reach a worker
(README, "Deployment").
"""

from __future__ import annotations

import os
from typing import Any

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Processes and threads. Throttle counters, RFC 9421 nonces, OAuth states and used codes
# live in the cache: without REDIS_URL/CACHE_URL that is Django's in-process cache, so a
# second process would keep a second copy (a nonce accepted once per process, every
# throttle budget doubled, an OAuth state stored in one process and looked for in the
# other). So with nothing set up: ONE process of 8 threads. Threads suit this app anyway:
# a request mostly waits on the database or on argon2, and argon2 releases the GIL (at
# most 4 hashes run at once per process), so one process keeps both cores of the machine
# this runs on busy with logins.
# With a shared cache (Redis), 2 processes of 4 threads: the same 8 requests at once, and
# one process's crash or restart leaves the other serving. A configuration that would
# split the cache (WEB_CONCURRENCY>1 over a per-process cache) refuses to start:
# on_starting below.
SHARED_CACHE = bool(os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL"))
workers = int(os.environ.get("WEB_CONCURRENCY") or (2 if SHARED_CACHE else 1))
# gthread, plus a deadline on reading each request (GUNICORN_READ_TIMEOUT, default 10 s,
# head and body) and JSON answers for what gunicorn refuses: example_project/gunicorn_worker.py.
worker_class = "example_project.gunicorn_worker.ThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS") or (4 if SHARED_CACHE else 8))
# A worker silent this long is killed and replaced. Well above one login (argon2id
# ~0.1 s, queued behind at most 7 others, 4 hashing at once), far below a stuck one.
timeout = 30
graceful_timeout = 20
# Idle keep-alive connections are closed after 5 s; a client that connects and sends
# nothing is handed back to the poller after 5 s of silence (gthread's data timeout), and
# one that sends too slowly is cut off by the worker's read deadline, so slow clients
# cannot hold every thread.
keepalive = 5
# Bounds on the request head: a longer request line is a 414, more header fields or a
# longer field a 431 (answered by gunicorn before Django, with the JSON error body; bodies
# are bounded by Django's DATA_UPLOAD_MAX_MEMORY_SIZE and answered 413 JSON).
limit_request_line = 4094
limit_request_fields = 64
limit_request_field_size = 8190
# Proxy headers (X-Forwarded-Proto & co., SCRIPT_NAME) are trusted from nobody by default:
# gunicorn's own default trusts them from 127.0.0.1, so a client of a same-host proxy that
# passes them through, or anyone on this machine, could make a plain http request look
# https (HSTS, Secure cookies, signatures' @target-uri) or move the script prefix.
# TRUST_X_FORWARDED_PROTO=1 (read by example_project/settings.py too, as
# SECURE_PROXY_SSL_HEADER) trusts X-Forwarded-Proto from the proxies in FORWARDED_ALLOW_IPS
# (default this machine), and only that header, with the value Django expects: gunicorn's
# other scheme headers (X-Forwarded-Ssl, X-Forwarded-Protocol) would set https where
# Django was told to look at X-Forwarded-Proto alone.
TRUST_X_FORWARDED_PROTO = os.environ.get("TRUST_X_FORWARDED_PROTO", "").strip().lower() in {
    "1", "true", "yes", "on"}
if TRUST_X_FORWARDED_PROTO:
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
    secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
else:
    forwarded_allow_ips = ""
    secure_scheme_headers = {}
# The example project is served at the root: no proxy sets its SCRIPT_NAME or PATH_INFO
# (Django's FORCE_SCRIPT_NAME mounts a project under a prefix).
forwarder_headers = ""
# A request smuggling guard: gunicorn refuses a request with both Content-Length and
# Transfer-Encoding, and obsolete line folding, by default; keep it that way.
# The Server header is "gunicorn", with no version.
# No control socket: it is one fixed path per user, so a second server on the same machine
# (a second `make run`, the two-server tests) would take over the first one's.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Requests are logged without the query string's secrets: there are none (credentials
# travel only in headers and bodies), and headers are not logged.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def on_starting(server: Any) -> None:
    """Refuse, before binding the port, to start several workers over a cache that each
    of them would keep for itself (``ainative_auth.checks.per_process_caches``): every
    limit, nonce and single-use value must be one budget, whichever process answers.
    Raised as ``RuntimeError``, which gunicorn prints as ``Error: ...`` and exits 1."""
    if server.cfg.workers <= 1:
        return  # one process: Django is not even loaded in the master
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    # The settings only; per_process_caches needs no app registry.
    from ainative_auth.checks import per_process_caches

    aliases = per_process_caches()
    if aliases:
        from django.conf import settings

        backends = ", ".join(
            f"{alias!r}: {settings.CACHES[alias]['BACKEND'].rsplit('.', 1)[-1]}"
            for alias in aliases)
        raise RuntimeError(
            f"WEB_CONCURRENCY={server.cfg.workers} with a per-process cache ({backends}): "
            "each process would keep its own throttle counters, signature nonces and OAuth "
            "states (a replay accepted once per process, every limit multiplied). Set "
            "REDIS_URL (a cache all processes share) or WEB_CONCURRENCY=1 (one process, "
            "GUNICORN_THREADS threads).")
