"""The MFA endpoints; ``ainative_auth.urls`` adds them when this app is installed."""

from django.urls import path

from . import views

# A passkey's id is its number (the list's ``id``): ``auth/passkeys/login`` is the sign-in,
# never a passkey the detail view is asked to rename or remove.
urlpatterns = [
    path("auth/mfa", views.StatusView.as_view(), name="mfa"),
    path("auth/mfa/setup", views.SetupView.as_view(), name="mfa-setup"),
    path("auth/mfa/verify", views.VerifyView.as_view(), name="mfa-verify"),
    path("auth/mfa/disable", views.DisableView.as_view(), name="mfa-disable"),
    path("auth/mfa/recovery-codes", views.RecoveryCodesView.as_view(),
         name="mfa-recovery-codes"),
    path("auth/mfa/challenge", views.ChallengeView.as_view(), name="mfa-challenge"),
    path("auth/mfa/step-up", views.StepUpView.as_view(), name="mfa-step-up"),
    path("auth/passkeys", views.PasskeyListView.as_view(), name="passkeys"),
    path("auth/passkeys/register/options", views.PasskeyRegisterOptionsView.as_view(),
         name="passkey-register-options"),
    path("auth/passkeys/register", views.PasskeyRegisterView.as_view(),
         name="passkey-register"),
    path("auth/passkeys/login/options", views.PasskeyLoginOptionsView.as_view(),
         name="passkey-login-options"),
    path("auth/passkeys/login", views.PasskeyLoginView.as_view(), name="passkey-login"),
    path("auth/passkeys/<int:passkey_id>", views.PasskeyDetailView.as_view(),
         name="passkey-detail"),
]
