"""The hot path at its limit must stay the same path: what its shortcuts may never change.

- the key and session lookups run their one SELECT on the driver's cursor, and return the
  ORM's objects, field by field, with the ORM's state;
- whatever watches queries (``execute_wrapper``, ``assertNumQueries``, DEBUG) still sees
  that one statement, and database errors are still Django's (a 503, not a 500);
- a model or a project that hooks instance creation (``post_init``, a custom ``from_db``,
  an assignment descriptor) gets Django's own ``from_db``;
- the per-key request counter on a local-memory cache is exact under threads, and any
  other cache goes through the cache.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, OperationalError, connection, models, transaction
from django.db.models.signals import post_init
from rest_framework import exceptions
from rest_framework.test import APIClient

from ainative_auth.credentials import lookups, throttling
from ainative_auth.credentials.lookups import SESSION_FIELDS, fetch_api_key, fetch_session
from ainative_auth.models import APIKey, RefreshSession
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"
# An endpoint that reads nothing but the credential (users/me also reads the email state).
BALANCE = "/api/v1/public/credits/balance"
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite",
                                 reason="counts statements with SQLite's trace callback")


def _traced(fn: Any) -> tuple[Any, list[str]]:
    """``fn()`` and the statements the SQLite driver ran meanwhile, nothing wrapped."""
    connection.ensure_connection()
    seen: list[str] = []
    connection.connection.set_trace_callback(seen.append)
    try:
        return fn(), seen
    finally:
        connection.connection.set_trace_callback(None)


def _same_row(fetched: Any, expected: Any, attnames: list[str]) -> None:
    for name in attnames:
        assert getattr(fetched, name) == getattr(expected, name), name
        assert type(getattr(fetched, name)) is type(getattr(expected, name)), name


@sqlite_only
def test_the_key_lookup_is_one_statement_on_the_driver_and_the_orms_objects(
    api_key: Any,
) -> None:
    key, _ = api_key
    APIKey.objects.filter(pk=key.pk).update(last_used_at=key.created_at,
                                            expires_at=key.created_at)
    fetched, statements = _traced(lambda: fetch_api_key(key.public_id))
    assert len(statements) == 1 and statements[0].startswith("SELECT")
    expected = APIKey.objects.select_related("user").get(pk=key.pk)
    _same_row(fetched, expected, [f.attname for f in APIKey._meta.concrete_fields])
    user, statements = _traced(lambda: fetched.user)
    assert statements == []  # joined in the one SELECT
    _same_row(user, expected.user, [f.attname for f in get_user_model()._meta.concrete_fields])
    assert fetched.expires_at.tzinfo is not None and user.date_joined.tzinfo is not None
    for instance in (fetched, user):
        assert not instance._state.adding and instance._state.db == "default"
    assert fetched == expected and fetched.pk == expected.pk
    assert fetch_api_key("AAAAAAAAAAAA") is None


@sqlite_only
def test_the_session_lookup_defers_the_same_columns_as_the_orm(tokens: dict[str, Any]) -> None:
    session = RefreshSession.objects.get()
    fetched, statements = _traced(lambda: fetch_session(session.pk))
    assert len(statements) == 1
    expected = RefreshSession.objects.select_related("user").only(
        *SESSION_FIELDS, *(f"user__{f.name}" for f in get_user_model()._meta.concrete_fields)
    ).get(pk=session.pk)
    assert fetched.get_deferred_fields() == expected.get_deferred_fields()
    _same_row(fetched, expected, [RefreshSession._meta.get_field(n).attname
                                  for n in SESSION_FIELDS])
    device, statements = _traced(lambda: fetched.device)
    assert device == session.device and len(statements) == 1  # loaded on access


@sqlite_only
@pytest.mark.parametrize("scheme", ["X-API-Key", "Bearer key", "Bearer JWT"])
def test_an_authenticated_request_sends_one_statement_to_the_driver(
    tokens: dict[str, Any], api_key: Any, scheme: str
) -> None:
    _, plaintext = api_key
    headers = {"X-API-Key": {"HTTP_X_API_KEY": plaintext},
               "Bearer key": {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"},
               "Bearer JWT": {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"},
               }[scheme]
    client = APIClient()
    assert client.get(BALANCE, **headers).status_code == 200  # a key's first use writes
    response, statements = _traced(lambda: client.get(BALANCE, **headers))
    assert response.status_code == 200
    assert len(statements) == 1 and statements[0].startswith("SELECT"), statements


def test_whatever_watches_the_queries_still_sees_the_one_statement(
    api_key: Any, django_assert_num_queries: Any
) -> None:
    key, _ = api_key
    seen: list[str] = []

    def watcher(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watcher):
        assert fetch_api_key(key.public_id) is not None
    assert len(seen) == 1
    with django_assert_num_queries(1):
        assert fetch_api_key(key.public_id) is not None


def test_a_database_error_on_the_driver_is_djangos(api_key: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    key, plaintext = api_key
    lookup = lookups._lookup(APIKey, "public_id", "")
    if lookup.driver_sql is None:
        pytest.skip("this backend always goes through Django's cursor")
    monkeypatch.setattr(lookup, "driver_sql", "SELECT * FROM no_such_table WHERE 1 = %s"
                        if connection.vendor == "postgresql"
                        else "SELECT * FROM no_such_table WHERE 1 = ?")
    with pytest.raises(DatabaseError) as raised:
        fetch_api_key(key.public_id)
    # Django's own class (the driver's error wrapped), which the exception handler maps.
    assert type(raised.value).__module__ == "django.db.utils"
    if connection.vendor == "postgresql":
        return  # a missing table is a ProgrammingError there: not an outage to answer 503
    assert isinstance(raised.value, OperationalError)
    # ... which the API answers with its 503, never a 500 or a 401.
    response = APIClient().get(ME, HTTP_X_API_KEY=plaintext)
    assert_error(response, 503, "service_unavailable")


def test_a_broken_transaction_is_refused_as_django_refuses_it(api_key: Any) -> None:
    from django.db.transaction import TransactionManagementError

    key, _ = api_key
    with transaction.atomic():
        connection.needs_rollback = True
        with pytest.raises(TransactionManagementError):
            fetch_api_key(key.public_id)
        connection.needs_rollback = False


def test_a_post_init_receiver_gets_djangos_own_instances(api_key: Any) -> None:
    key, _ = api_key
    made: list[str] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        made.append(type(instance).__name__)

    post_init.connect(receiver)
    try:
        fetched = fetch_api_key(key.public_id)
    finally:
        post_init.disconnect(receiver)
    assert made == ["APIKey", type(key.user).__name__]
    assert fetched is not None and fetched.user.pk == key.user_id


def test_models_that_hook_instance_creation_are_not_plain() -> None:
    assert lookups._plain(APIKey) and lookups._plain(RefreshSession)
    assert lookups._plain(get_user_model())

    class Loaded(models.Model):
        class Meta:
            app_label = "ainative_auth_tests_plain"

        @classmethod
        def from_db(cls, db: Any, field_names: Any, values: Any) -> Any:
            return super().from_db(db, field_names, values)

    class WithFile(models.Model):
        upload = models.FileField()

        class Meta:
            app_label = "ainative_auth_tests_plain"

    class WithInit(models.Model):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)

        class Meta:
            app_label = "ainative_auth_tests_plain"

    assert not lookups._plain(Loaded)
    assert not lookups._plain(WithFile)
    assert not lookups._plain(WithInit)


# --- the per-key request counter ------------------------------------------------------------


def test_the_local_counter_is_exact_under_threads(auth_settings: Any) -> None:
    rate = throttling.Rate(limit=50, period=3600)
    passed: list[int] = []
    refused: list[int] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(20):
            try:
                throttling.count_key_request("threads-key", rate, "default")
                passed.append(1)
            except exceptions.Throttled:
                refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(passed), len(refused)) == (50, 110)


def test_the_local_counter_is_used_only_for_a_local_memory_cache(settings: Any,
                                                                  auth_settings: Any) -> None:
    settings.CACHES = {**settings.CACHES,
                       "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
                       "mem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                               "LOCATION": "one"},
                       "same-mem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                    "LOCATION": "one"}}
    assert throttling._local_counters("dummy") is None
    assert throttling._local_counters("mem") is throttling._local_counters("same-mem")
    # The dummy cache remembers nothing, as it always did: never a 429 there.
    rate = throttling.Rate(limit=1, period=60)
    auth_settings(THROTTLE_CACHE="dummy")
    for _ in range(3):
        throttling.count_key_request("dummy-key", rate, "dummy")
    throttling.count_key_request("mem-key", rate, "mem")
    with pytest.raises(exceptions.Throttled):
        throttling.count_key_request("mem-key", rate, "same-mem")


def test_the_key_throttle_answers_429_with_retry_after(
    api: APIClient, api_key: Any, auth_settings: Any, clock: Any
) -> None:
    auth_settings.rates(api_key="3/minute")
    _, plaintext = api_key
    for _ in range(3):
        assert api.get(ME, HTTP_X_API_KEY=plaintext).status_code == 200
    response = api.get(ME, HTTP_X_API_KEY=plaintext)
    body = assert_error(response, 429, "throttled")
    assert body and 1 <= int(response["Retry-After"]) <= 61
    clock.advance(60)
    assert api.get(ME, HTTP_X_API_KEY=plaintext).status_code == 200
