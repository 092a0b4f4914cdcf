"""The per-user API-key limit under concurrent creation, on PostgreSQL (real row locks)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from ainative_auth.exceptions import APIKeyLimitReached
from ainative_auth.models import APIKey
from ainative_auth.services import api_keys

THREADS = 20
LIMIT = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_creation_never_exceeds_the_per_user_limit(
    make_user: Any, settings: Any, round_: int
) -> None:
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "API_KEY_MAX_PER_USER": LIMIT}
    user = make_user()
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def create(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            try:
                api_keys.create_key(user, name=f"key-{index}")
                outcome = "created"
            except APIKeyLimitReached:
                outcome = "limit"
            except Exception as exc:  # noqa: BLE001 - reported below, never swallowed
                outcome = f"error: {exc!r}"
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == THREADS
    assert outcomes.count("created") == LIMIT, outcomes
    assert outcomes.count("limit") == THREADS - LIMIT, outcomes
    assert APIKey.objects.filter(user=user).count() == LIMIT
