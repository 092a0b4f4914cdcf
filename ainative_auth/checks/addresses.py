"""What several checks ask of a host or a URL."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


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
