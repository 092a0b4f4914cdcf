"""What the dashboard shows, read in one call: the account's keys, live sessions and
connected identities, and what it may do. Read-only; the actions are in their services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.socialaccount.models import SocialAccount

from ..adapter import get_adapter
from ..client import Client
from ..models import APIKey, RefreshSession
from . import api_keys, sessions, social, verification


@dataclass(frozen=True)
class AccountOverview:
    email_verified: bool
    may_create_keys: bool
    default_scopes: list[str]
    keys: list[APIKey]
    sessions: list[RefreshSession]
    # (identity, its provider's display name), oldest first: every identity that can sign
    # in as the user, whether or not its provider is still configured.
    identities: list[tuple[SocialAccount, str]]


def account_overview(client: Client, user: Any) -> AccountOverview:
    """The dashboard's reads for ``user``."""
    names = {p["id"]: p["name"] for p in social.list_providers(client)}
    return AccountOverview(
        email_verified=get_adapter().is_email_verified(user),
        may_create_keys=verification.may_add_credentials(user),
        default_scopes=api_keys.default_scopes(),
        keys=api_keys.list_keys(user),
        sessions=sessions.live_sessions(user),
        identities=[(account, names.get(account.provider, account.provider))
                    for account in social.list_social_accounts(user)],
    )
