"""One bounded HTTP call to a provider, and reading its answers.

Every call has the ``OAUTH_TIMEOUT`` timeout (connect, each read and the whole body),
follows no redirect and reads at most ``MAX_RESPONSE_BYTES``; an error, a timeout or an
unusable answer (JSON sent under another content type included) is ``ProviderUnavailable``
(502), and a code the provider rejected is ``InvalidCode`` (400). Requests go through
allauth's session factory, so a project's socialaccount adapter may add proxies or
certificates.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from allauth.socialaccount.adapter import get_adapter as get_social_adapter

from ..conf import auth_settings
from ..exceptions import InvalidCode, ProviderUnavailable

logger = logging.getLogger("ainative_auth")

# Largest provider answer we read (a GitHub profile or a JWKS is a few KB).
MAX_RESPONSE_BYTES = 1024 * 1024
# Token-endpoint errors that mean "this code (with this redirect_uri/verifier) is no
# good": RFC 6749 `invalid_grant`, GitHub's `bad_verification_code` and
# `redirect_uri_mismatch`, and LinkedIn's `invalid_request` (its answer to an expired or
# mismatched code). Anything else (`invalid_client`, ...) is our configuration: a 502.
REJECTED_CODE_ERRORS = frozenset(
    {"invalid_grant", "bad_verification_code", "redirect_uri_mismatch", "invalid_request"}
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = ""

    @property
    def is_json(self) -> bool:
        """``application/json`` or a ``+json`` type (``application/jwk-set+json``, ...)."""
        media = self.content_type.split(";", 1)[0].strip().lower()
        return media == "application/json" or (
            media.startswith("application/") and media.endswith("+json"))


def call(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Answer:
    """One bounded request to a provider: no redirects followed, ``OAUTH_TIMEOUT`` for
    connecting, for each read and for the whole body, at most ``MAX_RESPONSE_BYTES``.
    Any failure is ``ProviderUnavailable``."""
    timeout = float(auth_settings.OAUTH_TIMEOUT)
    # A network deadline, not a moment in time: the monotonic clock, which freezing the
    # app's clock in tests leaves alone.
    deadline = time.monotonic() + timeout
    host = urlsplit(url).netloc
    try:
        # allauth's session (a project's socialaccount adapter may add proxies or
        # certificates there), with our timeout given per request.
        with get_social_adapter().get_requests_session() as session:
            response = session.request(
                method, url, headers={"User-Agent": "ainative-auth", **(headers or {})},
                data=data, auth=auth, timeout=timeout, allow_redirects=False, stream=True,
            )
            with response:
                chunks, size = [], 0
                for chunk in _body_chunks(response):
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        logger.warning("provider %s answered more than %d bytes", host,
                                       MAX_RESPONSE_BYTES)
                        raise ProviderUnavailable()
                    if time.monotonic() > deadline:
                        raise requests.Timeout("the whole answer took too long")
                    chunks.append(chunk)
                return Answer(response.status_code, b"".join(chunks),
                               str(response.headers.get("Content-Type", "")))
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        logger.warning("provider %s unreachable: %s", host, type(exc).__name__)
        raise ProviderUnavailable() from exc


def _body_chunks(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: ``read1`` returns whatever one socket read brought (so the
    whole-body deadline is checked between small reads), where ``iter_content`` would
    block until a full chunk or the end. urllib3 before 2.0 has no ``read1``."""
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:  # pragma: no cover - urllib3 1.x
        yield from response.iter_content(chunk_size=65536)
        return
    while chunk := read1(65536, decode_content=True):
        yield chunk


def json_body(answer: Answer, what: str) -> Any:
    if not answer.is_json:
        logger.warning("provider sent a %s as %r, not JSON", what, answer.content_type[:50])
        raise ProviderUnavailable()
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError) as exc:
        logger.warning("provider sent a %s that is not JSON", what)
        raise ProviderUnavailable() from exc


def json_object(answer: Answer, what: str) -> dict[str, Any]:
    if answer.status != 200:
        logger.warning("provider answered %s to the %s request", answer.status, what)
        raise ProviderUnavailable()
    body = json_body(answer, what)
    if not isinstance(body, dict):
        logger.warning("provider sent a %s that is not a JSON object", what)
        raise ProviderUnavailable()
    return body


def token_answer(answer: Answer) -> dict[str, Any]:
    """The token endpoint's answer, or ``InvalidCode`` / ``ProviderUnavailable``.

    GitHub reports a bad code with a 200 and ``{"error": ...}``; RFC 6749 providers with
    a 400 (or 401). A 5xx, a redirect, or a body that is not JSON is the provider's
    problem, whatever it says.
    """
    if answer.status not in (200, 400, 401):
        logger.warning("token endpoint answered %s", answer.status)
        raise ProviderUnavailable()
    body = json_body(answer, "token response")
    if not isinstance(body, dict):
        raise ProviderUnavailable()
    error = body.get("error")
    if error is not None or answer.status != 200:
        if isinstance(error, str) and error in REJECTED_CODE_ERRORS:
            raise InvalidCode()
        logger.error("token endpoint refused the exchange: %s (check the client id, "
                     "secret and scopes)", error if isinstance(error, str) else answer.status)
        raise ProviderUnavailable()
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        logger.warning("token response without an access token")
        raise ProviderUnavailable()
    return body
