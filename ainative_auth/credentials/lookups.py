"""The two per-request lookups of the authentication hot path, compiled once.

``fetch_api_key`` (an API key and its owner, by public id) and ``fetch_session`` (a session
and its user, by id) are what ``Model.objects.select_related("user").filter(<field>=value)
.order_by()[:1]`` would return, but the queryset is built and compiled once per database
connection instead of on every request. Building and compiling it is most of an ORM
lookup's cost (``make bench`` measured ~440-570 us on SQLite for the queryset against a few
tens of microseconds for its SQL); per request only the SELECT and ``Model.from_db`` run.

It is the same single query (counted by the debug cursor like any other) and the same
objects (``tests/unit/test_hot_path.py`` and ``tests/flows/test_api_keys.py`` compare
them with the ORM's, field by field), and nothing about the row is cached, so a revoked
key or session is refused on the very next request. This is the only module that uses
the ORM's compiler internals (``get_compiler``, ``klass_info``,
``get_related_populators``): after a Django upgrade, it and its equivalence test are the
one place to check. """

from __future__ import annotations

import uuid
from typing import Any, cast

from django.db import connections, models, router
from django.db.models.query import get_related_populators

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
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.attnames = [column[0].target.attname for column in select[self.start:self.end]]
        # Django 6.1 threads the queryset's fetch mode through from_db and the populators.
        fetch_mode = getattr(queryset, "_fetch_mode", None)
        extra = (fetch_mode,) if fetch_mode is not None else ()
        self.populators = get_related_populators(klass_info, select, alias, *extra)
        self.from_db_kwargs = {"fetch_mode": fetch_mode} if fetch_mode is not None else {}
        self.compiler = compiler

    def _prep(self, value: Any) -> Any:
        return self.field.get_db_prep_value(value, connections[self.alias], prepared=False)

    def fetch(self, value: Any) -> Any | None:
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, [self._prep(value)])
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        instance = self.model.from_db(
            self.alias, self.attnames, row[self.start:self.end], **self.from_db_kwargs
        )
        for populator in self.populators:
            populator.populate(row, instance)
        return instance


def _lookup(
    model: type[models.Model], field: str, sentinel: Any, only: tuple[str, ...] = ()
) -> CompiledLookup:
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
    return lookup


def fetch_api_key(public_id: str) -> APIKey | None:
    """The key with ``public_id`` and its owner, in one query."""
    return _lookup(APIKey, "public_id", "").fetch(public_id)


# What a Bearer request needs of its session: the liveness rule's columns. The others
# (device, user agent, salt, ...) are deferred: loaded by Django on first access, which
# only the session-management views and signal receivers do. Each parsed datetime column
# costs a few microseconds on SQLite, on every authenticated request.
SESSION_FIELDS = ("id", "user", "generation", "revoked_at", "expires_at", "absolute_expires_at")


def fetch_session(session_id: uuid.UUID) -> RefreshSession | None:
    """The session ``session_id`` (the columns of ``SESSION_FIELDS``; the rest deferred) and
    its user, in one query, whatever its state (the caller judges it with
    ``RefreshSession.is_live``)."""
    return _lookup(RefreshSession, "pk", uuid.UUID(int=0), SESSION_FIELDS).fetch(session_id)
