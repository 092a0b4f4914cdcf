"""``AINATIVE_AUTH`` itself: unknown keys, values of the wrong type, rates, prefixes, the
JWT algorithm, redirect URIs, paths, what the settings name (adapter, caches) and the
public origin (``SITE_URL``, ``AUTHORIZATION_SERVERS``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from ..conf import DEFAULTS
from ..credentials.keys import SCOPE_RE
from ..credentials.throttling import Rate
from .common import absolute_http_url, loopback, project_settings


@register(Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    problems: list = []
    configured = project_settings()
    if configured is None:
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
    problems += _check_types(configured)
    rates = configured.get("THROTTLE_RATES", {}) or {}
    if not isinstance(rates, dict):
        rates = {}  # E008 said so
    for scope, rate in rates.items():
        if scope not in DEFAULTS["THROTTLE_RATES"]:
            problems.append(
                Error(f"Unknown throttle scope {scope!r}.",
                      hint=f"Scopes: {', '.join(DEFAULTS['THROTTLE_RATES'])}.",
                      id="ainative_auth.E003")
            )
        elif rate is not None:
            try:
                Rate.parse(str(rate))
            except ValueError as exc:
                problems.append(Error(str(exc), id="ainative_auth.E004"))
    for key in ("LOGIN_LOCKOUT_RATE", "ACCOUNT_EXISTS_NOTICE_RATE"):
        if isinstance(configured.get(key), str):
            try:
                Rate.parse(configured[key])
            except ValueError as exc:
                problems.append(Error(f"{key}: {exc}", id="ainative_auth.E004"))
    problems += _check_prefixes(configured)
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
    problems.extend(_check_references(configured))
    problems.extend(_check_site(configured))
    return problems


def _check_prefixes(configured: dict) -> list:
    """``THROTTLE_IPV4_PREFIX`` (0..32) and ``THROTTLE_IPV6_PREFIX`` (0..128)."""
    problems: list = []
    for key, bits in (("THROTTLE_IPV4_PREFIX", 32), ("THROTTLE_IPV6_PREFIX", 128)):
        prefix = configured.get(key, DEFAULTS[key])
        # `type(...) is int`: True is an int to isinstance, and "64" is no prefix length.
        if type(prefix) is not int or not 0 <= prefix <= bits:
            problems.append(Error(f"{key} must be an integer from 0 to {bits}, not {prefix!r}.",
                                  hint="A prefix length in bits: the per-IP limits count "
                                       "every address of that network as one client.",
                                  id="ainative_auth.E012"))
    return problems


# --- values of the wrong type ------------------------------------------------------------

# What each key holds, for E008: (accepted types, how to say it, an example). Keys checked
# by their own checks (rates, paths, JWT_ALGORITHM, OAUTH_REDIRECT_URIS) are not here.
_SECONDS = ((int, float), "a number of seconds", "1800 (30 minutes)")
_COUNT = ((int,), "a whole number", "100")
_FLAG = ((bool,), "True or False", "True")
_TEXT = ((str,), "a string", '"default"')
_TEXTS = ((list, tuple), "a list of strings", '["credits:read"]')
VALUE_TYPES: dict[str, tuple[tuple[type, ...], str, str]] = {
    "ACCESS_TOKEN_LIFETIME": _SECONDS,
    "REFRESH_TOKEN_LIFETIME": _SECONDS,
    "SESSION_ABSOLUTE_LIFETIME": _SECONDS,
    "REFRESH_REUSE_INTERVAL": _SECONDS,
    "JWT_LEEWAY": _SECONDS,
    "VERIFY_EMAIL_TOKEN_LIFETIME": _SECONDS,
    "RESET_PASSWORD_TOKEN_LIFETIME": _SECONDS,
    "API_KEY_ROTATION_OVERLAP": _SECONDS,
    "API_KEY_LAST_USED_INTERVAL": _SECONDS,
    "SIGNATURE_MAX_AGE": _SECONDS,
    "OAUTH_STATE_LIFETIME": _SECONDS,
    "OAUTH_TIMEOUT": _SECONDS,
    "PASSWORD_MAX_LENGTH": _COUNT,
    "NAME_MAX_LENGTH": _COUNT,
    "TRUSTED_PROXY_COUNT": _COUNT,
    "API_KEY_MAX_PER_USER": _COUNT,
    "ALLOW_UNVERIFIED_LOGIN": _FLAG,
    "SEND_MAIL_IN_BACKGROUND": _FLAG,
    "OAUTH_REQUIRE_STATE": _FLAG,
    "SIGNING_KEY": ((str, type(None)), "a string, or None", "None"),
    "JWT_ISSUER": _TEXT,
    "JWT_AUDIENCE": _TEXT,
    "THROTTLE_CACHE": _TEXT,
    "OAUTH_CACHE": _TEXT,
    "ADAPTER": ((str,), "a dotted path", '"myproject.auth.Adapter"'),
    "FRONTEND_URL": ((str,), "a URL", '"https://app.example.com"'),
    "VERIFY_EMAIL_PATH": ((str,), "a path template with {token}", '"/verify?token={token}"'),
    "RESET_PASSWORD_PATH": ((str,), "a path template with {token}", '"/reset?token={token}"'),
    "LOGIN_LOCKOUT_RATE": ((str, type(None)), 'a rate such as "100/day", or None', "None"),
    "ACCOUNT_EXISTS_NOTICE_RATE": ((str, type(None)), 'a rate such as "3/day", or None',
                                   "None"),
    "SIGNING_KEY_FALLBACKS": _TEXTS,
    "API_KEY_DEFAULT_SCOPES": _TEXTS,
    "THROTTLE_RATES": ((dict,), "a dict of rates by scope", '{"login": "10/minute"}'),
    "DEVICE_CODE_LIFETIME": _SECONDS,
    "DEVICE_POLL_INTERVAL": _COUNT,
    "DEVICE_KEY_LIFETIME": ((int, float, type(None)), "a number of seconds, or None", "None"),
    "OAUTH_SERVER_CLI_SCOPES": ((list, tuple, type(None)), "a list of strings, or None",
                                '["credits:read"]'),
    "TRIAL_KEYS_ENABLED": _FLAG,
    "TRIAL_KEY_SCOPES": _TEXTS,
    "TRIAL_KEY_LIFETIME": _SECONDS,
    "TRIAL_KEY_GLOBAL_RATE": ((str, type(None)), 'a rate such as "100/hour", or None', "None"),
}


def _wrong_type(key: str, value: Any) -> bool:
    types, _, _ = VALUE_TYPES[key]
    if isinstance(value, bool) and bool not in types:
        return True  # True is an int to Python, not a number of seconds to us
    if not isinstance(value, types):
        return True
    checked: Any = value
    if types in (_SECONDS[0], _COUNT[0]):
        return bool(checked < 0)
    if types == _TEXTS[0]:
        return not all(isinstance(item, str) for item in checked)
    if key in ("VERIFY_EMAIL_PATH", "RESET_PASSWORD_PATH"):
        return "{token}" not in checked
    return False


def _check_types(configured: dict) -> list:
    """E008: a value the app would choke on at a request (``"30m"`` for a lifetime: the
    500 comes after the user row was written), said at start-up instead."""
    problems = []
    for key, value in configured.items():
        if key in VALUE_TYPES and _wrong_type(key, value):
            _, kind, example = VALUE_TYPES[key]
            problems.append(Error(
                f"AINATIVE_AUTH[{key!r}] is {value!r}; it must be {kind}.",
                hint=f'For example "{key}": {example}.', id="ainative_auth.E008"))
    rates = configured.get("THROTTLE_RATES")
    for scope, rate in rates.items() if isinstance(rates, dict) else ():
        if rate is not None and not isinstance(rate, str):
            problems.append(Error(
                f"THROTTLE_RATES[{scope!r}] is {rate!r}; it must be a rate such as "
                '"10/minute", or None.', hint=f'For example "{scope}": "10/minute".',
                id="ainative_auth.E008"))
    return problems


# --- what the settings name must exist ----------------------------------------------------

def _check_references(configured: dict) -> list:
    """E009 cache aliases, E010 the adapter, E011 the frontend URL."""
    problems: list = []
    caches = getattr(settings, "CACHES", {}) or {}
    for key in ("THROTTLE_CACHE", "OAUTH_CACHE"):
        alias = configured.get(key, DEFAULTS[key])
        if isinstance(alias, str) and alias not in caches:
            problems.append(Error(
                f"AINATIVE_AUTH[{key!r}] names the cache {alias!r}, which is not in CACHES.",
                hint=f"Use one of {', '.join(repr(a) for a in caches) or 'none'}, or add "
                     f"{alias!r} to CACHES.", id="ainative_auth.E009"))
    adapter = configured.get("ADAPTER", DEFAULTS["ADAPTER"])
    if isinstance(adapter, str):
        try:
            import_string(adapter)
        except ImportError as exc:
            problems.append(Error(
                f"AINATIVE_AUTH['ADAPTER'] {adapter!r} cannot be imported: {exc}",
                hint="Give the dotted path of a subclass of "
                     "ainative_auth.adapter.DefaultAdapter, e.g. 'myproject.auth.Adapter'.",
                id="ainative_auth.E010"))
    url = configured.get("FRONTEND_URL", DEFAULTS["FRONTEND_URL"])
    if isinstance(url, str) and not absolute_http_url(url):
        problems.append(Error(
            f"AINATIVE_AUTH['FRONTEND_URL'] {url!r} is not an absolute http(s) URL: the "
            "links in verification and reset mail are built from it.",
            hint="Give the scheme and the host, e.g. 'https://app.example.com'.",
            id="ainative_auth.E011"))
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
    from ..middleware import overlapping

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

    from ..exceptions import PROTECTED_RESOURCE_WELL_KNOWN

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
        id="ainative_auth.W015")]


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
        pass  # W013, under check --deploy: a new project starts without one
    elif (why := _origin_problem(site)) is not None:
        problems.append(Error(f"SITE_URL {site!r} {why}.", id="ainative_auth.E013"))
    else:
        if urlsplit(site).scheme == "http" and not loopback(urlsplit(site).hostname or ""):
            problems.append(Warning(
                f"SITE_URL {site!r} uses plain http.",
                hint="Clients would send their credentials unencrypted; use https (plain "
                     "http is fine for localhost and 127.0.0.1).",
                id="ainative_auth.W014"))
        problems.extend(_check_well_known())
    servers = configured.get("AUTHORIZATION_SERVERS", DEFAULTS["AUTHORIZATION_SERVERS"])
    if servers is not None and (not isinstance(servers, (list, tuple))
                                or not all(_issuer_ok(server) for server in servers)):
        problems.append(Error(
            "AUTHORIZATION_SERVERS must be None or a list of issuer URLs (absolute http(s) "
            "URLs without query or fragment).",
            id="ainative_auth.E014"))
    return problems



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
            elif parts.scheme == "http" and not loopback(parts.hostname):
                problems.append(Warning(
                    f"OAUTH_REDIRECT_URIS entry {uri!r} uses plain http.",
                    hint="Authorization codes would travel unencrypted; use https (plain "
                         "http is fine for localhost and 127.0.0.1).",
                    id="ainative_auth.W004"))
    return problems
