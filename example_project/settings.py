"""Settings of the example project: everything from the environment, safe defaults.

Nothing to set up for a first run: SQLite, an in-process cache, mail to the console, and
a SECRET_KEY generated once into a git-ignored file. What ainative_auth itself needs (its
apps, allauth's middleware, argon2id, the email login backend, allauth's settings) is
added by ``configure(globals())`` at the end, as in any project.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
import django

from ainative_auth.setup import configure

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def load_secret_key() -> str:
    """SECRET_KEY from the environment, or from a file made once, so that the server and
    management commands (which mint keys) agree."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = BASE_DIR / ".secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        try:
            with open(path, "x") as handle:
                handle.write(key)
            path.chmod(0o600)
        except FileExistsError:  # another process made it first
            return path.read_text().strip()
        return key


def parse_throttle_rates(text: str) -> dict[str, str | None]:
    """``register=100/hour,login=10/minute`` (``none`` disables a scope)."""
    rates: dict[str, str | None] = {}
    for item in text.split(","):
        if "=" in item:
            scope, _, rate = item.partition("=")
            rate = rate.strip()
            rates[scope.strip()] = None if rate.lower() in ("", "none", "off") else rate
    return rates


SECRET_KEY = load_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
# Where mailed links point. Without a frontend, this site itself: its /reset-password and
# /verify-email pages answer the links.
FRONTEND_URL = os.environ.get(
    "FRONTEND_URL", f"http://localhost:{os.environ.get('PORT', '8000')}"
).rstrip("/")
# The public origin: protected resources' identifiers, the metadata URLs of 401/403
# challenges and the OAuth issuer derive from it, never from the Host header.
# localhost, not 127.0.0.1: browsers refuse an IP address as a WebAuthn relying party.
SITE_URL = (os.environ.get("SITE_URL")
            or f"http://localhost:{os.environ.get('PORT') or '8000'}").rstrip("/")

