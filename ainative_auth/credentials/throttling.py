"""Per-scope rate limits on atomic cache counters.

DRF's own throttles read-modify-write a list in the cache and are documented as not being
a security measure; these use ``cache.add`` + ``cache.incr`` (atomic on Redis and on the
local-memory cache), so parallel requests cannot slip past a limit. Counters live in the
cache named by ``THROTTLE_CACHE``: use Redis to share them across processes.

If the cache is down, throttled endpoints answer 503 instead of silently dropping limits.

Counters of the IP kinds (``IP_KINDS``) count the client's network, not its exact address
(``client_network``): one IPv6 host usually holds a whole /64, so counting per address
would give it 2**64 budgets.
The per-key request counter of API keys (``count_key_request``, on every API-key request)
has one shortcut: when ``THROTTLE_CACHE`` is Django's local-memory cache, whose entries
live in this process only, the counter lives in this process too, in a plain dict under a
lock, instead of going through the cache's key validation, pickling and locking twice per
request (``add`` + ``incr``: ~10 us in a loop, ~25 us inside a request, ``make bench``).
It is the same budget: one per process, which is all a local-memory cache ever gives
(several processes over it are refused, ``checks.per_process_caches``). Every other
counter, and every counter on a shared cache (Redis), goes through the cache.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from rest_framework import exceptions

from .. import clock
from ..conf import auth_settings
from ..exceptions import ServiceUnavailable

logger = logging.getLogger("ainative_auth")

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
            "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        return _parse_rate(str(text))


@functools.lru_cache(maxsize=256)
def _parse_rate(text: str) -> Rate:
    """Parsed once per distinct string: the per-key API throttle runs on every request."""
    count, _, unit = text.partition("/")
    unit = unit.strip().lower()
    if unit.endswith("s") and unit[:-1] in _PERIODS:
        unit = unit[:-1]
    if not count.strip().isdigit() or unit not in _PERIODS:
        raise ValueError(f"Bad throttle rate {text!r}; use e.g. '10/minute'")
    return Rate(int(count), _PERIODS[unit])


def rate_for(scope: str) -> Rate | None:
    text = auth_settings.THROTTLE_RATES.get(scope)
    return Rate.parse(text) if text else None


# The kinds whose ident is a client IP address (``Client.ip_address``): every per-IP
# counter of every scope. They count ``client_network(ident)``.
IP_KINDS = frozenset({"ip", "ip_failures"})


def client_network(address: str) -> str:
    """The network a per-IP counter counts ``address`` in, e.g. ``"2001:db8:1:2::/64"``.

    An IPv6 address is masked to ``THROTTLE_IPV6_PREFIX`` bits (64: what an ISP or a cloud
    VM hands one customer, so rotating addresses inside it gains nothing), an IPv4 address
    to ``THROTTLE_IPV4_PREFIX`` (32: the address itself). An IPv4-mapped IPv6 address
    (``::ffff:1.2.3.4``, what a dual-stack socket reports for an IPv4 client) is the IPv4
    address it maps. Anything that is not an address is counted as given.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        prefix = _prefix("THROTTLE_IPV4_PREFIX", 32)
        return str(ipaddress.IPv4Network((int(ip), prefix), strict=False))
    # int(ip) drops an IPv6 zone (`fe80::1%eth0`): one host's zones are one client.
    prefix = _prefix("THROTTLE_IPV6_PREFIX", 128)
    return str(ipaddress.IPv6Network((int(ip), prefix), strict=False))


def _prefix(name: str, bits: int) -> int:
    value = getattr(auth_settings, name)
    # `checks` reports a bad value at startup (E008); a server started without checks
    # refuses to count rather than count per address.
    if type(value) is not int or not 0 <= value <= bits:
        raise ImproperlyConfigured(f"AINATIVE_AUTH[{name!r}] must be an integer from 0 to {bits}")
    return value


def _key(scope: str, kind: str, ident: str, window: int) -> str:
    if kind in IP_KINDS:
        ident = client_network(ident)
    digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"ainative_auth:throttle:{scope}:{kind}:{digest}:{window}"


def hit(scope: str, kind: str, ident: str, rate: Rate | None = None) -> None:
    """Count one attempt for (scope, kind, ident); raise 429 past the limit.

    ``kind`` names what is counted ("ip", "email", "key", ...), so one scope can limit by
    several identities with the same rate.
    """
    wait = _count_attempt(scope, kind, ident, rate)
    if wait is not None:
        raise exceptions.Throttled(wait=wait)


def allow(scope: str, kind: str, ident: str, rate: Rate | None = None) -> bool:
    """Count one attempt like ``hit``, but answer False past the limit instead of raising.

    For limits whose hit must not show in the answer: past the per-address limit,
    forgot-password still answers its usual 200 and just sends nothing, so the limit
    cannot be used to tell the address's owner "429" (nor a prober anything)."""
    return _count_attempt(scope, kind, ident, rate) is None


