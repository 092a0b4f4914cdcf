"""Django admin for API keys and sessions.

API keys: created here, the full key and its signing secret are shown once in a message
and never again; lists and forms show the ``ak_<public id>`` prefix, never the hash. A bulk
action revokes.
Sessions: read-only, with a bulk revoke action.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import clock
from .conf import auth_settings
from .credentials.keys import (
    InvalidPublicKey,
    InvalidScopes,
    clean_public_key,
    clean_scopes,
    split_scopes_text,
)
from .credentials.throttling import Rate
from .models import APIKey, APIKeyQuerySet, RefreshSession
from .services import api_keys, sessions
from .users import email_of


class ScopesFormField(forms.CharField):
    """Scopes as text ("credits:read, keys:write"), separated by commas and/or spaces
    (``keys.split_scopes_text``, the one rule); empty gives None."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str] | None:  # type: ignore[override]
        text = super().to_python(value)
        if isinstance(text, (list, tuple)):  # an initial value passed back unchanged
            items = [str(item) for item in text]
        else:
            items = split_scopes_text(str(text or ""))
        if not items:
            return None
        try:
            return clean_scopes(items)
        except InvalidScopes as exc:
            raise forms.ValidationError(str(exc), code="invalid_scope") from exc


class BaseAPIKeyForm(forms.ModelForm):
    scopes = ScopesFormField(required=False)

    class Meta:
        model = APIKey
        fields = ["name", "scopes", "expires_at", "throttle_rate", "require_signature",
                  "public_key"]
        widgets = {"public_key": forms.Textarea(attrs={"rows": 4, "cols": 70})}

    def clean_public_key(self) -> str:
        text = (self.cleaned_data.get("public_key") or "").strip()
        if not text:
            return ""
        try:
            return clean_public_key(text)
        except InvalidPublicKey as exc:
            raise forms.ValidationError(str(exc), code="invalid_public_key") from exc

    def clean_throttle_rate(self) -> str | None:
        rate = (self.cleaned_data.get("throttle_rate") or "").strip()
        if not rate:
            return None
        try:
            Rate.parse(rate)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid_rate") from exc
        return rate


class APIKeyChangeForm(BaseAPIKeyForm):
    def clean_scopes(self) -> list[str]:
        # On an existing key, an empty field means "no scopes" (only users/me readable).
        return self.cleaned_data.get("scopes") or []


