"""Concurrency on PostgreSQL (C-1, C-8): parallel sign-ups of one address, parallel
wrong-password logins against one account's limit.

Run with ``DATABASE_URL=postgres://... [REDIS_URL=redis://...] pytest <this file>``.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ainative_auth import clock
from ainative_auth.models import AccountEmail
from tests.concurrency import run_together
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_fifty_parallel_signups_of_one_address_make_exactly_one_account(
    auth_settings, mailoutbox
):
    auth_settings.rates(register="1000/minute")
    spellings = ["a@x.co", "A@x.co", "a@X.CO"]

    def register(i: int) -> Any:
        return APIClient().post(
            "/api/v1/auth/register",
            {"email": spellings[i % 3], "password": PASSWORD, "name": f"Racer {i}"},
            format="json", REMOTE_ADDR=f"10.1.0.{i + 1}",
        )

    responses = run_together([partial(register, i) for i in range(50)])

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 49}, statuses
    conflicts = [r for r in responses if r.status_code == 409]
    assert len({r.content for r in conflicts}) == 1
    assert conflicts[0].json()["error_code"] == "email_taken"
    winner = next(r for r in responses if r.status_code == 201).json()["user"]
    assert winner["email"] == "a@x.co"

    model = get_user_model()
    assert model.objects.count() == 1
    assert model.objects.get().pk == winner["id"]
    assert AccountEmail.objects.count() == 1
    assert EmailAddress.objects.count() == 1

    from ainative_auth.outbox import flush_mail

    assert flush_mail(timeout=30)
    # Exactly one verification mail; the 409s told the owner (R23), never anyone else, and
    # no more often than ACCOUNT_EXISTS_NOTICE_RATE (3 a day), race or not.
    verify = [m for m in mailoutbox if "/verify-email?token=" in m.body]
    notices = [m for m in mailoutbox if "tried to sign up" in m.subject]
    assert [m.to for m in verify] == [["a@x.co"]]
    assert len(notices) == 3 and all(m.to == ["a@x.co"] for m in notices)
    assert len(mailoutbox) == 4


def test_parallel_wrong_passwords_for_one_account_stop_at_the_per_email_limit(
    auth_settings, make_user, monkeypatch
):
    auth_settings.rates(login="5/minute")
    make_user(email="target@example.com")

    # Freeze the throttle clock: all thirty attempts fall in one window.
    frozen = float(int(clock.time()) // 60 * 60 + 1)
    monkeypatch.setattr(clock, "time", lambda: frozen)

    def attempt(i: int) -> Any:
        # Thirty addresses, so only the per-email counter can stop them.
        return APIClient().post(
            "/api/v1/auth/login",
            {"email": "target@example.com", "password": f"wrong password {i}"},
            format="json", REMOTE_ADDR=f"10.2.0.{i + 1}",
        )

    responses = run_together([partial(attempt, i) for i in range(30)])

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {401: 5, 429: 25}, statuses
    assert all(r.json()["error_code"] == "throttled" for r in responses if r.status_code == 429)
