"""The per-user API-key limit under concurrent creation, on PostgreSQL (real row locks)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from ainative_auth.exceptions import APIKeyLimitReached
from ainative_auth.models import APIKey
from ainative_auth.services import api_keys
from tests.concurrency import run_together

THREADS = 20
LIMIT = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_creation_never_exceeds_the_per_user_limit(
    make_user: Any, round_: int, auth_settings: Any
) -> None:
    auth_settings(API_KEY_MAX_PER_USER=LIMIT)
    user = make_user()

    def create(index: int) -> str:
        try:
            api_keys.create_key(user, name=f"key-{index}")
        except APIKeyLimitReached:
            return "limit"
        return "created"

    outcomes = run_together([partial(create, i) for i in range(THREADS)])

    assert len(outcomes) == THREADS
    assert outcomes.count("created") == LIMIT, outcomes
    assert outcomes.count("limit") == THREADS - LIMIT, outcomes
    assert APIKey.objects.filter(user=user).count() == LIMIT
