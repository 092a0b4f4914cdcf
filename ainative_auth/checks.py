"""System checks: unknown settings keys, bad rates, missing backend, per-process caches."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import DEFAULTS
from .credentials.keys import SCOPE_RE
from .credentials.throttling import Rate


@register(Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    problems: list = []
    configured = getattr(settings, "AINATIVE_AUTH", {}) or {}
    if not isinstance(configured, dict):
        return [Error("AINATIVE_AUTH must be a dict.", id="ainative_auth.E001")]
    for key in configured:
        if key not in DEFAULTS:
            close = [name for name in DEFAULTS if name.split("_")[0] == str(key).split("_")[0]]
            hint = f"Did you mean one of {', '.join(sorted(close))}?" if close else (
                "See the README for the list of settings."
            )
            problems.append(
                Error(f"Unknown AINATIVE_AUTH setting {key!r}.", hint=hint, id="ainative_auth.E002")
            )
    rates = configured.get("THROTTLE_RATES", {}) or {}
    for scope, rate in rates.items():
        if scope not in DEFAULTS["THROTTLE_RATES"]:
            problems.append(
                Error(f"Unknown throttle scope {scope!r}.",
                      hint=f"Scopes: {', '.join(DEFAULTS['THROTTLE_RATES'])}.",
                      id="ainative_auth.E003")
            )
        elif rate is not None:
            try:
                Rate.parse(rate)
            except ValueError as exc:
                problems.append(Error(str(exc), id="ainative_auth.E004"))
    for key in ("LOGIN_LOCKOUT_RATE", "ACCOUNT_EXISTS_NOTICE_RATE"):
        if configured.get(key) is not None:
            try:
                Rate.parse(configured[key])
            except ValueError as exc:
                problems.append(Error(f"{key}: {exc}", id="ainative_auth.E004"))
    algorithm = configured.get("JWT_ALGORITHM", DEFAULTS["JWT_ALGORITHM"])
    if algorithm not in ("HS256", "HS384", "HS512"):
        problems.append(Error("JWT_ALGORITHM must be HS256, HS384 or HS512.",
                              id="ainative_auth.E005"))
    problems += _check_redirect_uris(configured.get("OAUTH_REDIRECT_URIS", []))
    backends = getattr(settings, "AUTHENTICATION_BACKENDS", [])
    if "ainative_auth.backends.EmailBackend" not in backends:
        problems.append(
            Warning(
                "ainative_auth.backends.EmailBackend is not in AUTHENTICATION_BACKENDS; "
                "login by email will only work if another backend accepts `email=`.",
                id="ainative_auth.W001",
            )
        )
    problems.extend(_check_paths(configured))
    problems.extend(_check_site(configured))
    return problems


def _protected_entry_ok(item: Any) -> bool:
    """``"/path"``, or ``("/path", ["scope", ...])`` with at least one well-formed scope
    (an empty list would let a key without scopes in)."""
    if isinstance(item, str):
        return item.startswith("/")
    if not isinstance(item, (list, tuple)) or len(item) != 2:
        return False
    path, scopes = item
    return (isinstance(path, str) and path.startswith("/")
            and isinstance(scopes, (list, tuple)) and len(scopes) > 0
            and all(isinstance(s, str) and SCOPE_RE.fullmatch(s) for s in scopes))


def _check_paths(configured: dict) -> list:
    """``PROTECTED_PATHS``/``PUBLIC_PATHS``/``LOGIN_PATH`` and the middleware's place."""
    from .middleware import overlapping

    problems: list = []
    lists: dict[str, list] = {}
    protected = configured.get("PROTECTED_PATHS", DEFAULTS["PROTECTED_PATHS"])
    if not isinstance(protected, (list, tuple)) or not all(
        _protected_entry_ok(item) for item in protected
    ):
        problems.append(Error(
            "PROTECTED_PATHS must be a list of paths starting with '/', or of "
            "('/path', ['scope', ...]) pairs naming at least one scope.",
            hint="A plain path admits API keys only with full access (\"*\"); a pair "
                 "admits keys holding all its scopes, e.g. ('/api/reports', "
                 "['reports:read']).",
            id="ainative_auth.E006"))
        protected = []
    lists["PROTECTED_PATHS"] = list(protected)
    public = configured.get("PUBLIC_PATHS", DEFAULTS["PUBLIC_PATHS"])
    if not isinstance(public, (list, tuple)) or not all(
        isinstance(item, str) and item.startswith("/") for item in public
    ):
        problems.append(Error("PUBLIC_PATHS must be a list of paths starting with '/'.",
                              id="ainative_auth.E006"))
        public = []
    lists["PUBLIC_PATHS"] = list(public)
    login_path = configured.get("LOGIN_PATH", DEFAULTS["LOGIN_PATH"])
    if not isinstance(login_path, str) or not login_path.startswith("/") or (
        login_path.startswith("//")
    ):
        problems.append(Error("LOGIN_PATH must be a local path such as '/login'.",
                              id="ainative_auth.E006"))
    both = overlapping(lists["PROTECTED_PATHS"], lists["PUBLIC_PATHS"])
    if both:
        problems.append(Warning(
            f"{', '.join(both)} is in both PROTECTED_PATHS and PUBLIC_PATHS; it is protected.",
            hint="Remove it from one of the lists.", id="ainative_auth.W002",
        ))
    middleware = list(getattr(settings, "MIDDLEWARE", []) or [])
    ours = "ainative_auth.middleware.AuthRequiredMiddleware"
    if ours in middleware:
        needed = "django.contrib.auth.middleware.AuthenticationMiddleware"
        if needed not in middleware or middleware.index(needed) > middleware.index(ours):
            problems.append(Warning(
                "AuthRequiredMiddleware needs Django's session and authentication middleware "
                "before it; without them browser sessions are never accepted.",
                hint=f"Place {ours} after {needed}.", id="ainative_auth.W003",
            ))
    return problems


