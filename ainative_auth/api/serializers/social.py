"""Bodies of the social-login endpoints."""

from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

from .fields import RejectUnknownFieldsMixin, StrictCharField

__all__ = [
    "AuthorizeQuerySerializer",
    "AuthorizationSerializer",
    "CallbackSerializer",
    "ProviderSerializer",
    "SocialAccountSerializer",
    "single_valued",
]

# Visible ASCII, no spaces (RFC 6749 appendix A: code and state are VSCHAR): no NUL, no
# control characters, no Unicode look-alikes reach the provider or the cache.
_VSCHAR = re.compile(r"[\x21-\x7e]+")
# RFC 7636 section 4.1.
_CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# Authorization codes: what GitHub (hex) and LinkedIn (base64url) send, and base64 and
# JWT-shaped codes besides; no '%', quotes, brackets or anything a provider never puts in
# a code.
_CODE = re.compile(r"[A-Za-z0-9\-._~+/=]+")
URI_MAX_LENGTH = 2048


class TokenishField(StrictCharField):
    """A protocol string (code, state): visible ASCII only, used exactly as sent."""

    default_error_messages = {
        "invalid": "Must be a string.",
        "charset": "Must be visible ASCII characters without spaces.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not _VSCHAR.fullmatch(value):
            self.fail("charset")
        return value


class CodeField(TokenishField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", URI_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not _CODE.fullmatch(value):
            self.fail("charset")
        return value


class RedirectURIField(TokenishField):
    """Compared exactly with ``OAUTH_REDIRECT_URIS``; only bounded and printable here."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", URI_MAX_LENGTH)
        super().__init__(**kwargs)


class CodeVerifierField(StrictCharField):
    default_error_messages = {
        "invalid": "Must be a string.",
        "format": "Must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~'.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not _CODE_VERIFIER.fullmatch(value):
            self.fail("format")
        return value


def single_valued(query: QueryDict, names: tuple[str, ...]) -> dict[str, str]:
    """The parameters ``names`` of a query string as a plain dict (others are ignored),
    refusing one given twice: which one would a server use? Parameter pollution is a 400,
    not a guess."""
    repeated = sorted(key for key in names if len(query.getlist(key)) > 1)
    if repeated:
        raise serializers.ValidationError(
            {key: [serializers.ErrorDetail("This parameter may be given only once.",
                                           code="repeated")] for key in repeated},
        )
    return {key: str(query.get(key, "")) for key in names if key in query}


class AuthorizeQuerySerializer(serializers.Serializer):
    redirect_uri = RedirectURIField()


class AuthorizationSerializer(serializers.Serializer):
    authorization_url = serializers.CharField(
        help_text="Send the user here (a full-page redirect or a popup).")
    state = serializers.CharField(
        help_text="Opaque, single use; the provider hands it back beside the code.")


class CallbackSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """``{code, redirect_uri, state?, code_verifier?}``. Unknown keys are a 400: a
    misspelt ``codeVerifier`` must not silently drop PKCE."""

    code = CodeField()
    redirect_uri = RedirectURIField()
    state = TokenishField(max_length=512, required=False, allow_null=True, default=None)
    code_verifier = CodeVerifierField(required=False, allow_null=True, default=None)


class ProviderSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class SocialAccountSerializer(serializers.Serializer):
    """A connected identity: never a provider token (none is stored)."""

    id = serializers.IntegerField()
    provider = serializers.CharField()
    uid = serializers.CharField()
    display = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="date_joined")
    last_login = serializers.DateTimeField()

    def get_display(self, account: Any) -> str:
        """The provider login or name, for showing the identity to its owner."""
        data: dict[str, Any] = (
            account.extra_data if isinstance(account.extra_data, dict) else {}
        )
        nested = data.get("id_token")
        claims: dict[str, Any] = nested if isinstance(nested, dict) else {}
        for value in (data.get("login"), data.get("name"), claims.get("name"),
                      claims.get("email")):
            if isinstance(value, str) and value:
                return value
        return str(account.uid)
