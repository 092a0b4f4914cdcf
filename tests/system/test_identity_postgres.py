"""A profile update racing a password change, on PostgreSQL with real threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ainative_auth.adapter import DefaultAdapter
from tests.concurrency import run_together
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "the password that must survive"
name_set = threading.Event()
password_changed = threading.Event()


class PausingAdapter(DefaultAdapter):
    """Holds a PATCH users/me between loading the user and saving it until the password
    change has committed: the interleaving under which a whole-row save loses it."""

    def set_name(self, user: Any, name: str) -> None:
        super().set_name(user, name)
        name_set.set()
        assert password_changed.wait(timeout=30)


def test_a_patch_racing_a_password_change_keeps_the_new_password(
    settings: Any, tokens: dict[str, Any]
) -> None:
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH,
                              "ADAPTER": "tests.system.test_identity_postgres.PausingAdapter"}
    name_set.clear()
    password_changed.clear()
    bearer = f"Bearer {tokens['access_token']}"

    def patch() -> int:
        return APIClient().patch("/api/v1/users/me", {"name": "Alice Liddell"}, format="json",
                                 HTTP_AUTHORIZATION=bearer).status_code

    def change() -> int:
        assert name_set.wait(timeout=30)
        try:
            return APIClient().post(
                "/api/v1/auth/change-password",
                {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                format="json", HTTP_AUTHORIZATION=bearer,
            ).status_code
        finally:
            password_changed.set()

    assert run_together([patch, change]) == [200, 200]
    user = get_user_model().objects.get(email="alice@example.com")
    assert user.first_name == "Alice Liddell"
    assert user.check_password(NEW_PASSWORD)
