"""``manage.py ainative_mint_api_key``: only the key on stdout, clear errors otherwise."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from ainative_auth.management.commands.ainative_mint_api_key import parse_duration
from ainative_auth.models import APIKey

KEY_LINE = re.compile(r"ak_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\n")

pytestmark = pytest.mark.django_db


def mint(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ainative_mint_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_stdout_is_exactly_the_key_and_the_key_works(make_user: Any) -> None:
    make_user()
    out, err = mint("--user", "Alice@Example.com", "--name", "deploy",
                    "--scopes", "credits:read, keys:write", "--expires-in", "90d")
    assert KEY_LINE.fullmatch(out)
    plaintext = out.strip()
    assert plaintext not in err  # the note names the prefix, never the key
    key = APIKey.objects.get()
    assert key.name == "deploy" and key.scopes == ["credits:read", "keys:write"]
    assert abs(key.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    response = APIClient().get("/api/v1/public/credits/balance", HTTP_X_API_KEY=plaintext)
    assert response.status_code == 200
    assert response.json()["user_id"] == key.user_id


def test_without_scopes_the_key_gets_the_default_and_no_expiry(make_user: Any) -> None:
    make_user()
    out, _ = mint("--user", "alice@example.com", "--name", "agent")
    key = APIKey.objects.get()
    assert key.scopes == ["*"] and key.expires_at is None
    assert APIClient().get("/api/v1/users/me",
                           HTTP_X_API_KEY=out.strip()).status_code == 200


@pytest.mark.parametrize("args, message", [
    (["--user", "nobody@example.com", "--name", "x"], "No user"),
    (["--user", "alice@example.com", "--name", "x", "--expires-in", "90"], "--expires-in"),
    (["--user", "alice@example.com", "--name", "x", "--expires-in", "90y"], "--expires-in"),
    (["--user", "alice@example.com", "--name", "x", "--expires-in", "-1d"], "--expires-in"),
    (["--user", "alice@example.com", "--name", "x", "--expires-in", "0d"], "--expires-in"),
    (["--user", "alice@example.com", "--name", "x", "--scopes", "Bad Scope"], "--scopes"),
    (["--user", "alice@example.com", "--name", "  "], "--name"),
])
def test_bad_input_is_a_command_error_and_creates_nothing(
    make_user: Any, args: list[str], message: str
) -> None:
    make_user()
    with pytest.raises(CommandError, match=re.escape(message)):
        mint(*args)
    assert APIKey.objects.count() == 0


def test_an_inactive_user_gets_no_key(make_user: Any) -> None:
    make_user(is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        mint("--user", "alice@example.com", "--name", "x")
    assert APIKey.objects.count() == 0


def test_the_per_user_limit_applies(make_user: Any, auth_settings: Any) -> None:
    auth_settings(API_KEY_MAX_PER_USER=1)
    make_user()
    mint("--user", "alice@example.com", "--name", "one")
    with pytest.raises(CommandError, match="maximum"):
        mint("--user", "alice@example.com", "--name", "two")


@pytest.mark.parametrize("text, seconds", [
    ("45s", 45), ("30m", 1800), ("12h", 43200), ("90d", 90 * 86400), ("2w", 14 * 86400),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_the_former_name_still_mints_and_says_it_is_deprecated(make_user: Any) -> None:
    make_user(email="a@example.com")
    out, err = StringIO(), StringIO()
    call_command("mint_api_key", "--user", "a@example.com", "--name", "old-name",
                 stdout=out, stderr=err)
    assert out.getvalue().startswith("ak_")
    assert "ainative_mint_api_key" in err.getvalue()