def _origin_problem(value: Any) -> str | None:
    """Why ``value`` is not an origin (``scheme://host[:port]``), or None."""
    if not isinstance(value, str):
        return "is not a string"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not an absolute http(s) URL"
    if parts.path not in ("", "/") or parts.query or parts.fragment or "#" in value or (
        parts.username is not None or parts.password is not None
    ):
        return "must be an origin only (scheme://host[:port]: no path, query or user)"
    return None


def _check_well_known() -> list:
    """The metadata every 401 points at must be served, at the root (RFC 9728)."""
    from django.urls import NoReverseMatch, reverse

    from .exceptions import PROTECTED_RESOURCE_WELL_KNOWN

    try:
        served = reverse("ainative_auth_wellknown:oauth-protected-resource")
    except NoReverseMatch:
        served = None
    if served == PROTECTED_RESOURCE_WELL_KNOWN:
        return []
    return [Warning(
        "SITE_URL is set but the protected-resource metadata is not served at "
        f"{PROTECTED_RESOURCE_WELL_KNOWN}: the resource_metadata URL of every 401 would "
        "be a 404.",
        hint='Add path("", include("ainative_auth.urls_wellknown")) to the root URLconf.',
        id="ainative_auth.W008")]


def _issuer_ok(value: Any) -> bool:
    """An RFC 8414 issuer: an absolute http(s) URL, a path allowed, no query or fragment."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return (parts.scheme in ("https", "http") and bool(parts.hostname)
            and not parts.query and not parts.fragment and "#" not in value)


def _check_site(configured: dict) -> list:
    """``SITE_URL``: the public origin every absolute URL derives from, and
    ``AUTHORIZATION_SERVERS``."""
    problems: list = []
    site = configured.get("SITE_URL", DEFAULTS["SITE_URL"])
    if site is None:
        problems.append(Warning(
            "SITE_URL is not set: 401 and 403 answers carry no resource_metadata and no "
            "protected-resource metadata is served, so MCP clients and SDKs cannot "
            "discover how to authenticate.",
            hint="Set AINATIVE_AUTH['SITE_URL'] to the public origin, e.g. "
                 "'https://api.example.com' (it is never taken from the Host header).",
            id="ainative_auth.W006"))
    elif (why := _origin_problem(site)) is not None:
        problems.append(Error(f"SITE_URL {site!r} {why}.", id="ainative_auth.E008"))
    else:
        if urlsplit(site).scheme == "http" and not _loopback(urlsplit(site).hostname or ""):
            problems.append(Warning(
                f"SITE_URL {site!r} uses plain http.",
                hint="Clients would send their credentials unencrypted; use https (plain "
                     "http is fine for localhost and 127.0.0.1).",
                id="ainative_auth.W007"))
        problems.extend(_check_well_known())
    servers = configured.get("AUTHORIZATION_SERVERS", DEFAULTS["AUTHORIZATION_SERVERS"])
    if servers is not None and (not isinstance(servers, (list, tuple))
                                or not all(_issuer_ok(server) for server in servers)):
        problems.append(Error(
            "AUTHORIZATION_SERVERS must be None or a list of issuer URLs (absolute http(s) "
            "URLs without query or fragment).",
            id="ainative_auth.E009"))
    return problems


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_redirect_uris(configured: Any) -> list:
    """``OAUTH_REDIRECT_URIS``: a list of absolute URLs, or a dict of such lists by
    provider id; plain http only for loopback hosts (RFC 9700 section 2.6)."""
    if isinstance(configured, dict):
        lists = list(configured.values())
    elif isinstance(configured, list | tuple):
        lists = [configured]
    else:
        return [Error("OAUTH_REDIRECT_URIS must be a list of URLs or a dict of lists by "
                      "provider id.", id="ainative_auth.E007")]
    problems: list = []
    for uris in lists:
        if not isinstance(uris, list | tuple):
            problems.append(Error("Each OAUTH_REDIRECT_URIS entry of the dict must be a list.",
                                  id="ainative_auth.E007"))
            continue
        for uri in uris:
            parts = urlsplit(uri) if isinstance(uri, str) else None
            if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
                problems.append(Error(f"OAUTH_REDIRECT_URIS entry {uri!r} is not an absolute "
                                      "http(s) URL.", id="ainative_auth.E007"))
            elif parts.fragment or "#" in uri:
                problems.append(Error(f"OAUTH_REDIRECT_URIS entry {uri!r} has a fragment "
                                      "(RFC 6749 section 3.1.2 forbids one).",
                                      id="ainative_auth.E007"))
            elif parts.scheme == "http" and not _loopback(parts.hostname):
                problems.append(Warning(
                    f"OAUTH_REDIRECT_URIS entry {uri!r} uses plain http.",
                    hint="Authorization codes would travel unencrypted; use https (plain "
                         "http is fine for localhost and 127.0.0.1).",
                    id="ainative_auth.W004"))
    return problems


# Cache backends whose entries are not one truth for several processes: the local-memory
# cache lives in one process's memory, the dummy cache remembers nothing (every nonce is
# fresh, every counter zero), and the file-based cache, although its files are shared,
# makes ``add`` and ``incr`` a read then a write, so two processes can both "add" one
# nonce or both count from the same value.
PER_PROCESS_BACKENDS = (LocMemCache, DummyCache, FileBasedCache)


def per_process_caches() -> list[str]:
    """The aliases among ``THROTTLE_CACHE`` and ``OAUTH_CACHE`` whose backend is per
    process (``PER_PROCESS_BACKENDS`` or a subclass), sorted; empty when every one is
    shared by all processes (Redis, Memcached).

    Throttle counters, RFC 9421 nonces, OAuth states and used authorization codes live in
    these caches, so with any alias named here the project must run ONE process (threads
    are fine): a second process would keep a second budget and a second memory of what
    was used. Reads only settings (no app registry), so a server's configuration can call
    it before Django is set up, e.g. to refuse to start several workers.
    """
    configured = getattr(settings, "AINATIVE_AUTH", None) or {}
    if not isinstance(configured, dict):
        configured = {}
    caches_setting = getattr(settings, "CACHES", None) or {}
    found = []
    for alias in sorted({configured.get(name, DEFAULTS[name])
                         for name in ("THROTTLE_CACHE", "OAUTH_CACHE")}):
        backend = (caches_setting.get(alias) or {}).get("BACKEND")
        try:
            backend_class = import_string(backend) if isinstance(backend, str) else None
        except ImportError:
            continue  # Django refuses an unknown backend itself, when the cache is used
        if isinstance(backend_class, type) and issubclass(backend_class, PER_PROCESS_BACKENDS):
            found.append(alias)
    return found


@register(Tags.security, deploy=True)
def check_shared_caches(app_configs: Any = None, **kwargs: Any) -> list:
    """``check --deploy``: the throttle/nonce/OAuth caches are per process."""
    aliases = per_process_caches()
    if not aliases:
        return []
    names = ", ".join(repr(alias) for alias in aliases)
    return [Warning(
        f"The cache(s) {names} that THROTTLE_CACHE and OAUTH_CACHE name keep their entries "
        "per process: throttle budgets, RFC 9421 nonces, OAuth states and used codes are "
        "one per process, so this project must run exactly one process.",
        hint="Serve it with one process (threads are fine: gunicorn --workers 1 --threads 8), "
             "or point THROTTLE_CACHE and OAUTH_CACHE at a cache every process shares "
             "(Redis, Memcached). ainative_auth.checks.per_process_caches() names them, for "
             "a server configuration to refuse several workers.",
        id="ainative_auth.W005",
    )]
