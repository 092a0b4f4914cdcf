"""``python manage.py ainative_canonicalize_emails [--dry-run]``

Rewrites the stored addresses of existing users into the canonical form that
registration, login and the email flows use today (``users.canonical_email``: ASCII local
part, punycode domain, lower-cased), together with their ``AccountEmail`` uniqueness record
and allauth's ``EmailAddress`` rows. Run it once after upgrading from a version that
stored addresses as typed.

Accounts are never merged: when two users' addresses have the same canonical form (say
``alice@exämple.com`` and ``alice@xn--exmple-cua.com``), both are left as they are and the
collision is reported, for a person to decide. Addresses with no canonical form (invisible
characters, a non-ASCII local part) are reported and left alone too. The command exits with
status 1 when it reported anything, so it can gate a deploy.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from ...models import AccountEmail
from ...users import InvalidEmail, canonical_email, email_field


class Command(BaseCommand):
    help = (
        "Store every user's address in its canonical form (punycode domain, lower case); "
        "report collisions and invalid addresses instead of merging accounts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Report what would change; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        field = email_field()
        users = get_user_model()._default_manager.exclude(**{field: ""}).order_by("pk")
        by_canonical: dict[str, list[Any]] = defaultdict(list)
        problems = 0
        for user in users.iterator():
            stored = getattr(user, field) or ""
            try:
                by_canonical[canonical_email(stored)].append(user)
            except InvalidEmail as exc:
                problems += 1
                self.stderr.write(f"user {user.pk}: {stored!r} has no canonical form ({exc})")

        changed = 0
        for canonical, owners in by_canonical.items():
            if len(owners) > 1:
                problems += 1
                ids = ", ".join(str(owner.pk) for owner in owners)
                self.stderr.write(
                    f"users {ids}: their addresses are all {canonical!r}; left unchanged "
                    "(merge or rename them by hand)"
                )
                continue
            user = owners[0]
            if getattr(user, field) == canonical and AccountEmail.objects.filter(
                user=user, email=canonical
            ).exists():
                continue
            changed += 1
            self.stdout.write(f"user {user.pk}: {getattr(user, field)!r} -> {canonical!r}")
            if not options["dry_run"]:
                self._rewrite(user, field, canonical)

        verb = "would change" if options["dry_run"] else "changed"
        self.stdout.write(f"{verb} {changed} user(s); {problems} problem(s) reported")
        if problems:
            raise CommandError(f"{problems} address problem(s) need a person (see above)")

    @staticmethod
    def _rewrite(user: Any, field: str, canonical: str) -> None:
        old = getattr(user, field)
        with transaction.atomic():
            EmailAddress.objects.filter(user=user, email__iexact=old).update(email=canonical)
            AccountEmail.objects.update_or_create(user=user, defaults={"email": canonical})
            setattr(user, field, canonical)
            user.save(update_fields=[field])
