"""What ``check --deploy`` adds: a public origin agents can discover, and caches every
process shares."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import Tags, Warning, register
from django.utils.module_loading import import_string

from ..conf import DEFAULTS
from .common import project_settings

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
    configured = project_settings() or {}
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
def check_site_url(app_configs: Any = None, **kwargs: Any) -> list:
    """``check --deploy``: no ``SITE_URL``, so agents cannot discover how to authenticate.
    Left out of the plain ``check``: a project in development works without one."""
    configured = project_settings()
    if configured is None or configured.get("SITE_URL") is not None:
        return []
    return [Warning(
        "SITE_URL is not set: 401 and 403 answers carry no resource_metadata and no "
        "protected-resource metadata is served, so MCP clients and SDKs cannot "
        "discover how to authenticate.",
        hint="Set AINATIVE_AUTH['SITE_URL'] to the public origin, e.g. "
             "'https://api.example.com' (it is never taken from the Host header).",
        id="ainative_auth.W013")]


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
