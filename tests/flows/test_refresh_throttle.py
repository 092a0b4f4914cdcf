"""The per-session refresh limit cannot be turned against the session's owner (review F9).

A session's id is the ``sid`` claim of every access token it issued: anyone who has seen
one access token (a log line, a proxy, a browser extension) can name the session. So the
per-session counter counts only refreshes that prove possession of the session's refresh
token (its MAC matched); garbage naming the session is counted per IP only. The limit
still bounds what a real token can do: replayed past the limit, it is a 429.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from ainative_auth.conf import DEFAULTS
from ainative_auth.credentials import throttling
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

REFRESH_LIMIT = throttling.Rate.parse(DEFAULTS["THROTTLE_RATES"]["refresh"]).limit  # 60


def sid_of(access_token: str) -> str:
    """What anyone who sees an access token can read: its session id."""
    payload = access_token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"])


def refresh(token: str, ip: str) -> Any:
    return APIClient().post(reverse("ainative_auth:refresh"), {"refresh_token": token},
                            format="json", REMOTE_ADDR=ip)


@pytest.fixture
def shipped_refresh_rate(auth_settings: Any, clock: Any) -> None:
    """The shipped `refresh` rate (60/minute), time frozen inside one window."""
    auth_settings.rates(refresh=DEFAULTS["THROTTLE_RATES"]["refresh"])


def test_forged_tokens_naming_a_session_do_not_block_its_owners_refresh(
    shipped_refresh_rate, tokens
):
    sid = sid_of(tokens["access_token"]).replace("-", "")
    # The forgery is the owner's token with another MAC: same session, same generation.
    assert tokens["refresh_token"].startswith(f"{sid}.0.")
    # Well-formed tokens for the session's current generation, with a made-up MAC, from a
    # new address each time (so no per-IP limit stops the flood first).
    for n in range(REFRESH_LIMIT + 5):
        forged = f"{sid}.0.{'A' * 43}"
        assert_error(refresh(forged, ip=f"10.9.{n}.1"), 401, "refresh_token_invalid")

    owner = refresh(tokens["refresh_token"], ip="192.0.2.10")

    assert owner.status_code == 200, owner.content
    assert owner.json()["refresh_token"] != tokens["refresh_token"]


def test_a_real_token_replayed_past_the_per_session_limit_is_throttled(
    shipped_refresh_rate, auth_settings, tokens
):
    # The just-rotated token is honoured again inside the grace window (same successor):
    # a stolen token replayed from many addresses is still bounded by the session's limit.
    auth_settings(REFRESH_REUSE_INTERVAL=3600)
    stolen = tokens["refresh_token"]
    first = refresh(stolen, ip="10.8.0.1")
    assert first.status_code == 200
    successor = first.json()["refresh_token"]

    for n in range(1, REFRESH_LIMIT):
        replay = refresh(stolen, ip=f"10.8.{n}.1")
        assert replay.status_code == 200, (n, replay.content)
        assert replay.json()["refresh_token"] == successor

    assert_error(refresh(stolen, ip="10.8.255.1"), 429, "throttled")
    # The owner's current token is the same session: past its limit too, until the window ends.
    assert_error(refresh(successor, ip="192.0.2.10"), 429, "throttled")


def test_forged_tokens_are_still_counted_per_ip(shipped_refresh_rate, tokens):
    sid = sid_of(tokens["access_token"]).replace("-", "")
    for _ in range(REFRESH_LIMIT):
        assert_error(refresh(f"{sid}.0.{'A' * 43}", ip="10.9.0.1"), 401, "refresh_token_invalid")

    assert_error(refresh(f"{sid}.0.{'A' * 43}", ip="10.9.0.1"), 429, "throttled")
    # The flooder's address is limited; the owner's is not, nor is the session.
    assert refresh(tokens["refresh_token"], ip="192.0.2.10").status_code == 200
