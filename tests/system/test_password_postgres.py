"""Concurrency on PostgreSQL: one reset token, one verification token, many requests (C-4, C-5)."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ainative_auth.credentials.email_tokens import reset_password_tokens, verify_email_tokens
from tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PARALLEL = 10


def test_concurrent_resets_with_one_token_give_exactly_one_success(make_user, login):
    user = make_user()
    token = reset_password_tokens.make_email_token(user)
    passwords = [f"parallel passphrase number {i}" for i in range(PARALLEL)]

    def attempt(i: int) -> tuple[int, str]:
        r = APIClient().post("/api/v1/auth/reset-password",
                             {"token": token, "new_password": passwords[i]}, format="json")
        return r.status_code, r.json().get("error_code", "")

    results = run_together([partial(attempt, i) for i in range(PARALLEL)])
    assert all(isinstance(result, tuple) for result in results), results
    winners = [i for i, (status, _) in enumerate(results) if status == 200]
    assert len(winners) == 1, results
    losers = [result for i, result in enumerate(results) if i != winners[0]]
    assert set(losers) == {(400, "token_invalid")}
    # The final password is the winner's.
    user = get_user_model().objects.get(pk=user.pk)
    assert user.check_password(passwords[winners[0]])
    assert login(password=passwords[winners[0]]).status_code == 200


def test_concurrent_verifications_with_one_token_verify_once(make_user):
    from ainative_auth.signals import email_verified

    user = make_user()
    token = verify_email_tokens.make_email_token(user)
    events: list[str] = []
    lock = threading.Lock()

    def on_verified(sender: Any, email: str, **kwargs: Any) -> None:
        with lock:
            events.append(email)

    def attempt(i: int) -> int:
        return APIClient().post("/api/v1/auth/verify-email", {"token": token},
                                format="json").status_code

    email_verified.connect(on_verified)
    try:
        results = run_together([partial(attempt, i) for i in range(PARALLEL)])
    finally:
        email_verified.disconnect(on_verified)
    assert sorted(results) == [200] + [400] * (PARALLEL - 1), results
    assert events == ["alice@example.com"]
    assert EmailAddress.objects.get(user=user).verified is True