# configure() below adds rest_framework, drf_spectacular, allauth (with the GitHub and
# OpenID Connect providers) and ainative_auth, and makes the admin's login throttled.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Multi-factor authentication (TOTP, recovery codes, passkeys): the `mfa` extra.
    # configure() adds ainative_auth itself, which this sub-app plugs into.
    "ainative_auth.mfa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, the pages' stylesheet) straight from the WSGI app.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "example_project.middleware.JSONErrorsMiddleware",
    # configure() puts ainative_auth's SecureCookiesMiddleware right before this one (the
    # session and CSRF cookies Secure over HTTPS, whatever SECURE_COOKIES says).
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # configure() puts ainative_auth's AuthRequiredMiddleware right after this one (the
    # seed's protectedPaths/loginPath: PROTECTED_PATHS below), and allauth's
    # AccountMiddleware at the end.
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast (503) when the database is down instead of hanging a worker: seconds to
    # wait for a connection (libpq's minimum is 2).
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
        os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")
    )
    # A statement that waits longer than this (a lock held by a stuck transaction, a
    # runaway query) is cancelled by the server, and the request answers 503 instead of
    # holding its thread (0 turns it off, e.g. for a long migration).
    _statement_timeout = int(float(os.environ.get("DATABASE_STATEMENT_TIMEOUT", "10")) * 1000)
    # TCP keepalives: a connection to a host that vanished (no RST, no answer) is found
    # dead in about 16 s instead of the kernel's two hours.
    DATABASES["default"]["OPTIONS"].update(
        options=f"-c statement_timeout={_statement_timeout}",
        keepalives=1, keepalives_idle=10, keepalives_interval=2, keepalives_count=3,
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite's default (deferred) transactions read first and ask for the write lock
    # later; when two of them do, SQLite refuses one at once ("database is locked", a
    # 503) rather than make it wait, so 10 parallel resets of one token gave one 200 and
    # nine 503s. IMMEDIATE takes the write lock at BEGIN, and the busy timeout makes the
    # others queue for it, then get their normal answer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )

_cache_url = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL")
if _cache_url:
    # Seconds to connect to Redis and to wait for each answer, set here whatever
    # redis-py's default: when Redis is down or unreachable the throttled endpoints answer
    # 503 after this long instead of holding a worker thread.
    _redis_timeout = float(os.environ.get("REDIS_TIMEOUT", "2"))
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "ainative-example",
            "OPTIONS": {"socket_connect_timeout": _redis_timeout,
                        "socket_timeout": _redis_timeout},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# PASSWORD_HASHERS (argon2id first) and AUTHENTICATION_BACKENDS (login by email, then the
# admin's username login) come from configure().
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves what `make run` collected here; `make dev` (DEBUG on) has runserver
# serve them from the apps instead.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Console by default, so a new user sees verification and reset links in the server output.
_email_backend = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Seconds before a silent SMTP server counts as down (Django's default is to wait forever).
_email_timeout = int(os.environ.get("EMAIL_TIMEOUT", "10"))
if django.VERSION >= (6, 1):
    # Django 6.1 replaces EMAIL_BACKEND & co. with MAILERS.
    MAILERS: dict[str, dict[str, Any]] = {"default": {"BACKEND": _email_backend}}
    if _email_backend.endswith("smtp.EmailBackend"):
        MAILERS["default"]["OPTIONS"] = {"timeout": _email_timeout}
else:
    EMAIL_BACKEND = _email_backend
    EMAIL_TIMEOUT = _email_timeout
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "AINative <no-reply@localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["ainative_auth.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["ainative_auth.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "ainative_auth.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # configure() adds DEFAULT_SCHEMA_CLASS: ainative_auth.schema.AutoSchema, which adds
    # the error answers each operation can give (401/403/429/503) to the served schema.
}
# allauth's settings (login by email, its own rate limits off: ours cover every endpoint)
# come from configure().

_oauth_redirects = env_list("OAUTH_REDIRECT_URIS", f"{FRONTEND_URL}/auth/callback")
AINATIVE_AUTH: dict[str, Any] = {
    "FRONTEND_URL": FRONTEND_URL,
    "THROTTLE_RATES": parse_throttle_rates(os.environ.get("AINATIVE_AUTH_THROTTLE_RATES", "")),
    "OAUTH_REDIRECT_URIS": _oauth_redirects,
    # Reverse proxies in front (each appends to X-Forwarded-For); 0 = REMOTE_ADDR only.
    "TRUSTED_PROXY_COUNT": int(os.environ.get("TRUSTED_PROXY_COUNT", "0") or 0),
    "SITE_URL": SITE_URL,
    "RESOURCE_NAME": "AINative example API",
    # The seed's middleware config: a browser is sent to /login, an API client gets a 401.
    # API keys: /dashboard only with full access ("*"), /api/protected with profile:read
    # (keys made with the default scopes, "*", have it).
    "PROTECTED_PATHS": ["/dashboard", ("/api/protected", ["profile:read"])],
    "LOGIN_PATH": "/login",
    # Trial keys with no account (POST /api/v1/public/instant-db), claimed at /claim/...:
    # what AINative's agent packages ask for on their first run.
    "TRIAL_KEYS_ENABLED": True,
    "TRIAL_KEY_SCOPES": ["credits:read", "mcp"],
}

# Social providers: configured only when their client id is set.
SOCIALACCOUNT_PROVIDERS: dict = {}
if os.environ.get("GITHUB_CLIENT_ID"):
    SOCIALACCOUNT_PROVIDERS["github"] = {
        "APPS": [{"client_id": os.environ["GITHUB_CLIENT_ID"],
                  "secret": os.environ.get("GITHUB_CLIENT_SECRET", "")}],
        "SCOPE": ["read:user", "user:email"],
    }
    if os.environ.get("GITHUB_URL"):
        SOCIALACCOUNT_PROVIDERS["github"]["GITHUB_URL"] = os.environ["GITHUB_URL"]
if os.environ.get("LINKEDIN_CLIENT_ID"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [{
            "provider_id": "linkedin",
            "name": "LinkedIn",
            "client_id": os.environ["LINKEDIN_CLIENT_ID"],
            "secret": os.environ.get("LINKEDIN_CLIENT_SECRET", ""),
            "settings": {
                "server_url": os.environ.get("LINKEDIN_SERVER_URL",
                                             "https://www.linkedin.com/oauth"),
            },
        }],
    }

# Security headers (R5). HSTS only matters over HTTPS; harmless on the local http server.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients):
# TRUST_X_FORWARDED_PROTO=1 makes Django see those requests as https, so HSTS is sent and
# request signatures (RFC 9421 @target-uri) and links see the real scheme.
# example_project/gunicorn.conf.py reads the same variable: off, gunicorn trusts no proxy
# header (X-Forwarded-Proto/-Ssl, SCRIPT_NAME) from anyone; on, X-Forwarded-Proto alone,
# from FORWARDED_ALLOW_IPS.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Set SECURE_COOKIES=1 behind HTTPS; the local server speaks plain http.
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"ainative_auth": {"handlers": ["console"], "level": "INFO"}},
}

