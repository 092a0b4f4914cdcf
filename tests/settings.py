"""Test settings: the example project, with fast hashing, mail in memory, loose limits.

DATABASE_URL / REDIS_URL switch the run to PostgreSQL / Redis (CI does both).
"""

import os
from urllib.parse import urlsplit, urlunsplit

import django

if os.environ.get("REDIS_URL") and os.environ.get("PYTEST_XDIST_WORKER"):
    # Each pytest-xdist worker (gw0, gw1, ...) on a Redis database of its own, for its
    # cache.clear() and for the servers it starts (they inherit the variable): REDIS_URL's
    # database + 1 + the worker's number.
    _redis = urlsplit(os.environ["REDIS_URL"])
    _base = int(_redis.path.strip("/") or 0)
    _worker = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
    os.environ["REDIS_URL"] = urlunsplit(_redis._replace(path=f"/{_base + 1 + _worker}"))

import example_project.settings as example  # noqa: E402
from example_project.settings import *  # noqa: F403
from example_project.settings import AINATIVE_AUTH, DATABASES

DEBUG = False
# Static files are not what the suite tests (and WhiteNoise wants collectstatic first).
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise.")]  # noqa: F405
# The example's PASSWORD_HASHERS come from ainative_auth.setup.configure().
PASSWORD_HASHERS = ["tests.hashers.FastArgon2idPasswordHasher",
                    *vars(example)["PASSWORD_HASHERS"]]
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, but emptying the tables between transactional tests with DELETE
    # instead of a slow TRUNCATE (tests/postgresql/base.py).
    DATABASES = {"default": {**DATABASES["default"], "ENGINE": "tests.postgresql"}}

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "ainative-tests",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AINATIVE_AUTH = {
    **AINATIVE_AUTH,
    "FRONTEND_URL": "https://app.example.com",
    # Generous limits so that only the throttling tests (which lower them) ever hit one.
    "THROTTLE_RATES": {scope: "10000/minute" for scope in (
        "login", "register", "refresh", "forgot_password", "reset_password", "verify_email",
        "resend_verification", "change_password", "oauth", "api_key", "mfa", "device",
        "trial_key")},
    "OAUTH_REDIRECT_URIS": ["https://app.example.com/auth/callback"],
    # Mail inline after commit, so tests read the outbox right after the response; the
    # background sender is tested on its own (tests/unit/test_mail.py).
    "SEND_MAIL_IN_BACKGROUND": False,
}
