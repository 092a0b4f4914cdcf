"""The two per-request lookups of the authentication hot path, compiled once.

``fetch_api_key`` (an API key and its owner, by public id) and ``fetch_session`` (a session
and its user, by id) are what ``Model.objects.select_related("user").filter(<field>=value)
.order_by()[:1]`` would return, but the queryset is built and compiled once per database
connection instead of on every request. Building and compiling it is most of an ORM
lookup's cost (``make bench`` measured ~440-570 us on SQLite for the queryset against a few
tens of microseconds for its SQL); per request only the SELECT and ``Model.from_db`` run.

It is the same single query and the same objects (``tests/unit/test_hot_path.py`` and
``tests/flows/test_api_keys.py`` compare them with the ORM's, field by field), and nothing
about the row is cached, so a revoked key or session is refused on the very next request.

The statement goes to the DB-API cursor itself on SQLite and PostgreSQL, with what
Django's cursor does around it kept (the connection's health check and thread check, the
broken-transaction check, Django's database-error classes) and what it would redo on
every call done once: on SQLite its ``%s`` -> ``?`` rewrite, a regex over the whole
statement (9-14 us of a request's budget, measured by ``make bench``). Whenever something
watches the queries (``connection.execute_wrapper``, the debug cursor of ``DEBUG`` or
``assertNumQueries``), the statement goes through Django's cursor as before, so it is
counted and logged like any other.

This is the only module that uses the ORM's compiler internals (``get_compiler``,
``klass_info``, ``get_related_populators``) and a backend's raw connection: after a Django
upgrade, it and its equivalence tests are the one place to check. """

from __future__ import annotations

import inspect
import uuid
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import get_related_populators
from django.db.models.signals import post_init, pre_init
from django.utils.dateparse import parse_datetime

from ..models import APIKey, RefreshSession


