"""GitHub (and GitHub Enterprise): its URLs, the code exchange and who the user is.

Only GitHub's primary address, and only when GitHub says it is verified (boolean true),
counts as verified.
"""

from __future__ import annotations

import logging
from typing import Any

from ..exceptions import ProviderUnavailable
from .base import Identity, Provider, exchange_data, profile, string
from .http import call, json_body, json_object, token_answer

logger = logging.getLogger("ainative_auth")


def urls(provider: Provider) -> tuple[str, str]:
    """(web URL, API URL): allauth's GitHub rule, read now rather than at import."""
    base = provider.provider_settings.get("GITHUB_URL")
    if base:
        web = str(base).rstrip("/")
        return web, f"{web}/api/v3"
    return "https://github.com", "https://api.github.com"


def _uid(value: Any) -> str:
    """GitHub's numeric id as one canonical string: 123 and "123" are both "123"."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        logger.warning("GitHub user without a numeric id")
        raise ProviderUnavailable()
    return str(value)


def identity(
    provider: Provider, code: str, redirect_uri: str, code_verifier: str | None
) -> Identity:
    web, api = urls(provider)
    data = exchange_data(code, redirect_uri, code_verifier)
    data.update(client_id=provider.client_id, client_secret=provider.secret)
    token = token_answer(call("POST", f"{web}/login/oauth/access_token",
                                headers={"Accept": "application/json"}, data=data))
    headers = {"Authorization": f"Bearer {token['access_token']}",
               "Accept": "application/vnd.github+json"}
    user = json_object(call("GET", f"{api}/user", headers=headers), "user")
    uid = _uid(user.get("id"))
    login = string(user.get("login"), "login") or ""
    name = string(user.get("name"), "name") or login

    email, verified = None, False
    answer = call("GET", f"{api}/user/emails", headers=headers)
    if answer.status == 404:
        # Documented for tokens without the user:email scope: fall back on the profile's
        # public address, which GitHub does not say is verified.
        email = string(user.get("email"), "email")
    else:
        if answer.status != 200:
            logger.warning("GitHub answered %s to /user/emails", answer.status)
            raise ProviderUnavailable()
        entries = json_body(answer, "email list")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            logger.warning("GitHub sent an email list that is not a list of objects")
            raise ProviderUnavailable()
        primary = [entry for entry in entries if entry.get("primary") is True]
        if primary:
            email = string(primary[0].get("email"), "email")
            # Only the primary address, and only when GitHub says verified (boolean true).
            verified = primary[0].get("verified") is True
    extra = profile(user, ("id", "login", "name", "html_url", "avatar_url"))
    return Identity(provider.id, uid, email, bool(email) and verified, name, extra)
