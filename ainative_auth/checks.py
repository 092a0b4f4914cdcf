"""System checks: unknown settings keys, bad rates, missing backend."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULTS


@register(Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    from .throttling import Rate

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
    backends = getattr(settings, "AUTHENTICATION_BACKENDS", [])
    if "ainative_auth.backends.EmailBackend" not in backends:
        problems.append(
            Warning(
                "ainative_auth.backends.EmailBackend is not in AUTHENTICATION_BACKENDS; "
                "login by email will only work if another backend accepts `email=`.",
                id="ainative_auth.W001",
            )
        )
    return problems
