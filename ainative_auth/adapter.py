"""The project-overridable policy of ainative_auth.

Subclass ``DefaultAdapter`` and name it in ``AINATIVE_AUTH["ADAPTER"]`` to change how users
are serialized, how names are stored, which extra claims go into access tokens, how mail
is sent, how frontend links and client IPs are made, and who may sign up.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.module_loading import import_string

from .conf import auth_settings
from .users import address_verified, email_of

logger = logging.getLogger("ainative_auth")


class DefaultAdapter:
    # --- users ---------------------------------------------------------------------
    def _has_field(self, name: str) -> bool:
        try:
            get_user_model()._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        return True

    def get_name(self, user: Any) -> str:
        """The display name: a ``name`` field if the user model has one, else first/last."""
        if self._has_field("name"):
            return user.name or ""
        full = getattr(user, "get_full_name", None)
        return (full() if callable(full) else "") or ""

    def set_name(self, user: Any, name: str) -> None:
        """Store ``name`` on ``user`` (not saved): ``name`` field, else ``first_name``."""
        if self._has_field("name"):
            user.name = name
        elif self._has_field("first_name"):
            # Splitting a name into first/last guesses wrong for many cultures: keep it whole.
            user.first_name = name
            if self._has_field("last_name"):
                user.last_name = ""

    def name_fields(self) -> list[str]:
        """The user columns ``set_name`` writes (``update_profile`` saves only these)."""
        if self._has_field("name"):
            return ["name"]
        return [name for name in ("first_name", "last_name") if self._has_field(name)]

    def is_email_verified(self, user: Any) -> bool:
        return address_verified(user.pk, email_of(user))

    def serialize_user(self, user: Any) -> dict[str, Any]:
        """The user object of every response. Never a password hash."""
        created = getattr(user, "date_joined", None)
        if created is None:
            account = getattr(user, "ainative_email", None)
            created = getattr(account, "created_at", None)
        return {
            "id": user.pk,
            "email": user.email,
            "name": self.get_name(user),
            "email_verified": self.is_email_verified(user),
            "created_at": created.isoformat().replace("+00:00", "Z") if created else None,
        }

    def extra_token_claims(self, user: Any) -> dict[str, Any]:
        """Extra claims for access tokens (reserved claims cannot be overridden)."""
        return {}

    def is_signup_allowed(self, request: HttpRequest | None, email: str) -> bool:
        return True

    # --- requests ------------------------------------------------------------------
    def get_client_ip(self, request: HttpRequest) -> str:
        """REMOTE_ADDR, or the address ``TRUSTED_PROXY_COUNT`` hops back in X-Forwarded-For.

        A client-sent X-Forwarded-For is ignored unless proxies are configured: trusting it
        lets anyone pick their IP and walk around rate limits.
        """
        remote = request.META.get("REMOTE_ADDR", "") or ""
        hops = int(auth_settings.TRUSTED_PROXY_COUNT or 0)
        if hops > 0:
            forwarded = [
                part.strip()
                for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                if part.strip()
            ]
            if len(forwarded) >= hops:
                remote = forwarded[-hops]
        try:
            return str(ipaddress.ip_address(remote))
        except ValueError:
            return "0.0.0.0"  # noqa: S104 - a placeholder, never bound

    def describe_device(self, user_agent: str) -> str:
        """A short label for the sessions list, from the User-Agent."""
        ua = user_agent.lower()
        browser = next(
            (name for key, name in (("edg/", "Edge"), ("firefox/", "Firefox"),
                                    ("chrome/", "Chrome"), ("safari/", "Safari"),
                                    ("curl/", "curl"), ("python-requests", "Python requests"),
                                    ("python-httpx", "Python httpx"))
             if key in ua),
            "",
        )
        system = next(
            (name for key, name in (("windows", "Windows"), ("android", "Android"),
                                    ("iphone", "iOS"), ("ipad", "iOS"), ("mac os", "macOS"),
                                    ("linux", "Linux"))
             if key in ua),
            "",
        )
        if browser and system:
            return f"{browser} on {system}"
        return browser or system or "Unknown device"

    # --- mail and links --------------------------------------------------------------
    def build_frontend_url(self, path_template: str, **params: str) -> str:
        """``FRONTEND_URL`` + the path template; never the request's Host header."""
        base = str(auth_settings.FRONTEND_URL).rstrip("/")
        return base + path_template.format(**params)

    def send_mail(self, template_prefix: str, to: str, context: dict[str, Any]) -> None:
        """Render ``<prefix>_subject.txt``, ``_message.txt`` and (if present) ``.html``, send.

        Templates live under ``ainative_auth/email/`` and can be overridden by the project.
        """
        subject = render_to_string(f"{template_prefix}_subject.txt", context).strip()
        subject = " ".join(subject.splitlines())
        text = render_to_string(f"{template_prefix}_message.txt", context)
        message = EmailMultiAlternatives(subject, text, to=[to])
        try:
            html = render_to_string(f"{template_prefix}_message.html", context)
        except TemplateDoesNotExist:
            html = None
        if html:
            message.attach_alternative(html, "text/html")
        message.send()


def get_adapter() -> DefaultAdapter:
    return import_string(auth_settings.ADAPTER)()
