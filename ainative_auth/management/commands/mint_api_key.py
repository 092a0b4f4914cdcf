"""``python manage.py mint_api_key --user EMAIL --name NAME [--scopes a,b] [--expires-in 90d]``

Prints only the key on stdout, so ``KEY=$(python manage.py mint_api_key ...)`` works; notes
go to stderr. An unknown user, a bad duration or bad scopes exit non-zero with a message.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ainative_auth import clock
from ainative_auth.exceptions import APIKeyLimitReached
from ainative_auth.keys import API_KEY_NAME_MAX_LENGTH, InvalidScopes, clean_scopes
from ainative_auth.services import api_keys
from ainative_auth.users import find_user_by_email, may_authenticate

_DURATION_RE = re.compile(r"([1-9][0-9]{0,5})([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``90d``, ``2w`` (also ``45s``) as a timedelta; ValueError otherwise."""
    match = _DURATION_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(text)
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])


def find_user(email: str) -> Any:
    """The one user with this email (``users.find_user_by_email``), else CommandError."""
    user = find_user_by_email(email)
    if user is None:
        raise CommandError(
            f"No user with the email {email!r} (or several share it; fix that first)."
        )
    return user


class Command(BaseCommand):
    help = (
        "Create an API key for a user and print it (only the key, on stdout). "
        "The key cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, metavar="EMAIL",
                            help="Email of the key's owner.")
        parser.add_argument("--name", required=True, help="A label for the key.")
        parser.add_argument("--scopes", default=None, metavar="A,B",
                            help="Comma-separated scopes (default: API_KEY_DEFAULT_SCOPES).")
        parser.add_argument("--expires-in", default=None, metavar="DURATION",
                            help="Lifetime such as 30m, 12h, 90d or 2w (default: no expiry).")

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(options["name"]).strip()
        if not name or len(name) > API_KEY_NAME_MAX_LENGTH:
            raise CommandError(
                f"--name must be 1 to {API_KEY_NAME_MAX_LENGTH} characters."
            )
        expires_at = None
        if options["expires_in"] is not None:
            try:
                expires_at = clock.now() + parse_duration(options["expires_in"])
            except ValueError as exc:
                raise CommandError(
                    f"Bad --expires-in {options['expires_in']!r}: use a number and a unit "
                    "s, m, h, d or w, e.g. 90d."
                ) from exc
        scopes = None
        if options["scopes"] is not None:
            items = [item.strip() for item in options["scopes"].split(",") if item.strip()]
            try:
                scopes = clean_scopes(items)
            except InvalidScopes as exc:
                raise CommandError(f"Bad --scopes: {exc}") from exc

        user = find_user(options["user"])
        if not may_authenticate(user):
            raise CommandError(f"The user {options['user']!r} is inactive.")
        try:
            key, plaintext = api_keys.create_key(
                user, name=name, scopes=scopes, expires_at=expires_at
            )
        except APIKeyLimitReached as exc:
            raise CommandError(str(exc.detail)) from exc
        self.stdout.write(plaintext)
        self.stderr.write(
            f"Created API key {key.prefix} ({key.name}) with scopes "
            f"{', '.join(key.scopes) or '(none)'}. It is shown only this once."
        )
