"""``manage.py ainative_reset_mfa --user EMAIL``: the "lost everything" reset."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ....users import find_user_by_email
from ...services import factors


class Command(BaseCommand):
    help = ("Remove every second factor of a user who lost them all (check who is asking "
            "first), and revoke every session and API key of theirs.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The account's email address.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = find_user_by_email(options["user"])
        if user is None:
            raise CommandError("No such user.")
        ended = factors.reset_factors(user)
        self.stdout.write(f"Second factors removed; {ended['sessions']} session(s) and "
                          f"{ended['api_keys']} API key(s) revoked.")
