"""The operator's view of second factors, and the "lost everything" reset.

The admin lists authenticator apps and passkeys (never a secret) and has one action on
both: **Reset second factors and sign out everywhere** (``factors.reset_factors``), for
a user who lost every factor and whom the operator has identified by other means. It
removes every factor and recovery code and revokes every session and API key of the
selected users; they sign in with their password and set MFA up again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from .models import Passkey, TOTPDevice
from .services import factors


@admin.action(description="Reset second factors and sign out everywhere")
def reset_second_factors(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    users = {row.user for row in queryset.select_related("user")}
    for user in users:
        factors.reset_factors(user, request=request)
    modeladmin.message_user(
        request, f"Second factors reset for {len(users)} user(s); their sessions and API "
                 "keys were revoked.", messages.SUCCESS)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    list_display = ("user", "confirmed_at", "last_used_at")
    search_fields = ("user__email",)
    fields = ("user", "created_at", "confirmed_at", "last_used_at")
    readonly_fields = fields
    actions = [reset_second_factors]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Passkey)
class PasskeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created_at", "last_used_at", "backed_up")
    search_fields = ("user__email", "name")
    fields = ("user", "name", "created_at", "last_used_at", "sign_count", "backup_eligible",
              "backed_up", "transports", "aaguid")
    readonly_fields = fields
    actions = [reset_second_factors]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
