"""gunicorn settings of the example project (``make run``), each chosen on purpose.

Read by ``gunicorn -c example_project/gunicorn.conf.py example_project.wsgi``; the
environment decides the port (``PORT``) and the process count (``WEB_CONCURRENCY``).
In production put a buffering reverse proxy (nginx, a cloud load balancer) in front: it
absorbs slow clients, terminates TLS and bounds bodies before they reach a worker
(README, "Deployment").
"""

from __future__ import annotations

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Processes: 2 by default (the machine this runs on has 2 cores); each serves
# `threads` requests at once. Threads suit this app: a request waits on the database or
# on argon2 (which releases the GIL), and at most 4 hashes run at once per process.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread, plus a deadline on reading each request (GUNICORN_READ_TIMEOUT, default 10 s,
# head and body) and JSON answers for what gunicorn refuses: example_project/gunicorn_worker.py.
worker_class = "example_project.gunicorn_worker.ThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker silent this long is killed and replaced. Well above one login (argon2id
# ~0.1 s, queued behind at most 4 others), far below a stuck one.
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
