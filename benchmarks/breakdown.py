"""Where ours' per-request time goes: its pieces timed one by one, outside the handler.

The SQL is the statement the compiled lookup really sends (``ainative_auth.credentials.lookups``),
run three ways: on the driver's own cursor, on a Django cursor, and through the lookup
(which adds the converters and the model instances, timed alone too). Each piece is the
best of 15 short timing loops, so the numbers are lower bounds on a warm CPU; the handler-level
table remains the reference. Then ``authenticate()`` is timed inside real requests
(interleaved with the floor): the request's added microseconds minus that is what DRF does
for an authenticated request (the authenticator, the user, the permission) that the floor
does not.
"""

from __future__ import annotations

import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

from benchmarks.harness import FLOOR, Client, Contender, run_interleaved, summarize


def _best_us(fn: Callable[[], Any], number: int) -> float:
    """Best of 15 short loops: on a shared machine, some loop runs uncontended."""
    fn()
    return min(timeit.repeat(fn, number=number, repeat=15)) / number * 1e6


class Pieces:
    def __init__(self, number: int) -> None:
        self.number = number
        self.rows: list[tuple[str, float | None, bool]] = []  # label, µs, part of the sum

    def add(self, label: str, fn: Callable[[], Any], part: bool = True,
            number: int | None = None) -> float | None:
        try:
            value: float | None = _best_us(fn, number or self.number)
        except Exception as exc:  # noqa: BLE001 - a piece that moved must not stop the bench
            print(f"  (could not time {label!r}: {type(exc).__name__}: {exc})")
            value = None
        self.rows.append((label, value, part))
        return value

    def note(self, label: str, value: float | None) -> None:
        self.rows.append((label, value, False))


def in_situ(client: Client, floor: Contender, contender: Contender, auth_class: type,
            requests: int) -> dict[str, float]:
    """``authenticate()`` timed inside real requests (its method wrapped for the run), next
    to the request's and the floor's medians from the same interleaved rounds."""
    spent: list[int] = []
    original = auth_class.authenticate
    perf = time.perf_counter_ns

    def authenticate(self: Any, request: Any) -> Any:
        t0 = perf()
        try:
            return original(self, request)
        finally:
            spent.append(perf() - t0)

    auth_class.authenticate = authenticate  # type: ignore[method-assign]
    try:
        samples = run_interleaved(client, [floor, contender], 100, requests, 100)
    finally:
        auth_class.authenticate = original  # type: ignore[method-assign]
    floor_us = summarize(samples[FLOOR])[0]
    request_us = summarize(samples[contender.name])[0]
    auth_us = statistics.median(spent[-requests:]) / 1000
    return {"request_us": request_us, "floor_us": floor_us, "authenticate_us": auth_us,
            "outside_us": request_us - floor_us - auth_us}


def _lookup_pieces(pieces: Pieces, lookup: Any, value: Any, indent: str = "    ") -> None:
    """The compiled lookup's SELECT on each layer, its converters, its instances."""
    from django.db import connection, connections

    sql, params = lookup.sql, [lookup._prep(value)]

    def on_django_cursor() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()

    raw_sql = sql
    if connection.vendor == "sqlite":
        from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

        raw_sql = FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")
    connection.ensure_connection()
    driver = connection.connection

    def on_driver_cursor() -> Any:
        cursor = driver.cursor()
        cursor.execute(raw_sql, params)
        row = cursor.fetchone()
        cursor.close()
        return row

    row = on_django_cursor()

    def convert() -> Any:
        return lookup.convert(row, connection)

    converted = convert() if lookup.converters else row

    def instances() -> Any:
        if lookup.plain:
            from ainative_auth.credentials.lookups import _instance

            populator = lookup.populators[0]
            instance = _instance(lookup.model, lookup.alias, lookup.attnames,
                                 converted[lookup.start:lookup.end])
            related = _instance(populator.model_cls, lookup.alias, populator.init_list,
                                converted[populator.cols_start:populator.cols_end])
            populator.local_setter(instance, related)
            return instance
        instance = lookup.model.from_db(lookup.alias, lookup.attnames,
                                        converted[lookup.start:lookup.end],
                                        **lookup.from_db_kwargs)
        for populator in lookup.populators:
            populator.populate(converted, instance)
        return instance

    pieces.add(f"{indent}its SELECT on the driver's cursor ({connection.vendor})",
               on_driver_cursor, part=False)
    pieces.add(f"{indent}its SELECT on a Django cursor (driver + Django's wrapper)",
               on_django_cursor, part=False)
    param = params[0]
    # The thread's connection object itself (``connection`` is a proxy that looks it up
    # on every attribute access), as the lookup gets it.
    wrapper = connections[lookup.alias]
    pieces.add(f"{indent}its SELECT as the lookup runs it (driver cursor + Django's checks)",
               lambda: lookup.select(wrapper, param))
    if connection.vendor == "sqlite":
        from django.db.backends.sqlite3.base import SQLiteCursorWrapper

        rewrite = SQLiteCursorWrapper.convert_query
        pieces.add(f"{indent}  of which Django's %s -> ? rewrite of its {len(sql)} characters",
                   lambda: rewrite(None, sql), part=False)  # type: ignore[arg-type]
    if lookup.converters:
        pieces.add(f"{indent}converters ({len(lookup.converters)} columns: datetimes, "
                   "UUIDs, JSON...)", convert)
    else:
        pieces.note(f"{indent}converters (none on this database)", 0.0)
    pieces.add(f"{indent}model instances "
               + ("(made directly: no receivers, plain models)" if lookup.plain
                  else "(from_db + select_related populator)"), instances)


