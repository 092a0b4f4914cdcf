"""The MFA pages; ``ainative_auth.urls_pages`` adds them when this app is installed."""

from django.urls import path

from . import pages

urlpatterns = [
    path("login/mfa", pages.challenge_page, name="mfa-challenge"),
    path("login/passkey/options", pages.passkey_options, name="passkey-options"),
    path("login/passkey", pages.passkey_login, name="passkey-login"),
    path("dashboard/security/step-up", pages.step_up_page, name="mfa-step-up"),
    path("dashboard/security/totp/new", pages.totp_begin, name="totp-begin"),
    path("dashboard/security/totp", pages.totp_pending, name="totp-pending"),
    path("dashboard/security/totp/verify", pages.totp_verify, name="totp-verify"),
    path("dashboard/security/totp/remove", pages.totp_remove, name="totp-remove"),
    path("dashboard/security/recovery-codes", pages.recovery_codes, name="recovery-codes"),
    path("dashboard/security/passkeys/options", pages.passkey_register_options,
         name="passkey-register-options"),
    path("dashboard/security/passkeys", pages.passkey_add, name="passkey-add"),
    path("dashboard/security/passkeys/<str:passkey_id>/remove", pages.passkey_remove,
         name="passkey-remove"),
]