class CompiledLookup:
    """``model.objects.using(alias).select_related(related).filter(field=value).order_by()
    [:1]`` for one ``model``/``field``/``related``, compiled for one connection."""

    def __init__(
        self, model: type[models.Model], field: str, related: str, sentinel: Any, alias: str,
        only: tuple[str, ...] = (),
    ) -> None:
        self.model, self.alias = model, alias
        self.field = cast(
            models.Field, model._meta.pk if field == "pk" else model._meta.get_field(field)
        )
        queryset = (
            model._default_manager.using(alias).select_related(related)
            .filter(**{field: sentinel}).order_by()
        )
        if only:
            # The related model's columns all stay (``request.user`` is a whole user).
            related_model = cast(type[models.Model],
                                 model._meta.get_field(related).related_model)
            related_fields = [f"{related}__{f.name}"
                              for f in related_model._meta.concrete_fields]
            queryset = queryset.only(*only, *related_fields)
        queryset = queryset[:1]
        compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        # The compiled query must have exactly one parameter, the looked-up value.
        if list(params) != [self._prep(sentinel)]:  # pragma: no cover - Django internals
            raise RuntimeError(f"unexpected parameters in the compiled {model.__name__} lookup")
        select, klass_info = compiler.select, compiler.klass_info
        self.converters = compiler.get_converters([column[0] for column in select])
        # The same converters, flattened; SQLite's datetime converter (the most frequent,
        # six of a key's columns) replaced by an equivalent that reads USE_TZ once a row.
        self.datetimes: list[int] = []
        self.conversions: list[tuple[int, list[Any], Any]] = []
        for position, (functions, expression) in self.converters.items():
            if [getattr(f, "__func__", None) for f in functions] == [_SQLITE_DATETIME]:
                self.datetimes.append(position)
            else:
                self.conversions.append((position, list(functions), expression))
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.attnames = [column[0].target.attname for column in select[self.start:self.end]]
        # Django 6.1 threads the queryset's fetch mode through from_db and the populators.
        fetch_mode = getattr(queryset, "_fetch_mode", None)
        extra = (fetch_mode,) if fetch_mode is not None else ()
        self.populators = get_related_populators(klass_info, select, alias, *extra)
        self.from_db_kwargs = {"fetch_mode": fetch_mode} if fetch_mode is not None else {}
        self.compiler = compiler
        self.driver_sql = _driver_sql(connections[alias], self.sql)
        self.sqlite_execute = _sqlite_execute() if connections[alias].vendor == "sqlite" else None
        # Instances made without Model.__init__ when that changes nothing (see _plain);
        # the related model's through its populator's own bookkeeping.
        populator: Any = self.populators[0] if len(self.populators) == 1 else None
        self.plain = (fetch_mode is None and _plain(model) and populator is not None
                      and _plain(populator.model_cls) and not populator.related_populators
                      and populator.reorder_for_init is None)

    def _prep(self, value: Any) -> Any:
        return self.field.get_db_prep_value(value, connections[self.alias], prepared=False)

    def select(self, connection: BaseDatabaseWrapper, param: Any) -> Any:
        """The statement's first row, on the driver's cursor unless the queries are
        watched (then Django's cursor runs and counts it)."""
        if self.driver_sql is None or connection.execute_wrappers or connection.queries_logged:
            with connection.cursor() as cursor:
                cursor.execute(self.sql, [param])
                return cursor.fetchone()
        # What Django's cursor() and execute() do around the driver, in the same order.
        connection.close_if_health_check_failed()
        if connection.connection is None:
            connection.ensure_connection()
        connection.validate_thread_sharing()
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors:
            # The backend's own cursor (time zone set up on PostgreSQL); on SQLite Django's
            # cursor class, whose execute() would redo the placeholder rewrite: the
            # driver's execute() takes the rewritten statement instead.
            cursor = connection.create_cursor()
            try:
                if self.sqlite_execute is not None:
                    self.sqlite_execute(cursor, self.driver_sql, (param,))
                else:
                    cursor.execute(self.driver_sql, (param,))
                return cursor.fetchone()
            finally:
                cursor.close()

    def convert(self, row: Any, connection: BaseDatabaseWrapper) -> list[Any]:
        """What ``compiler.apply_converters`` does to one row."""
        values = list(row)
        if self.datetimes:
            zone = connection.timezone if settings.USE_TZ else None
            for position in self.datetimes:
                value = values[position]
                if value is not None:
                    if not isinstance(value, datetime):
                        value = parse_datetime(value)
                    if zone is not None and value.utcoffset() is None:
                        value = value.replace(tzinfo=zone)  # timezone.make_aware
                    values[position] = value
        for position, functions, expression in self.conversions:
            value = values[position]
            for function in functions:
                value = function(value, expression, connection)
            values[position] = value
        return values

    def fetch(self, value: Any, connection: BaseDatabaseWrapper | None = None) -> Any | None:
        connection = connection or connections[self.alias]
        row = self.select(connection, self.field.get_db_prep_value(
            value, connection, prepared=False))
        if row is None:
            return None
        if self.converters:
            row = self.convert(row, connection)
        if self.plain and not pre_init.receivers and not post_init.receivers:
            instance = _instance(self.model, self.alias, self.attnames, row[self.start:self.end])
            populator = self.populators[0]
            data = row[populator.cols_start:populator.cols_end]
            related = None if data[populator.pk_idx] is None else _instance(
                populator.model_cls, self.alias, populator.init_list, data)
            populator.local_setter(instance, related)
            if related is not None:
                populator.remote_setter(related, instance)
            return instance
        instance = self.model.from_db(
            self.alias, self.attnames, row[self.start:self.end], **self.from_db_kwargs
        )
        for populator in self.populators:
            populator.populate(row, instance)
        return instance


def _sqlite_execute() -> Any:
    """``sqlite3.Cursor.execute``, which Django's SQLite cursor class overrides."""
    import sqlite3

    return sqlite3.Cursor.execute


def _sqlite_datetime_converter() -> Any:
    try:
        from django.db.backends.sqlite3.operations import DatabaseOperations
    except ImportError:  # pragma: no cover - sqlite3 is in every Python build
        return None
    return DatabaseOperations.convert_datetimefield_value


