"""Delivery: one attempt at a message, and the per-process background sender.

See ``ainative_auth.outbox`` for the guarantees. The sender is a daemon thread with a queue
ordered by due time; its fork and exit hooks are installed by ``AppConfig.ready``
(``install_process_hooks``), never at import.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import os
import smtplib
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.template import TemplateDoesNotExist, TemplateSyntaxError

from ..adapter import get_adapter
from ..conf import auth_settings

if TYPE_CHECKING:
    from .messages import MailJob

logger = logging.getLogger("ainative_auth")

# Seconds to wait before each retry of a transiently failed send, in background mode.
RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 30.0)
# Most messages waiting (first attempts and scheduled retries together, the one being sent
# included); beyond it a new message is refused, logged at ERROR and counted.
QUEUE_SIZE = 1000
# Seconds the process waits at exit for queued mail.
EXIT_FLUSH_TIMEOUT = 10.0

# What stats() reports; see the README's "Mail delivery" section.
COUNTERS = ("queued", "sent", "retried", "failed_permanent", "failed_transient", "dropped")


class _Stats:
    """Process-wide counters of what happened to mail (``stats()``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {name: self._counts[name] for name in COUNTERS}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's thread may have held it


_stats = _Stats()


def stats() -> dict[str, int]:
    """Counters of this process's mail since it started (or since ``reset_stats()``).

    ``queued``: messages accepted by the background sender; ``sent``: handed to the email
    backend without error; ``retried``: retries scheduled after a transient failure;
    ``failed_permanent``: given up at the first permanent failure; ``failed_transient``:
    given up after the last retry; ``dropped``: refused because the queue was full;
    ``pending``: messages waiting right now (due, being sent, or scheduled for a retry).
    Every ``failed_*`` and ``dropped`` message was also logged at ERROR.
    """
    return {**_stats.snapshot(), "pending": _worker.pending()}


def reset_stats() -> None:
    """Zero the counters (``pending`` is not a counter and stays)."""
    _stats.reset()


def dispatch(job: MailJob) -> None:
    if auth_settings.SEND_MAIL_IN_BACKGROUND:
        _worker.submit(job)
    else:
        deliver(job)


# --- one attempt ----------------------------------------------------------------------


def is_permanent(exc: BaseException) -> bool:
    """Whether sending the same message again can only fail the same way.

    SMTP answers carry their own verdict: 5xx is permanent, 4xx transient (RFC 5321
    section 4.2.1), also per recipient. Encoding and address errors (``UnicodeError``,
    Django's ``BadHeaderError`` and "Invalid address", all ``ValueError``s), a server
    without SMTPUTF8 for a non-ASCII address, and template errors are permanent.
    Everything else (connection refused, reset or timed out: ``OSError``s) is transient.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [_smtp_code(answer) for answer in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return True
    return isinstance(exc, (ValueError, TypeError, LookupError, TemplateDoesNotExist,
                            TemplateSyntaxError))


def _smtp_code(answer: Any) -> int:
    try:
        return int(answer[0])
    except (TypeError, ValueError, IndexError):
        return 0


def _describe(exc: BaseException) -> str:
    """The error's class and SMTP code(s): their text often quotes the address."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({_smtp_code(answer) for answer in exc.recipients.values()})
        return f"{name} {', '.join(map(str, codes))}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name} {exc.smtp_code}"
    if isinstance(exc, (ValueError, smtplib.SMTPException)):
        return name
    return f"{name}: {str(exc)[:200]}"


def _attempt(job: MailJob, attempt: int, attempts: int) -> str:
    """Send ``job`` once; "sent", "retry" (transient failure, ``attempt < attempts``) or
    "failed". Never raises: a failed message is logged and counted here."""
    try:
        get_adapter().send_mail(job.template_prefix, job.to, job.render_context())
    except Exception as exc:  # noqa: BLE001 - SMTP, DNS, template, adapter: log, never raise
        permanent = is_permanent(exc)
        if not permanent and attempt < attempts:
            logger.warning("could not send %s (attempt %d of %d): %s; retrying later",
                           job.label, attempt, attempts, _describe(exc))
            return "retry"
        _stats.add("failed_permanent" if permanent else "failed_transient")
        logger.error(
            "could not send %s (attempt %d of %d): %s; %s",
            job.label, attempt, attempts, _describe(exc),
            "permanent error, not retried" if permanent else "giving up",
            # A traceback only for what is not a plain SMTP/encoding outcome: a bug.
            exc_info=not isinstance(exc, (OSError, ValueError)),
        )
        return "failed"
    _stats.add("sent")
    if attempt > 1:
        logger.info("sent %s on attempt %d", job.label, attempt)
    return "sent"


def deliver(job: MailJob) -> bool:
    """Send ``job`` now, once (inline mode); True if it went out."""
    return _attempt(job, 1, 1) == "sent"


# --- the background sender ------------------------------------------------------------


class _MailWorker:
    """One daemon thread per process sending from a queue ordered by due time.

    New messages are due at once; a transient failure puts the message back, due after
    its retry delay. The thread sends whatever is due first and sleeps only when nothing
    is due, so a message waiting for its retry never delays another one.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition()
        # (due on time.monotonic(), sequence number, job, attempt number)
        self._heap: list[tuple[float, int, MailJob, int]] = []
        self._seq = itertools.count()
        self._sending = 0
        self._thread: threading.Thread | None = None

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._sending

    def submit(self, job: MailJob) -> None:
        with self._cond:
            if len(self._heap) + self._sending >= QUEUE_SIZE:
                _stats.add("dropped")
                logger.error("mail queue full (%d messages waiting); dropped %s",
                             QUEUE_SIZE, job.label)
                return
            _stats.add("queued")
            self._push(time.monotonic(), job, 1)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ainative-auth-mail",
                                                daemon=True)
                self._thread.start()

    def _push(self, due: float, job: MailJob, attempt: int) -> None:
        # The sequence number keeps equal due times first in, first out.
        heapq.heappush(self._heap, (due, next(self._seq), job, attempt))
        self._cond.notify_all()

    def _next(self) -> tuple[MailJob, int]:
        with self._cond:
            while True:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    _, _, job, attempt = heapq.heappop(self._heap)
                    self._sending += 1
                    return job, attempt
                self._cond.wait(self._heap[0][0] - now if self._heap else None)

    def _run(self) -> None:
        while True:
            job, attempt = self._next()
            outcome = "failed"
            delays = RETRY_DELAYS
            try:
                outcome = _attempt(job, attempt, len(delays) + 1)
            finally:
                try:
                    # Templates or a custom adapter may have used the database here.
                    connections.close_all()
                except Exception:  # noqa: BLE001 - never let the sender thread die
                    logger.warning("could not close database connections after mail")
                with self._cond:
                    self._sending -= 1
                    if outcome == "retry":
                        self._retry(job, attempt, delays)
                    self._cond.notify_all()

    def _retry(self, job: MailJob, attempt: int, delays: tuple[float, ...]) -> None:
        # Always room: the message's own place in the queue (``_sending``) was just freed.
        _stats.add("retried")
        self._push(time.monotonic() + delays[attempt - 1], job, attempt + 1)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until no message is waiting (retries included); False if ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._heap or self._sending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True


_worker = _MailWorker()


def flush_mail(timeout: float | None = None) -> bool:
    """Wait for background mail to be sent (tests, management commands, shutdown)."""
    return _worker.flush(timeout)


def _flush_at_exit() -> None:
    if not flush_mail(EXIT_FLUSH_TIMEOUT):
        logger.error("process exiting with %d mail message(s) unsent; they are lost",
                     _worker.pending())


_hooks_installed = False


def install_process_hooks() -> None:
    """Called once from ``AppConfig.ready``: a forked child (gunicorn --preload) starts with
    an empty queue, a fresh lock and no thread (the parent's thread, and whatever lock
    state it had, are not the child's), and mail still queued at exit is waited for
    ``EXIT_FLUSH_TIMEOUT`` seconds, then logged as lost. Installed once per process."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    os.register_at_fork(after_in_child=_worker._reset)
    os.register_at_fork(after_in_child=_stats._after_fork)
    atexit.register(_flush_at_exit)
