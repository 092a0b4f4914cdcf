"""Client ID Metadata Documents, fetched with limits the library leaves out.

``allauth.idp.oidc`` fetches a client's metadata document (its ``client_id`` is an https
URL) with a 1 s timeout *per read* and a 2 KiB cap, from any address. A document served a
byte at a time would hold a worker thread for half an hour, and a ``client_id`` naming an
internal host would make the server fetch from inside the network (SSRF). ``install``
swaps the library's ``fetch_metadata`` for ``fetch_metadata`` below:

- https only, no redirects, no credentials in the URL (the library checks the URL first);
- every address the host resolves to must be public (``ipaddress.is_global``), unless
  ``OAUTH_SERVER_CIMD_ALLOW_PRIVATE_ADDRESSES`` (tests);
- a deadline on the whole fetch (``OAUTH_SERVER_CIMD_TIMEOUT``) and a size cap
  (``OAUTH_SERVER_CIMD_MAX_SIZE``), counted on the bytes received.

The library caches a fetched document for ``IDP_OIDC_CIMD_CACHE_TIMEOUT`` (stored as a
client row) and serialises concurrent fetches of one URL. The address is checked when it
is resolved; a DNS answer that changes between the check and the connection (rebinding)
is not caught here: run the server where outbound traffic to private ranges is blocked
too if that matters to you.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import urlparse

import requests
from django.core.exceptions import ValidationError

from ..conf import auth_settings


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise ValidationError("The metadata document's host does not resolve.") from exc
    return [str(info[4][0]) for info in infos]


def check_public_host(url: str) -> None:
    """Raise ``ValidationError`` unless every address of ``url``'s host is public."""
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.hostname:
        raise ValidationError("A metadata document is fetched over https only.")
    if auth_settings.OAUTH_SERVER_CIMD_ALLOW_PRIVATE_ADDRESSES:
        return
    for address in _addresses(parsed.hostname, parsed.port or 443):
        if not is_public(ipaddress.ip_address(address.split("%", 1)[0])):
            raise ValidationError("The metadata document's host is not a public address.")


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """``is_global``, also for IPv4 addresses wrapped in IPv6 (mapped ``::ffff:0:0/96``,
    NAT64 ``64:ff9b::/96``, 6to4, Teredo), which older Pythons judge by the wrapper."""
    if ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if ip in NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(v4 is not None and not v4.is_global for v4 in embedded):
            return False
    return ip.is_global


def fetch_metadata(client_id: str) -> Any:
    check_public_host(client_id)
    timeout = float(auth_settings.OAUTH_SERVER_CIMD_TIMEOUT)
    limit = int(auth_settings.OAUTH_SERVER_CIMD_MAX_SIZE)
    deadline = time.monotonic() + timeout
    try:
        response = requests.get(client_id, timeout=(timeout, timeout), stream=True,
                                allow_redirects=False,
                                headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise ValidationError("The metadata document could not be fetched.") from exc
    try:
        if response.status_code != HTTPStatus.OK:
            raise ValidationError("The metadata document's server did not answer 200.")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ValidationError("The metadata document is too large.")
        body = bytearray()
        for chunk in response.iter_content(chunk_size=512):
            body += chunk
            if len(body) > limit:
                raise ValidationError("The metadata document is too large.")
            if time.monotonic() > deadline:
                raise ValidationError("The metadata document took too long.")
    except requests.RequestException as exc:
        raise ValidationError("The metadata document could not be fetched.") from exc
    finally:
        response.close()
    try:
        return json.loads(bytes(body))
    except (ValueError, TypeError) as exc:
        raise ValidationError("The metadata document is not JSON.") from exc


def install() -> None:
    from allauth.idp.oidc.internal import cimd

    cimd.fetch_metadata = fetch_metadata  # type: ignore[assignment]
