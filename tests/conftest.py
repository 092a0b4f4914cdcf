"""Fixtures every test needs: an API client, a user factory, authenticated clients."""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.cache import cache
from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple"


# The kind of every test is its folder: ``tests/unit`` (credentials and identity, no HTTP),
# ``tests/flows`` (each use case, through its service and its endpoint), ``tests/api``
# (the API's contract as a whole: errors, bad input, the schema, fuzzing), ``tests/web``
# (the pages, the middleware, the admin, a real browser) and ``tests/system`` (real
# servers, outages, several processes, PostgreSQL races, the SDK, packaging, the docs).
# ``make test-fast`` runs unit and flows.
KINDS = ("unit", "flows", "api", "web", "system")


def pytest_configure(config: Any) -> None:
    """At exit, the heap a run built (Django, every test's leftovers) is frozen, so the
    interpreter's last collections skip it: a worker's exit took about 0.9 s, all of it
    spent tracing objects about to be freed anyway. (pytest's own collections to find
    unraisable exceptions run before this.)"""
    atexit.register(gc.freeze)


def pytest_collection_modifyitems(config: Any, items: list) -> None:
    """Each test gets the marker of its kind; PostgreSQL/Redis tests run when
    DATABASE_URL/REDIS_URL point at them."""
    tests_dir = os.path.dirname(__file__)
    for item in items:
        relative = os.path.relpath(str(item.path), tests_dir).split(os.sep)
        if relative[0] in KINDS:
            item.add_marker(getattr(pytest.mark, relative[0]))
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))
    on_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://..."))
        if "redis" in item.keywords and not on_redis:
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL=redis://..."))


# The rows our data migrations make. ``make test-fast`` runs with ``--no-migrations`` (the
# tables straight from the models, 0.6 s sooner per worker; ``make test`` migrates, and
# checks ``makemigrations --check``): these functions then make the same rows.
# tests/unit/test_test_database.py fails when a data migration is missing here.
DATA_MIGRATIONS = [
    ("ainative_auth.oauth_server.migrations.0003_ainative_cli_client", "create_client"),
]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any, request: Any) -> Any:
    """pytest-django's test database, and a quicker refill after each transactional test.

    Django empties every table after a transactional test, then sends ``post_migrate``,
    whose receivers rebuild the content types and the permissions one app at a time (about
    12 ms on SQLite and 35 ms on PostgreSQL, each time), while the rows of data migrations
    (the OAuth server's ``ainative-cli`` client) are simply gone, so a later test on the
    same worker would depend on the order. Here every row ``migrate`` made is kept once and
    put back, ids unchanged, into the tables the flush emptied, in place of those two
    receivers; everything else about the flush is Django's. The rows go back as one
    prepared ``INSERT`` per table (the ORM's ``bulk_create`` spent about 5 ms a flush
    building the same statements again).
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.management import create_contenttypes
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections
    from django.db.models.signals import post_migrate

    first = [ContentType, Permission]  # what other rows may point at
    models = first + [model for model in apps.get_models()
                      if model not in first and model._meta.managed and not model._meta.proxy]
    with django_db_blocker.unblock():
        if request.config.getoption("nomigrations"):
            for module, function in DATA_MIGRATIONS:
                getattr(importlib.import_module(module), function)(apps, None)
        seeded = [(model, *_insert_statement(model, rows)) for model in models
                  if (rows := list(model._base_manager.order_by("pk")))]

    def refill(sender: Any, using: str = "default", **kwargs: Any) -> None:
        # post_migrate comes once per app; the rows go back once, into emptied tables
        # (a receiver still connected, Django's default Site say, may have refilled one).
        if sender.label != "contenttypes" or ContentType.objects.using(using).exists():
            return
        with connections[using].cursor() as cursor:
            for model, sql, values in seeded:
                if not model._base_manager.using(using).exists():
                    cursor.executemany(sql, values)

    auth_uid = "django.contrib.auth.management.create_permissions"
    post_migrate.disconnect(create_contenttypes)
    post_migrate.disconnect(dispatch_uid=auth_uid)
    post_migrate.connect(refill, dispatch_uid="tests.refill_after_flush", weak=False)
    yield django_db_setup
    post_migrate.disconnect(dispatch_uid="tests.refill_after_flush")
    post_migrate.connect(create_contenttypes)
    post_migrate.connect(create_permissions, dispatch_uid=auth_uid)


def _insert_statement(model: Any, rows: list[Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """One ``INSERT`` of all of ``model``'s columns, and ``rows`` as its parameters (values
    as the ORM would save them), for ``executemany``."""
    from django.db import connection

    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)))
    values = [tuple(field.get_db_prep_save(getattr(row, field.attname), connection)
                    for field in fields) for row in rows]
    return sql, values


def assert_error(
    response: Any, status: int, code: str | None = None, *,
    codes: tuple[str, ...] = (), challenge: str | None = None,
) -> dict[str, Any]:
    """The error body every endpoint answers with: ``status``, JSON, ``error_code`` equal
    to ``code`` (or one of ``codes``), a non-empty ``detail``; a 401 carries
    ``WWW-Authenticate`` (starting with ``challenge`` when given), a 429 a positive integer
    ``Retry-After``. Returns the body."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)  # also for a bare HttpResponse, not only the client's
    if code is not None:
        assert body["error_code"] == code, body
    if codes:
        assert body["error_code"] in codes, body
    assert isinstance(body["detail"], str) and body["detail"], body
    if status == 401:
        assert "WWW-Authenticate" in response
        if challenge is not None:
            assert response["WWW-Authenticate"].startswith(challenge), response["WWW-Authenticate"]
    if status == 429:
        assert response["Retry-After"].isdigit() and int(response["Retry-After"]) > 0
    return dict(body)


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """``reverse()`` of a route; a bare name is the API's (``url("login")`` is
    ``reverse("ainative_auth:login")``), a pages route is ``url("ainative_auth_pages:login")``."""
    from django.urls import reverse

    return reverse(name if ":" in name else f"ainative_auth:{name}", args=args or None,
                   kwargs=kwargs or None)


