"""What the use cases need to know about the caller, as plain values."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from .adapter import get_adapter

USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True)
class Client:
    """The caller of a use case: its IP (as ``adapter.get_client_ip`` judges it, behind
    ``TRUSTED_PROXY_COUNT`` proxies), its User-Agent, and the request itself when there is
    one (for ``authenticate()``, whose backends take it, and for the signals)."""

    ip_address: str = "0.0.0.0"  # noqa: S104 - a placeholder, never bound
    user_agent: str = ""
    request: HttpRequest | None = None

    @classmethod
    def of(cls, request: HttpRequest) -> Client:
        return cls(
            ip_address=get_adapter().get_client_ip(request),
            user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX_LENGTH],
            request=request,
        )


# A caller with no request: the admin, management commands, tests.
NO_CLIENT = Client()
