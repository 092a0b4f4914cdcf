"""System checks of the MFA app."""

from __future__ import annotations

from typing import Any

from django.core import checks

from ..exceptions import PasskeysNotConfigured
from .relying_party import relying_party


@checks.register(checks.Tags.security)
def check_site_url(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Passkeys need ``SITE_URL`` to name the relying party."""
    try:
        relying_party()
    except PasskeysNotConfigured:
        return [checks.Warning(
            "AINATIVE_AUTH['SITE_URL'] is not an origin passkeys can use: passkey "
            "registration and sign-in answer 404 passkeys_not_configured.",
            hint="Set it to the site's public origin: https://<host>, or "
                 "http://localhost:<port> while developing (browsers refuse IP addresses "
                 "and plain http elsewhere).",
            id="ainative_auth_mfa.W001",
        )]
    return []