class APIKeyAddForm(BaseAPIKeyForm):
    """The secret is generated on save (``services.api_keys.create_key``).

    A key added with no scopes gets ``API_KEY_DEFAULT_SCOPES``; when that is full access
    (``"*"``, the default: everything its owner can do), the form says so and asks for a
    confirmation (the "Full access" box) rather than minting an all-powerful key for an
    empty field.
    """

    full_access = forms.BooleanField(
        required=False, label="Full access",
        help_text="Tick to confirm a key without scopes: it may do everything its owner "
                  "can.")

    class Meta(BaseAPIKeyForm.Meta):
        fields = ["user", "name", "scopes", "full_access", "expires_at", "throttle_rate",
                  "require_signature", "public_key"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        defaults = ", ".join(default_scopes()) or "none"
        self.fields["scopes"].help_text = (
            "Separated by commas or spaces, e.g. credits:read, keys:write. Empty gives "
            f"API_KEY_DEFAULT_SCOPES ({defaults})"
            + (": full access, which needs “Full access” ticked." if gives_full_access()
               else "."))

    def clean_full_access(self) -> bool:
        return bool(self.cleaned_data.get("full_access"))

    def clean_expires_at(self) -> Any:
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= clock.now():
            raise forms.ValidationError("Must be in the future.", code="in_the_past")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if ("scopes" in cleaned and cleaned["scopes"] is None and gives_full_access()
                and not cleaned.get("full_access")):
            self.add_error("scopes", forms.ValidationError(
                "Without scopes this key gets full access (API_KEY_DEFAULT_SCOPES is "
                "“*”): it may do everything its owner can. Enter the scopes it needs, or "
                "tick “Full access” to confirm.", code="full_access_unconfirmed"))
        user = cleaned.get("user")
        limit = int(auth_settings.API_KEY_MAX_PER_USER or 0)
        # A friendly form error; create_key enforces the limit again, race-free.
        if user is not None and limit > 0 and api_keys.live_keys(user).count() >= limit:
            raise forms.ValidationError(
                f"This user already has the maximum of {limit} live API keys.",
                code="api_key_limit_reached",
            )
        return cleaned


def default_scopes() -> list[str]:
    """What a key created without scopes gets (``API_KEY_DEFAULT_SCOPES``)."""
    return [str(scope) for scope in auth_settings.API_KEY_DEFAULT_SCOPES or []]


def gives_full_access() -> bool:
    return "*" in default_scopes()


class APIKeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=clock.now())
        if self.value() == "active":
            # The changelist's queryset comes from APIKey.objects.
            return cast(APIKeyQuerySet, queryset).live()
        return queryset


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    form = APIKeyChangeForm
    add_form = APIKeyAddForm
    list_display = ["prefix", "owner", "name", "scope_list", "origin", "created_at",
                    "last_used_at", "expires_at", "require_signature", "state_label"]
    list_select_related = ["user"]
    list_filter = [APIKeyStateFilter, "origin", "require_signature", "created_at"]
    raw_id_fields = ["user"]
    actions = ["revoke_selected"]
    # The hashes are never shown, not even read-only.
    exclude = ["secret_hash", "previous_secret_hash", "previous_secret_expires_at"]
    readonly_fields = ["prefix", "user", "origin", "state_label", "created_at",
                       "last_used_at", "last_used_ip", "rotated_at", "revoked_at"]

    class Media:
        # The key list fits every screen: columns wrap, and rows become cards on a phone.
        css = {"all": ["ainative_auth/admin.css"]}

    # --- columns ------------------------------------------------------------------
    @admin.display(description="owner", ordering="user")
    def owner(self, key: APIKey) -> str:
        user = key.user
        return email_of(user) or str(user)

    @admin.display(description="scopes")
    def scope_list(self, key: APIKey) -> str:
        return ", ".join(key.scopes) or "(none)"

    @admin.display(description="state")
    def state_label(self, key: APIKey) -> str:
        return key.state()

    # --- search: by prefix (with or without "ak_"), name, owner email ---------------
    def get_search_fields(self, request: HttpRequest) -> list[str]:
        from django.contrib.auth import get_user_model

        return ["=public_id", "name", f"user__{get_user_model().get_email_field_name()}"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if term.startswith("ak_"):
            # "ak_<id>" as shown in the list (anything after the id is dropped).
            term = term[3:].split("_", 1)[0]
        return super().get_search_results(request, queryset, term)

    # --- add vs change ------------------------------------------------------------
    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return list(APIKeyAddForm.Meta.fields)
        return ["prefix", "user", "origin", "name", "scopes", "state_label", "expires_at",
                "throttle_rate", "require_signature", "public_key", "created_at",
                "last_used_at", "last_used_ip", "rotated_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: APIKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_keys.create_key(
            form.cleaned_data["user"],
            name=obj.name,
            scopes=form.cleaned_data.get("scopes"),
            expires_at=obj.expires_at,
            throttle_rate=obj.throttle_rate,
            require_signature=obj.require_signature,
            public_key=obj.public_key or None,
            instance=obj,
        )
        # Shown once: the message is consumed by the next page and neither is stored.
        access = " It has full access (scopes “*”)." if "*" in issued.key.scopes else ""
        messages.warning(
            request,
            f"The API key “{obj.name}” was created.{access} Copy it and its signing secret "
            f"now, they will not be shown again: {issued.plaintext} — signing secret: "
            f"{issued.signing_secret}",
        )

    # --- actions ------------------------------------------------------------------
    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = api_keys.revoke_keys(queryset)
        self.message_user(request, f"Revoked {count} API key(s).", messages.SUCCESS)


@admin.register(RefreshSession)
class RefreshSessionAdmin(admin.ModelAdmin):
    """Sessions are made by logins only; here they can be inspected and revoked."""

    list_display = ["id", "user", "device", "ip_address", "created_at", "last_used_at",
                    "expires_at", "revoked_at", "revoke_reason"]
    list_select_related = ["user"]
    list_filter = ["revoke_reason", "created_at"]
    actions = ["revoke_selected"]
    exclude = ["salt"]
    readonly_fields = ["id", "user", "generation", "rotated_at", "created_at", "last_used_at",
                       "expires_at", "absolute_expires_at", "revoked_at", "revoke_reason",
                       "ip_address", "user_agent", "device"]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        from django.contrib.auth import get_user_model

        return [f"user__{get_user_model().get_email_field_name()}", "ip_address"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected sessions", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = sessions.revoke_sessions(queryset, "revoked")
        self.message_user(request, f"Revoked {count} session(s).", messages.SUCCESS)