# What ainative_auth needs, added to the above (nothing above is replaced).
configure(globals())

# --- The OAuth 2.1 authorization server and the MCP server at /mcp -------------------------
# (ainative_auth.oauth_server on allauth.idp.oidc; docs/oauth-server.md.)
INSTALLED_APPS += ["allauth.idp.oidc", "ainative_auth.oauth_server"]
AINATIVE_AUTH.update({
    "OAUTH_SERVER_SCOPES": {
        "mcp": "Use the example MCP server's tools as you",
        "credits:read": "Read your credit balance",
        "profile": "See your name and email address",
    },
    "OAUTH_SERVER_RESOURCES": {"/api/v1": ["profile", "credits:read"],
                               "/mcp": ["mcp", "credits:read"]},
    "OAUTH_SERVER_DYNAMIC_REGISTRATION": True,
})


def load_oauth_private_key() -> str:
    """The RSA key that signs access tokens: OAUTH_PRIVATE_KEY (PEM), or one made once into
    a git-ignored file, like SECRET_KEY."""
    if os.environ.get("OAUTH_PRIVATE_KEY"):
        return os.environ["OAUTH_PRIVATE_KEY"]
    path = BASE_DIR / ".oauth_private_key.pem"
    try:
        return path.read_text()
    except FileNotFoundError:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        try:
            with open(path, "x") as handle:
                handle.write(pem)
            path.chmod(0o600)
        except FileExistsError:  # another process made it first
            return path.read_text()
        return pem


IDP_OIDC_ADAPTER = "ainative_auth.oauth_server.adapter.OAuthServerAdapter"
# Rotation: add the new key here first (published, not yet signing: not_before in the
# future), then retire the old one with expires_at once its tokens have expired.
IDP_OIDC_PRIVATE_KEYS = [{"pem": load_oauth_private_key()}]
IDP_OIDC_ACCESS_TOKEN_FORMAT = "jwt"
IDP_OIDC_ACCESS_TOKEN_EXPIRES_IN = 3600
IDP_OIDC_REFRESH_TOKEN_EXPIRES_IN = 30 * 24 * 3600
IDP_OIDC_ROTATE_REFRESH_TOKEN = True
IDP_OIDC_AUTH_METHODS = ["client_secret_basic", "none"]
IDP_OIDC_INTROSPECTION_ENABLED = True
IDP_OIDC_CIMD_ENABLED = True
IDP_OIDC_DCR_ENABLED = True
IDP_OIDC_DCR_REQUIRES_INITIAL_ACCESS_TOKEN = False
# Our throttles (the `oauth` scope) govern the OAuth endpoints, not allauth's own.
IDP_OIDC_RATE_LIMITS = False
# Resource servers (confidential clients) may introspect any client's tokens.
IDP_OIDC_INTROSPECTION_CROSS_CLIENT_ALLOWED = True