_SQLITE_DATETIME = _sqlite_datetime_converter()


def _plain(model: type[models.Model]) -> bool:
    """Whether ``Model.from_db`` would do no more for ``model`` than set ``_state`` and
    the loaded attributes: ``__init__`` and ``from_db`` not overridden, and no field
    whose class attribute intercepts assignment (a file field's descriptor, say), apart
    from a foreign key's id, which only drops a cached object a new instance has not got.
    ``pre_init``/``post_init`` receivers are checked on every fetch."""
    if model.__init__ is not models.Model.__init__:
        return False
    base_from_db = getattr(models.Model.from_db, "__func__", None)
    if getattr(model.from_db, "__func__", None) is not base_from_db:
        return False
    for field in model._meta.concrete_fields:
        descriptor = inspect.getattr_static(model, field.attname, None)
        if hasattr(type(descriptor), "__set__") and not isinstance(
                descriptor, ForeignKeyDeferredAttribute):
            return False
    return True


def _instance(model: type[models.Model], alias: str, attnames: list[str], values: Any) -> Any:
    """``model.from_db(alias, attnames, values)`` for a ``_plain`` model: the columns not
    in ``attnames`` stay deferred (loaded on first access), as ``from_db`` leaves them."""
    instance = model.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = alias
    instance.__dict__["_state"] = state
    instance.__dict__.update(zip(attnames, values, strict=True))
    return instance


def _driver_sql(connection: BaseDatabaseWrapper, sql: str) -> str | None:
    """``sql`` as the driver takes it, where Django's cursor only passes it through
    (PostgreSQL) or rewrites its placeholders (SQLite); None for other backends, whose
    cursors do more (the statement then always goes through Django's cursor)."""
    if connection.vendor == "postgresql":
        return sql
    if connection.vendor == "sqlite":
        from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

        return FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")
    return None


def _connection_and_lookup(
    model: type[models.Model], field: str, sentinel: Any, only: tuple[str, ...] = ()
) -> tuple[BaseDatabaseWrapper, CompiledLookup]:
    alias = router.db_for_read(model)
    # Connection wrappers are per thread (and per alias), like the compiler they share.
    connection = connections[alias]
    cache: dict[tuple[str, str], CompiledLookup] | None = getattr(
        connection, "_ainative_lookups", None
    )
    if cache is None:
        cache = {}
        connection._ainative_lookups = cache  # type: ignore[attr-defined]
    name = (model._meta.label, field)
    lookup = cache.get(name)
    if lookup is None:
        lookup = cache[name] = CompiledLookup(model, field, "user", sentinel, alias, only)
    return connection, lookup


def _lookup(
    model: type[models.Model], field: str, sentinel: Any, only: tuple[str, ...] = ()
) -> CompiledLookup:
    return _connection_and_lookup(model, field, sentinel, only)[1]


def fetch_api_key(public_id: str) -> APIKey | None:
    """The key with ``public_id`` and its owner, in one query."""
    connection, lookup = _connection_and_lookup(APIKey, "public_id", "")
    return lookup.fetch(public_id, connection)


# What a Bearer request needs of its session: the liveness rule's columns. The others
# (device, user agent, salt, ...) are deferred: loaded by Django on first access, which
# only the session-management views and signal receivers do. Each parsed datetime column
# costs a few microseconds on SQLite, on every authenticated request.
SESSION_FIELDS = ("id", "user", "generation", "revoked_at", "expires_at", "absolute_expires_at")


def fetch_session(session_id: uuid.UUID) -> RefreshSession | None:
    """The session ``session_id`` (the columns of ``SESSION_FIELDS``; the rest deferred) and
    its user, in one query, whatever its state (the caller judges it with
    ``RefreshSession.is_live``)."""
    connection, lookup = _connection_and_lookup(RefreshSession, "pk", uuid.UUID(int=0),
                                                SESSION_FIELDS)
    return lookup.fetch(session_id, connection)
