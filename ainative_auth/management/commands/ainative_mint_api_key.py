"""``python manage.py ainative_mint_api_key --user EMAIL --name NAME [--scopes a,b]
[--expires-in 90d] [--require-signature] [--public-key FILE] [--signing-secret]``

Prints only the key on stdout, so ``KEY=$(python manage.py ainative_mint_api_key ...)`` works; with
``--signing-secret`` the key is the first line and its signing secret the second
(``{ read KEY; read SECRET; } < <(python manage.py ainative_mint_api_key ... --signing-secret)``).
Notes go to stderr. An unknown user, a bad duration, bad scopes or a bad public key exit
non-zero with a message.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import clock
from ...credentials.keys import (
    API_KEY_NAME_MAX_LENGTH,
    PUBLIC_KEY_MAX_LENGTH,
    InvalidPublicKey,
    InvalidScopes,
    clean_public_key,
    clean_scopes,
    split_scopes_text,
)
from ...exceptions import APIKeyLimitReached
from ...services import api_keys
from ...users import find_user_by_email, may_authenticate

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


def read_public_key(path: str) -> str:
    """The canonical PEM of the Ed25519 public key in the file at ``path``."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read(PUBLIC_KEY_MAX_LENGTH + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read --public-key {path!r}: {exc}") from exc
    try:
        return clean_public_key(text)
    except InvalidPublicKey as exc:
        raise CommandError(f"Bad --public-key: {exc}") from exc


class Command(BaseCommand):
    help = (
        "Create an API key for a user and print it (only the key, on stdout; with "
        "--signing-secret its signing secret on a second line). Neither can be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, metavar="EMAIL",
                            help="Email of the key's owner.")
        parser.add_argument("--name", required=True, help="A label for the key.")
        parser.add_argument("--scopes", default=None, metavar="A,B",
                            help="Scopes separated by commas or spaces (default: "
                                 "API_KEY_DEFAULT_SCOPES).")
        parser.add_argument("--expires-in", default=None, metavar="DURATION",
                            help="Lifetime such as 30m, 12h, 90d or 2w (default: no expiry).")
        parser.add_argument("--require-signature", action="store_true",
                            help="Refuse unsigned requests with this key.")
        parser.add_argument("--public-key", default=None, metavar="FILE",
                            help="PEM file of an Ed25519 public key for RFC 9421 ed25519 "
                                 "signatures (then the key's only signing algorithm).")
        parser.add_argument("--signing-secret", action="store_true",
                            help="Also print the key's signing secret, on a second line.")

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
            items = split_scopes_text(options["scopes"])
            try:
                scopes = clean_scopes(items)
            except InvalidScopes as exc:
                raise CommandError(f"Bad --scopes: {exc}") from exc

        public_key = None
        if options["public_key"] is not None:
            public_key = read_public_key(options["public_key"])

        user = find_user(options["user"])
        if not may_authenticate(user):
            raise CommandError(f"The user {options['user']!r} is inactive.")
        try:
            issued = api_keys.create_key(
                user, name=name, scopes=scopes, expires_at=expires_at,
                require_signature=options["require_signature"], public_key=public_key,
            )
        except APIKeyLimitReached as exc:
            raise CommandError(str(exc.detail)) from exc
        key = issued.key
        self.stdout.write(issued.plaintext)
        if options["signing_secret"]:
            self.stdout.write(issued.signing_secret)
        shown = "They are" if options["signing_secret"] else "It is"
        self.stderr.write(
            f"Created API key {key.prefix} ({key.name}) with scopes "
            f"{', '.join(key.scopes) or '(none)'}"
            f"{', signatures required' if key.require_signature else ''}"
            f"{', Ed25519 public key registered' if key.public_key else ''}. "
            f"{shown} shown only this once."
        )
