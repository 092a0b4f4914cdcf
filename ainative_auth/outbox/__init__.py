"""Mail: sent after the transaction commits, and never able to change an HTTP answer.

``send_after_commit()`` hands a message to the adapter's ``send_mail`` once the current
transaction commits (at once outside a transaction), so a rolled-back request mails
nothing. With ``SEND_MAIL_IN_BACKGROUND`` (the default) a worker thread of this process
does the sending: SMTP latency never shows in a response's timing (a forgot-password for
a known address takes as long as one for an unknown address), and a slow or dead SMTP
server never holds a request. With the setting off, sending happens inline after commit,
once.

Failures, in background mode:

- A *transient* failure (connection refused or dropped, timeout, an SMTP 4xx answer) is
  retried after each of ``RETRY_DELAYS``. Retries are *scheduled*, never slept through: the
  worker keeps a queue ordered by due time, so while one message waits for its retry every
  other message goes out. One unmailable address cannot hold back anyone else's mail.
- A *permanent* failure (the server refused the recipient or the message with a 5xx, an
  address or header that cannot be encoded, a broken template) is not retried: sending
  the same message again can only fail the same way.
- Nothing is dropped silently. Every message given up, and every message refused because
  ``QUEUE_SIZE`` messages are already waiting, is logged at ERROR and counted in
  ``stats()``. Mail still queued when the process exits is waited for
  ``EXIT_FLUSH_TIMEOUT`` seconds, then logged as lost: a project that needs delivery to
  survive restarts overrides ``adapter.send_mail`` to put the message on its task queue.

Log lines name the template and the user id, never the address or the link (it holds a
token); SMTP errors are logged by class and code only, as their text often quotes the
address.
"""

from .delivery import (
    COUNTERS,
    EXIT_FLUSH_TIMEOUT,
    QUEUE_SIZE,
    RETRY_DELAYS,
    deliver,
    dispatch,
    flush_mail,
    is_permanent,
    reset_stats,
    stats,
)
from .messages import (
    MailJob,
    describe_duration,
    mail_link,
    mail_name,
    mail_user,
    plain_line,
    send_after_commit,
)

__all__ = ["COUNTERS", "EXIT_FLUSH_TIMEOUT", "QUEUE_SIZE", "RETRY_DELAYS", "MailJob",
           "deliver", "describe_duration", "dispatch", "flush_mail", "is_permanent",
           "mail_link", "mail_name", "mail_user", "plain_line", "reset_stats",
           "send_after_commit", "stats"]