def _count_attempt(scope: str, kind: str, ident: str, rate: Rate | None) -> int | None:
    """Count one attempt; None while within the limit, else the seconds to wait."""
    rate = rate or rate_for(scope)
    if rate is None:
        return None
    now = clock.time()
    window = int(now // rate.period)
    key = _key(scope, kind, ident, window)
    cache = caches[auth_settings.THROTTLE_CACHE]
    try:
        count = _count(cache, key, rate.period + 1)
    except ValueError:
        # The key expired between add() and incr(): start the window again.
        count = 1
        try:
            cache.set(key, 1, timeout=rate.period + 1)
        except Exception as exc:  # noqa: BLE001
            raise _unavailable(exc) from exc
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        raise _unavailable(exc) from exc
    if count > rate.limit:
        return max(1, int((window + 1) * rate.period - now) + 1)
    return None


def _count(cache: Any, key: str, timeout: int) -> int:
    """Create the counter if missing, then increment it; return the new count.

    On Django's Redis backend this is one pipelined round trip (SET NX EX + INCR): its own
    ``add()`` + ``incr()`` would take three (``incr`` checks EXISTS first), on every
    API-key request. Counters are plain integers, which Django's Redis serializer stores
    unpickled, so ``cache.get()`` still reads them.
    """
    if isinstance(cache, RedisCache):
        redis_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(redis_key, write=True)
        with client.pipeline(transaction=False) as pipe:
            pipe.set(redis_key, 0, ex=timeout, nx=True)
            pipe.incr(redis_key)
            return int(pipe.execute()[1])
    cache.add(key, 0, timeout=timeout)
    return int(cache.incr(key))


# --- the per-key request counter of API keys ---------------------------------------------


class _LocalCounters:
    """Counters of one local-memory cache's budget, kept in this process: ``(key, window)``
    -> ``(count, expiry)``. Expired windows are dropped when the dict grows."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, int, int], tuple[int, float]] = {}

    def count(self, name: tuple[str, int, int], timeout: int) -> int:
        now = time.monotonic()
        with self.lock:
            entry = self.counts.get(name)
            if entry is None or entry[1] <= now:
                if len(self.counts) >= self.LIMIT:
                    self.counts = {k: v for k, v in self.counts.items() if v[1] > now}
                self.counts[name] = (1, now + timeout)
                return 1
            self.counts[name] = (entry[0] + 1, entry[1])
            return entry[0] + 1


_LOCAL: dict[tuple[str, str], _LocalCounters] = {}
_LOCAL_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16)
def _is_local_memory(backend: str) -> bool:
    try:
        return issubclass(import_string(backend), LocMemCache)
    except ImportError:
        return False


def _local_counters(alias: str) -> _LocalCounters | None:
    """This process's counters for ``alias`` when it is a local-memory cache, else None.
    Keyed like the cache's own storage (by its LOCATION), so aliases sharing one store
    share one budget."""
    config = settings.CACHES.get(alias) or {}
    if not _is_local_memory(str(config.get("BACKEND", ""))):
        return None
    name = (str(config.get("BACKEND")), str(config.get("LOCATION", "")))
    counters = _LOCAL.get(name)
    if counters is None:
        with _LOCAL_LOCK:
            counters = _LOCAL.setdefault(name, _LocalCounters())
    return counters


def count_key_request(public_id: str, rate: Rate | None, cache_alias: str) -> None:
    """Count one request of the API key ``public_id`` against ``rate`` (the key's own or
    the ``api_key`` scope's); raise 429 past it. ``cache_alias`` is ``THROTTLE_CACHE`` as
    the caller just read it (with the request's other settings, in one go). Like
    ``hit("api_key", "key", ...)``, which it calls for any cache but the local-memory one
    (see the module docstring)."""
    if rate is None:
        return
    counters = _local_counters(cache_alias)
    if counters is None:
        hit("api_key", "key", public_id, rate)
        return
    now = clock.time()
    window = int(now // rate.period)
    if counters.count((public_id, rate.period, window), rate.period + 1) > rate.limit:
        raise exceptions.Throttled(wait=max(1, int((window + 1) * rate.period - now) + 1))


def reset(scope: str, kind: str, ident: str, rate: Rate | None = None) -> None:
    """Forget the current window's count (e.g. an account's failures after a success)."""
    rate = rate or rate_for(scope)
    if rate is None:
        return
    window = int(clock.time() // rate.period)
    try:
        caches[auth_settings.THROTTLE_CACHE].delete(_key(scope, kind, ident, window))
    except Exception:  # noqa: BLE001 - not resetting only makes the limit stricter
        logger.warning("throttle reset failed for scope %s", scope)


def _unavailable(exc: Exception) -> ServiceUnavailable:
    logger.error("throttle cache unavailable: %s", type(exc).__name__)
    return ServiceUnavailable()
