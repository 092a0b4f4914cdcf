"""What the flows call: mail a user, mail a link, after the transaction commits."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from ..adapter import get_adapter
from ..users import email_of
from .delivery import dispatch


@dataclass(frozen=True)
class MailJob:
    template_prefix: str
    to: str
    context: dict[str, Any] = field(default_factory=dict)
    user_id: Any = None
    # The recipient account (``mail_user``): ``user`` and ``name`` are added to the
    # context when the message is rendered, off the request (see ``mail_name``).
    user: Any = None

    @property
    def label(self) -> str:
        return f"{self.template_prefix.rsplit('/', 1)[-1]} mail for user {self.user_id}"

    def render_context(self) -> dict[str, Any]:
        if self.user is None:
            return self.context
        return {"user": self.user, "name": mail_name(self.user), **self.context}


def send_after_commit(
    template_prefix: str, to: str, context: dict[str, Any], *, user_id: Any = None,
    user: Any = None,
) -> None:
    """Send ``template_prefix`` to ``to`` after the current transaction commits."""
    job = MailJob(template_prefix, to, dict(context), user_id, user)
    # robust: nothing raised while queueing may break the commit's other callbacks.
    transaction.on_commit(lambda: dispatch(job), robust=True)


# Characters after which a mail client may turn text into a link: a URL scheme, "www.",
# an address, or a dot (ASCII or one of the dots IDNA maps to ".") followed by letters,
# as in "evil.example".
_LINK_LIKE = re.compile(r"://|www\.|@|[.\u3002\uff0e\uff61][^\W\d_]{2,}", re.IGNORECASE)


def mail_name(user: Any) -> str:
    """The greeting name for mail to ``user``: '' unless their address is verified, and
    then only as one plain line, and '' if it could read as a link.

    ``name`` is typed by whoever registered, and mail goes out from this service's domain
    to an address nobody has proven yet: printed verbatim, it would let anyone mail
    attacker-written text (lines, links) to any address. So an unverified address gets
    no name at all, and a verified one gets it flattened to one line of plain words.
    """
    adapter = get_adapter()
    if not adapter.is_email_verified(user):
        return ""
    return plain_line(adapter.get_name(user))


def plain_line(text: str) -> str:
    """``text`` as one line: control, format and separator characters become spaces, runs
    of spaces one; '' if what is left could read as a link."""
    cleaned = "".join(
        " " if unicodedata.category(char)[0] in "CZ" else char
        for char in unicodedata.normalize("NFKC", str(text or ""))
    )
    cleaned = " ".join(cleaned.split())
    return "" if _LINK_LIKE.search(cleaned) else cleaned


def mail_user(user: Any, template_prefix: str, **context: Any) -> None:
    """Mail ``user`` at their stored address (never a spelling someone typed), after commit.

    Every template gets ``user``, ``name`` (``mail_name``: empty for an unverified address)
    and ``email`` besides ``context``. Nothing is sent to a user without an address.
    Templates must not print other user-typed fields (``user.first_name``, say): ``name``
    is the one safe for mail to an unproven address. The name is looked up when the
    message is rendered (in the background by default), so a request that mails costs
    no more than one that does not.
    """
    email = email_of(user)
    if not email:
        return
    send_after_commit(template_prefix, email, {"email": email, **context}, user_id=user.pk,
                      user=user)


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
