"""Fixtures every test needs: an API client, a user factory, authenticated clients."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config: Any, items: list) -> None:
    """PostgreSQL/Redis tests run when DATABASE_URL/REDIS_URL point at them."""
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))
    on_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://..."))
        if "redis" in item.keywords and not on_redis:
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL=redis://..."))


@pytest.fixture(autouse=True)
def _clean_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def register(api: APIClient) -> Callable[..., Any]:
    """POST auth/register; returns the response."""

    def _register(email: str = "alice@example.com", password: str = PASSWORD,
                  name: str = "Alice", **extra: Any) -> Any:
        return api.post("/api/v1/auth/register",
                        {"email": email, "password": password, "name": name, **extra},
                        format="json")

    return _register


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    """Create a user through the register service (unverified email, usable password)."""
    from ainative_auth.services import accounts

    def _make(email: str = "alice@example.com", password: str = PASSWORD,
              name: str = "Alice", **attrs: Any) -> Any:
        user = accounts.register(email=email, password=password, name=name)
        for key, value in attrs.items():
            setattr(user, key, value)
        if attrs:
            user.save()
        return user

    return _make


@pytest.fixture
def login(api: APIClient) -> Callable[..., Any]:
    def _login(email: str = "alice@example.com", password: str = PASSWORD) -> Any:
        return api.post("/api/v1/auth/login", {"email": email, "password": password},
                        format="json")

    return _login


@pytest.fixture
def tokens(make_user: Callable[..., Any], login: Callable[..., Any]) -> dict[str, Any]:
    """A logged-in user's token response."""
    make_user()
    response = login()
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def bearer_client(tokens: dict[str, Any]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    return client


@pytest.fixture
def mail_backend(settings: Any) -> Callable[..., None]:
    """Switch the email backend for one test, on Django 5.2 (EMAIL_*) and 6.1+ (MAILERS).

    ``mail_backend("path.to.Backend", host="127.0.0.1", port=2525)``; the options are
    MAILERS ``OPTIONS`` on 6.1+, and ``EMAIL_HOST``/``EMAIL_PORT``/... settings before.
    """
    import django

    def _use(backend: str, **options: Any) -> None:
        if django.VERSION >= (6, 1):
            settings.MAILERS = {"default": {"BACKEND": backend, "OPTIONS": options}}
        else:
            settings.EMAIL_BACKEND = backend
            for key, value in options.items():
                setattr(settings, f"EMAIL_{key.upper()}", value)

    return _use


# --- fixtures: api keys (issue 3) ---


# --- fixtures: email flows (issue 4) ---
