"""The example project's gunicorn worker: gthread with two changes, both about hostile clients.

1. **A deadline on reading each request** (``GUNICORN_READ_TIMEOUT`` seconds, default 10):
   from the request's first byte to the last byte of its body that the application reads.
   gunicorn itself hands an idle connection back to the poller after 5 s, but once a
   client has sent a byte, a thread reads the rest of the head and the body with no limit:
   a client sending a byte a second holds that thread for as long as it likes, and a few
   such clients hold them all. With the deadline a stalled head closes the connection,
   and a stalled body ends the read with ``RequestReadTimeout``, which Django turns into
   ``UnreadablePostError`` and ainative_auth into a 408 ``request_timeout`` (JSON).
2. **JSON error answers**: what gunicorn refuses before Django sees it (ambiguous framing,
   a bad request line, too many or too large header fields) is answered with the same
   error body as everything else, not an HTML page.

A buffering reverse proxy in front remains the first line (README, "Deployment"); these
bound what reaches the worker when there is none, or when it lets something through.
"""

from __future__ import annotations

import json
import os
import socket
import time
from http import HTTPStatus
from typing import Any

from gunicorn import http, util
from gunicorn.http.errors import NoMoreData
from gunicorn.http2 import negotiation
from gunicorn.workers import gthread

READ_TIMEOUT = float(os.environ.get("GUNICORN_READ_TIMEOUT", "10"))


class RequestReadTimeout(NoMoreData, TimeoutError):
    """The request was not received within ``READ_TIMEOUT``. A ``NoMoreData`` so that
    gunicorn closes a connection whose head stalled quietly; a ``TimeoutError`` (an
    ``OSError``) so that Django reports a stalled body as ``UnreadablePostError``."""

    def __str__(self) -> str:
        return f"request not received within {READ_TIMEOUT:g} s"


class DeadlineSocket:
    """The connection's socket as gunicorn's request parser reads it: every ``recv`` waits
    at most until ``deadline`` (``time.monotonic()``), set when a request starts."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline: float | None = None
        self.request: Any = None  # gunicorn's request being read, once its head is in

    def recv(self, size: int) -> bytes:
        if self.deadline is None:
            return self._sock.recv(size)
        # Past the deadline the wait is 0: bytes the client already sent are still read
        # (the application may have been slow to ask for them), only waiting is refused.
        remaining = max(self.deadline - time.monotonic(), 0.0)
        previous = self._sock.gettimeout()
        self._sock.settimeout(remaining if previous is None else min(previous, remaining))
        try:
            return self._sock.recv(size)
        except (TimeoutError, BlockingIOError) as exc:
            if time.monotonic() >= self.deadline:
                if self.request is not None:
                    # The rest of the body is still on its way: the answer (408) says
                    # "Connection: close", and the connection is not reused.
                    self.request.must_close = True
                raise RequestReadTimeout() from exc
            raise  # a shorter timeout of gunicorn's own (its keep-alive drain)
        finally:
            self._sock.settimeout(previous)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class ThreadWorker(gthread.ThreadWorker):
    def handle(self, conn: Any) -> Any:
        if conn.parser is None and not self.cfg.is_ssl and not (
            negotiation.prior_knowledge_allowed(self.cfg, conn.client)
        ):
            # Made here, as gunicorn would make it on the first request, but reading through
            # the deadline. (TLS and HTTP/2 connections keep gunicorn's own parser.)
            conn.parser = http.get_parser(self.cfg, DeadlineSocket(conn.sock), conn.client)
        source = _deadline_socket(conn)
        if source is not None:
            source.deadline = time.monotonic() + READ_TIMEOUT
            source.request = None
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        source = _deadline_socket(conn)
        if source is not None:
            source.request = req
        return super().handle_request(req, conn)


def _deadline_socket(conn: Any) -> DeadlineSocket | None:
    source = getattr(getattr(conn.parser, "unreader", None), "sock", None)
    return source if isinstance(source, DeadlineSocket) else None


# gunicorn's refusals, as (error_code, detail) by status; the detail never echoes input.
GUNICORN_ERRORS = {
    400: ("malformed_request", "The request could not be parsed."),
    403: ("permission_denied", "The request is forbidden."),
    414: ("request_line_too_long", "The request line is too long."),
    417: ("expectation_failed", "The expectation cannot be met."),
    431: ("headers_too_large", "The request has too many or too large header fields."),
    500: ("server_error", "Internal server error."),
    501: ("not_implemented", "This transfer coding is not supported."),
}


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    code, detail = GUNICORN_ERRORS.get(status_int, GUNICORN_ERRORS[400])
    body = json.dumps({"detail": detail, "error_code": code}).encode()
    # The standard phrase: gunicorn says "Bad Request" for its 501.
    phrase = HTTPStatus(status_int).phrase
    head = (f"HTTP/1.1 {status_int} {phrase}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


# gunicorn's workers answer their refusals through this one function.
util.write_error = write_json_error