def _report(title: str, pieces: Pieces, total_label: str,
            situ: dict[str, float] | None) -> dict[str, Any]:
    print(f"\n{title} (best of 15 loops; µs per call)")
    for label, value, _ in pieces.rows:
        print(f"  {label:<72} {'n/a' if value is None else f'{value:8.1f}'}")
    values = {label: value for label, value, _ in pieces.rows}
    total = values.get(total_label)
    parts = [v for label, v, part in pieces.rows if part and label != total_label and v]
    out: dict[str, Any] = {label.strip(): value for label, value, _ in pieces.rows}
    if total is not None and parts:
        rest = total - sum(parts)
        print(f"  {'  => the rest (lookup glue, settings reads, clock, checks)':<72} "
              f"{rest:8.1f}")
        out["rest of authenticate()"] = rest
    if situ is not None:
        print(f"  inside real requests (interleaved with the floor; medians): request "
              f"{situ['request_us']:.1f}, floor {situ['floor_us']:.1f}, so +"
              f"{situ['request_us'] - situ['floor_us']:.1f} µs, of which")
        print(f"  {'  authenticate() in situ (colder caches than the loops above)':<72} "
              f"{situ['authenticate_us']:8.1f}")
        print(f"  {'  outside authenticate() (not DRF code: see the fixed-user row)':<72} "
              f"{situ['outside_us']:8.1f}")
        out["in_situ"] = situ
    return out


def api_key(client: Client, floor: Contender, contender: Contender, requests: int,
            number: int = 200) -> dict[str, Any]:
    from django.test import RequestFactory
    from rest_framework.request import Request

    from ainative_auth.authentication import APIKeyAuthentication
    from ainative_auth.credentials import keys, lookups, throttling
    from ainative_auth.models import APIKey
    from benchmarks.ours import KEY_HEADER

    plaintext = contender.headers[KEY_HEADER]
    pieces = Pieces(number)
    total = "APIKeyAuthentication().authenticate(request)"
    with contender.context():
        request = Request(RequestFactory().get(contender.path, **contender.headers))
        pieces.add(total, lambda: APIKeyAuthentication().authenticate(request), part=False)
        public_id, secret = keys.parse_api_key(plaintext)  # type: ignore[misc]
        pieces.add("  keys.parse_api_key (format + checksum)",
                   lambda: keys.parse_api_key(plaintext))
        pieces.add("  lookups.fetch_api_key (the one query, compiled once)",
                   lambda: lookups.fetch_api_key(public_id), part=False)
        _lookup_pieces(pieces, lookups._lookup(APIKey, "public_id", ""), public_id)
        stored = [APIKey.objects.get(public_id=public_id).secret_hash]
        pieces.add("  keys.api_key_secret_matches (HMAC-SHA256, constant time)",
                   lambda: keys.api_key_secret_matches(public_id, secret, stored))
        rate = throttling.rate_for("api_key")
        if rate is not None:
            from ainative_auth.conf import auth_settings

            alias = str(auth_settings.THROTTLE_CACHE)
            local = throttling._local_counters(alias) is not None
            pieces.add("  throttling.count_key_request (per-key counter, "
                       + ("in process: the cache is local memory)" if local
                          else "cache add + incr)"),
                       lambda: throttling.count_key_request("breakdown-" + public_id, rate,
                                                            alias))
    situ = in_situ(client, floor, contender, APIKeyAuthentication, requests)
    return _report("Breakdown of ours, API key", pieces, total, situ)


def jwt(client: Client, floor: Contender, contender: Contender, requests: int,
        number: int = 200) -> dict[str, Any]:
    from django.test import RequestFactory
    from rest_framework.request import Request

    from ainative_auth import clock
    from ainative_auth.authentication import JWTAuthentication
    from ainative_auth.credentials import lookups, tokens
    from ainative_auth.models import RefreshSession
    from ainative_auth.users import may_authenticate

    token = contender.headers["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    pieces = Pieces(number)
    total = "JWTAuthentication().authenticate(request)"
    with contender.context():
        request = Request(RequestFactory().get(contender.path, **contender.headers))
        pieces.add(total, lambda: JWTAuthentication().authenticate(request), part=False)
        pieces.add("  tokens.decode_access_token (verified-token cache hit)",
                   lambda: tokens.decode_access_token(token))
        claims = tokens.decode_access_token(token)
        sid = claims["sid"]
        pieces.add("  lookups.fetch_session (the one query, compiled once)",
                   lambda: lookups.fetch_session(sid), part=False)
        _lookup_pieces(pieces, lookups._lookup(RefreshSession, "pk", None,
                                               lookups.SESSION_FIELDS), sid)
        session = lookups.fetch_session(sid)

        def judge() -> bool:
            return (session.is_live(clock.now()) and str(session.user_id) == claims["sub"]
                    and may_authenticate(session.user))

        pieces.add("  session.is_live + may_authenticate", judge)

        def decode_uncached() -> Any:
            tokens._verified_claims.cache_clear()
            return tokens.decode_access_token(token)

        pieces.add("  (not on the hot path) decode on a cache miss: PyJWT parse + HMAC",
                   decode_uncached, part=False, number=max(50, number // 4))
    situ = in_situ(client, floor, contender, JWTAuthentication, requests)
    return _report("Breakdown of ours, JWT", pieces, total, situ)
