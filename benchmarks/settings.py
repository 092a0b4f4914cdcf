"""Self-contained Django settings for `make bench` (never used by the app or its tests).

Every contender is installed so that all of them run in one process, on one database,
behind one middleware stack. `benchmarks/run.py` picks the database through environment
variables before Django starts:

- ``BENCH_DB_ENGINE``: ``sqlite`` (default) or ``postgresql``
- ``BENCH_DB_NAME``: the SQLite file path, or the PostgreSQL database name
- ``BENCH_DB_HOST`` / ``BENCH_DB_PORT`` / ``BENCH_DB_USER`` / ``BENCH_DB_PASSWORD``
- ``BENCH_PG_PREPARED``: non-empty for server-side binding + prepared statements
- ``BENCH_MIDDLEWARE``: ``project`` (default; Django's startproject stack + allauth's) or
  ``minimal`` (SecurityMiddleware, CommonMiddleware and allauth's required one)
"""

from __future__ import annotations

import os
from datetime import timedelta

DEBUG = False  # query counting uses CaptureQueriesContext, which does not need DEBUG
SECRET_KEY = "benchmark-only-secret-key-not-for-production-0123456789abcdefghijklmnop"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
ROOT_URLCONF = "benchmarks.urls"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_api_key",
    "knox",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "ainative_auth",
]

_PROJECT_MIDDLEWARE = [
    # What `django-admin startproject` generates, plus allauth's (which allauth requires).
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
_MINIMAL_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
MIDDLEWARE = (
    _MINIMAL_MIDDLEWARE if os.environ.get("BENCH_MIDDLEWARE") == "minimal" else _PROJECT_MIDDLEWARE
)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

if os.environ.get("BENCH_DB_ENGINE", "sqlite") == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("BENCH_DB_NAME", "ainative_bench"),
            "HOST": os.environ.get("BENCH_DB_HOST", "127.0.0.1"),
            "PORT": os.environ.get("BENCH_DB_PORT", "5432"),
            "USER": os.environ.get("BENCH_DB_USER", "postgres"),
            "PASSWORD": os.environ.get("BENCH_DB_PASSWORD", ""),
            # Persistent connections, as any production deployment has them.
            "CONN_MAX_AGE": None,
            # run.py --pg-prepared: server-side binding, so psycopg prepares statements
            # after 5 executions (Django's default is client-side binding, never prepared).
            "OPTIONS": (
                {"server_side_binding": True, "prepare_threshold": 5}
                if os.environ.get("BENCH_PG_PREPARED") else {}
            ),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BENCH_DB_NAME", "bench.sqlite3"),
            "CONN_MAX_AGE": None,
        }
    }
    if os.environ.get("BENCH_SQLITE_IMMEDIATE"):
        # For the concurrent logins of logins.py's memory child: as in the example project,
        # writers queue for SQLite's lock instead of failing on it ("database is locked"
        # when two deferred transactions both try to write). The timed rows keep Django's
        # defaults.
        DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("BENCH_REDIS_URL"):  # run.py --redis: the throttle counter on Redis
    CACHES["redis"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["BENCH_REDIS_URL"],
        "KEY_PREFIX": "ainative-bench",
    }

# No password is checked on the hot path; keep user creation cheap.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    # Every benchmark view sets its own authentication and permission classes.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # What a project using ainative_auth configures (only error responses go through it).
    "EXCEPTION_HANDLER": "ainative_auth.exceptions.exception_handler",
}

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_RATE_LIMITS = False

AUTHENTICATION_BACKENDS = [
    "ainative_auth.backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# A 401 is logged as a warning by django.request; the revocation check makes one on purpose.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"django.request": {"level": "ERROR"}},
}

# ainative_auth counts every API-key request against THROTTLE_RATES["api_key"] (default
# 600/minute per key), which a benchmark key exceeds within a second; refresh and login are
# counted per IP, per session and per address too. Raise the limits rather than switch them
# off, so that the counters' cost (cache add + incr) stays in the measurement; run.py also
# measures the API key with its throttle off to show that cost on its own.
_NEVER = "1000000000/minute"
AINATIVE_AUTH = {
    "THROTTLE_RATES": {"api_key": _NEVER, "refresh": _NEVER, "login": _NEVER},
    "LOGIN_LOCKOUT_RATE": _NEVER,
}

# simplejwt's own default is 5 minutes, shorter than a PostgreSQL run.
SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": timedelta(hours=1)}

# The OAuth server, for the "OAuth access token" row: a token minted by the library through
# the token endpoint, checked by OAuthAccessTokenAuthentication (RS256, then its row).
INSTALLED_APPS += ["allauth.idp.oidc", "ainative_auth.oauth_server"]
AINATIVE_AUTH["SITE_URL"] = "http://testserver"


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()


IDP_OIDC_ADAPTER = "ainative_auth.oauth_server.adapter.OAuthServerAdapter"
IDP_OIDC_PRIVATE_KEYS = [{"pem": _rsa_pem()}]
IDP_OIDC_ACCESS_TOKEN_FORMAT = "jwt"
IDP_OIDC_ACCESS_TOKEN_EXPIRES_IN = 3 * 3600
IDP_OIDC_RATE_LIMITS = False