def bearer(access_token: str, **defaults: Any) -> APIClient:
    """An API client sending ``Authorization: Bearer <access_token>``."""
    client = APIClient(**defaults)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def me(access_token: str) -> Any:
    """``GET users/me`` with ``access_token``: the response."""
    return bearer(access_token).get(url("me"))


def error_code(response: Any) -> str:
    """The ``error_code`` of an error response."""
    return str(json.loads(response.content)["error_code"])


@pytest.fixture(autouse=True)
def _clean_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def hash_ops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 hash or verification Django runs."""
    ops: list[str] = []
    encode, verify = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify

    def spy_encode(self: Any, password: str, salt: str) -> str:
        ops.append("encode")
        return encode(self, password, salt)

    def spy_verify(self: Any, password: str, encoded: str) -> bool:
        ops.append("verify")
        return verify(self, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", spy_encode)
    monkeypatch.setattr(Argon2PasswordHasher, "verify", spy_verify)
    return ops


class FrozenClock:
    """Stands in for ``ainative_auth.clock.time``, the one clock every expiry, token
    timestamp and throttle window of the app reads (``clock.now()`` derives from it)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    @property
    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, tz=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Freeze the app's clock: sessions, keys, tokens and throttle windows all stand still
    until the test moves it (``clock.advance(seconds)``, ``clock.set(datetime)``).

    It starts at a moment early in an hour, so minute and hour throttle windows both have
    room to run and no test straddles a window's boundary."""
    import time

    import jwt.api_jwt

    from ainative_auth import clock as app_clock

    frozen = FrozenClock(float(int(time.time()) // 3600 * 3600 + 5))
    monkeypatch.setattr(app_clock, "time", frozen.time)

    class FrozenDatetime(datetime):
        # PyJWT checks `exp`/`nbf` against datetime.now() itself: the same frozen moment.
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.fromtimestamp(frozen.now, tz=tz)

    monkeypatch.setattr(jwt.api_jwt, "datetime", FrozenDatetime)
    return frozen


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
def verify(db: Any) -> Callable[..., Any]:
    """Mark a user's address verified: ``verify()`` for alice@example.com (who must exist),
    ``verify(user)`` for another. A user adds an API key or a connected account only with
    a verified address (``UNVERIFIED_MAY_ADD_CREDENTIALS``)."""
    from ainative_auth.services.verification import mark_email_verified
    from ainative_auth.users import find_user_by_email

    def _verify(user: Any = None) -> Any:
        user = user if user is not None else find_user_by_email("alice@example.com")
        assert user is not None
        mark_email_verified(user)
        return user

    return _verify


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


class MintedKey(tuple):
    """``(APIKey, plaintext)``, also readable as ``.key``, ``.plaintext`` and
    ``.signing_secret`` (the service's ``IssuedKey``)."""

    signing_secret: str

    def __new__(cls, issued: Any) -> MintedKey:
        minted = super().__new__(cls, (issued.key, issued.plaintext))
        minted.signing_secret = issued.signing_secret
        return minted

    @property
    def key(self) -> Any:
        return self[0]

    @property
    def plaintext(self) -> str:
        return str(self[1])


@pytest.fixture
def make_api_key(make_user: Callable[..., Any]) -> Callable[..., MintedKey]:
    """Mint a key through the service: returns ``MintedKey`` ((APIKey, plaintext), plus
    ``.signing_secret``).

    Without ``user``, the key belongs to alice@example.com (created if missing, so it
    combines with ``tokens``/``bearer_client`` when those are requested first).
    """
    from ainative_auth.models import AccountEmail
    from ainative_auth.services import api_keys

    def _make(user: Any = None, *, name: str = "agent", scopes: list[str] | None = None,
              **kwargs: Any) -> MintedKey:
        if user is None:
            account = AccountEmail.objects.filter(email="alice@example.com").first()
            user = account.user if account else make_user()
        return MintedKey(api_keys.create_key(user, name=name, scopes=scopes, **kwargs))

    return _make


@pytest.fixture
def api_key(make_api_key: Callable[..., MintedKey]) -> MintedKey:
    """(APIKey, plaintext) of alice's key with the default scopes ("*")."""
    return make_api_key()


@pytest.fixture
def key_client(api_key: tuple[Any, str]) -> APIClient:
    """A client sending alice's ``api_key`` as ``X-API-Key``."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key[1])
    return client


# --- fixtures: email flows (issue 4) ---


@pytest.fixture
def mail_token() -> Callable[..., str]:
    """The token of the newest mailed link of ``kind`` ("verify" or "reset").

    Read from the text body, where the link is ``FRONTEND_URL`` + the path template, so a
    link built from anything else (the Host header) is not found. ``to`` picks a recipient.
    """
    import re

    from django.core import mail

    from ainative_auth.conf import auth_settings

    def _token(kind: str = "verify", to: str | None = None) -> str:
        template = {"verify": auth_settings.VERIFY_EMAIL_PATH,
                    "reset": auth_settings.RESET_PASSWORD_PATH}[kind]
        prefix = str(auth_settings.FRONTEND_URL).rstrip("/") + template.split("{token}")[0]
        pattern = re.compile(re.escape(prefix) + r"([A-Za-z0-9_.\-]+)")
        for message in reversed(mail.outbox):
            if to is not None and message.to != [to]:
                continue
            found = pattern.search(message.body)
            if found:
                return found.group(1)
        raise AssertionError(f"no {kind} link in the outbox ({len(mail.outbox)} messages)")

    return _token


@pytest.fixture
def smtp_down(mail_backend: Callable[..., None]) -> None:
    """Every send fails as if the SMTP server refused connections."""
    mail_backend("tests.mail_backends.FailingEmailBackend")


class AuthSettings:
    """What the ``auth_settings`` fixture gives: ``auth_settings(KEY=value, ...)`` sets
    ``AINATIVE_AUTH`` keys for one test, ``auth_settings.rates(scope=rate, ...)`` sets
    ``THROTTLE_RATES`` entries (merged per scope, as ``conf`` merges them)."""

    def __init__(self, settings: Any) -> None:
        self._settings = settings

    def __call__(self, **values: Any) -> None:
        self._settings.AINATIVE_AUTH = {**self._settings.AINATIVE_AUTH, **values}

    def rates(self, **rates: str | None) -> None:
        current = self._settings.AINATIVE_AUTH
        self(THROTTLE_RATES={**current.get("THROTTLE_RATES", {}), **rates})


@pytest.fixture
def auth_settings(settings: Any) -> AuthSettings:
    """Override ``AINATIVE_AUTH`` for one test (pytest-django's ``settings`` undoes it)."""
    return AuthSettings(settings)


# --- fixtures: social login (issue 9) ---


@pytest.fixture
def github(settings: Any) -> Any:
    """A stand-in GitHub on loopback, configured as the project's GitHub app."""
    from .oauth_standins import serving_github

    with serving_github(settings) as server:
        yield server


@pytest.fixture
def linkedin(settings: Any) -> Any:
    """A stand-in OpenID Connect issuer on loopback, configured as the LinkedIn app."""
    from .oauth_standins import serving_linkedin

    with serving_linkedin(settings) as server:
        yield server


@pytest.fixture
def admin_client(db: Any, admin_user: Any) -> Any:
    """pytest-django's ``admin_client``, signed in through the admin's own login form: the
    admin admits only browser sessions bound to a live "password" session row, which a
    bare ``force_login`` does not make."""
    from django.test import Client

    client = Client()
    response = client.post("/admin/login/", {"username": admin_user.username,
                                             "password": "password"})
    assert response.status_code == 302, response.content[:300]
    return client
