"""What several checks share: the project's ``AINATIVE_AUTH``, and what they ask of a host
or a URL."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


def project_settings() -> dict[str, Any] | None:
    """The project's ``AINATIVE_AUTH``: ``{}`` when it is unset or empty, None when it is
    not a dict (``ainative_auth.E001`` says so; the other checks then say nothing)."""
    value = getattr(settings, "AINATIVE_AUTH", None) or {}
    return value if isinstance(value, dict) else None


def absolute_http_url(url: str) -> bool:
    """An http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def loopback(host: str) -> bool:
    """``localhost``, a ``.localhost`` name or a loopback address."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
