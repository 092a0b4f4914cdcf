"""Mail: sent after the transaction commits, and never able to change an HTTP answer.

``send_after_commit()`` hands a message to the adapter's ``send_mail`` once the current
transaction commits (at once outside a transaction), so a rolled-back request mails
nothing. With ``SEND_MAIL_IN_BACKGROUND`` (the default) a worker thread of this process
does the sending: SMTP latency never shows in a response's timing (a forgot-password for
a known address takes as long as one for an unknown address), a slow or dead SMTP server
never holds a request, and a failed send is retried a few times, then logged. Mail still
queued when the process exits is waited for briefly, then lost: a project that needs
delivery to survive restarts overrides ``adapter.send_mail`` to put the message on its
task queue. With the setting off, sending happens inline after commit, once, and a
failure is logged.

Log lines name the template and the user id, not the address, and never the link (it
holds a token).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, transaction

from ..adapter import get_adapter
from ..conf import auth_settings
from ..users import email_of

logger = logging.getLogger("ainative_auth")

# Seconds to wait before each retry of a failed send, in background mode.
RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 30.0)
# Messages waiting in the background queue beyond this are dropped (and logged).
QUEUE_SIZE = 1000
# Seconds the process waits at exit for queued mail.
EXIT_FLUSH_TIMEOUT = 10.0


@dataclass(frozen=True)
class MailJob:
    template_prefix: str
    to: str
    context: dict[str, Any] = field(default_factory=dict)
    user_id: Any = None

    @property
    def label(self) -> str:
        return f"{self.template_prefix.rsplit('/', 1)[-1]} mail for user {self.user_id}"


def send_after_commit(
    template_prefix: str, to: str, context: dict[str, Any], *, user_id: Any = None
) -> None:
    """Send ``template_prefix`` to ``to`` after the current transaction commits."""
    job = MailJob(template_prefix, to, dict(context), user_id)
    # robust: nothing raised while queueing may break the commit's other callbacks.
    transaction.on_commit(lambda: dispatch(job), robust=True)


def dispatch(job: MailJob) -> None:
    if auth_settings.SEND_MAIL_IN_BACKGROUND:
        _worker.submit(job)
    else:
        deliver(job)


def deliver(job: MailJob, retry_delays: tuple[float, ...] = ()) -> bool:
    """Send ``job`` now, retrying after each of ``retry_delays``; True once it went out."""
    attempts = len(retry_delays) + 1
    for attempt in range(1, attempts + 1):
        try:
            get_adapter().send_mail(job.template_prefix, job.to, job.context)
        except Exception as exc:  # noqa: BLE001 - SMTP, DNS, template: log, never raise
            last = attempt == attempts
            logger.error(
                "could not send %s (attempt %d of %d): %s: %s",
                job.label, attempt, attempts, type(exc).__name__, exc,
                exc_info=last,
            )
            if not last:
                time.sleep(retry_delays[attempt - 1])
        else:
            if attempt > 1:
                logger.info("sent %s on attempt %d", job.label, attempt)
            return True
    return False


class _MailWorker:
    """One daemon thread per process draining a bounded queue of mail jobs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[MailJob] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, job: MailJob) -> None:
        self._ensure_running()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            logger.error("mail queue full; dropped %s", job.label)

    def _ensure_running(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                # A forked worker (gunicorn --preload): the parent's thread is not ours.
                self._queue = queue.Queue(QUEUE_SIZE)
                self._thread, self._pid = None, os.getpid()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="ainative-auth-mail",
                    daemon=True,
                )
                self._thread.start()

    @staticmethod
    def _run(jobs: queue.Queue[MailJob]) -> None:
        while True:
            job = jobs.get()
            try:
                deliver(job, RETRY_DELAYS)
            finally:
                # Templates or a custom adapter may have used the database from this thread.
                connections.close_all()
                jobs.task_done()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued message was handled; False if ``timeout`` ran out."""
        jobs = self._queue
        deadline = None if timeout is None else time.monotonic() + timeout
        with jobs.all_tasks_done:
            while jobs.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                jobs.all_tasks_done.wait(remaining)
        return True


_worker = _MailWorker()


def flush_mail(timeout: float | None = None) -> bool:
    """Wait for background mail to be sent (tests, management commands, shutdown)."""
    return _worker.flush(timeout)


atexit.register(flush_mail, EXIT_FLUSH_TIMEOUT)


def mail_user(user: Any, template_prefix: str, **context: Any) -> None:
    """Mail ``user`` at their stored address (never a spelling someone typed), after commit.

    Every template gets ``user``, ``name`` and ``email`` besides ``context``. Nothing is
    sent to a user without an address.
    """
    email = email_of(user)
    if not email:
        return
    adapter = get_adapter()
    send_after_commit(
        template_prefix,
        email,
        {"user": user, "name": adapter.get_name(user), "email": email, **context},
        user_id=user.pk,
    )


def mail_link(
    user: Any, template_prefix: str, *, path_template: str, token: str, lifetime: int
) -> None:
    """Mail ``user`` a frontend link carrying ``token``: ``FRONTEND_URL`` + the path template,
    never the request's Host header."""
    mail_user(
        user,
        template_prefix,
        url=get_adapter().build_frontend_url(path_template, token=token),
        token=token,
        expires_in=describe_duration(lifetime),
    )


def describe_duration(seconds: int) -> str:
    """``3600`` -> ``"1 hour"``, ``5400`` -> ``"90 minutes"``: a token's lifetime in mail."""
    seconds = int(seconds)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
