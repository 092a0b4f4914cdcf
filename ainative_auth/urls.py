"""Include under your API prefix: ``path("api/v1/", include("ainative_auth.urls"))``."""

from importlib import import_module

from django.apps import apps
from django.urls import path

from .api.views import (
    accounts,
    api_keys,
    passwords,
    schema,
    sessions,
    social,
    trial_keys,
    verification,
)
from .providers import SUPPORTED

app_name = "ainative_auth"

urlpatterns = [
    path("auth/register", accounts.RegisterView.as_view(), name="register"),
    path("auth/login", accounts.LoginView.as_view(), name="login"),
    path("auth/refresh", sessions.RefreshView.as_view(), name="refresh"),
    path("auth/logout", sessions.LogoutView.as_view(), name="logout"),
    path("auth/logout-all", sessions.LogoutAllView.as_view(), name="logout-all"),
    path("auth/sessions", sessions.SessionListView.as_view(), name="sessions"),
    path("auth/sessions/<str:session_id>", sessions.SessionDetailView.as_view(),
         name="session-detail"),
    path("users/me", accounts.MeView.as_view(), name="me"),
    path("auth/me", accounts.AuthMeView.as_view(), name="auth-me"),
    path("auth/verify-email", verification.VerifyEmailView.as_view(), name="verify-email"),
    path("auth/resend-verification", verification.ResendVerificationView.as_view(),
         name="resend-verification"),
    path("auth/forgot-password", passwords.ForgotPasswordView.as_view(), name="forgot-password"),
    path("auth/reset-password", passwords.ResetPasswordView.as_view(), name="reset-password"),
    path("auth/change-password", passwords.ChangePasswordView.as_view(),
         name="change-password"),
    path("api-keys", api_keys.APIKeyListView.as_view(), name="api-keys"),
    path("api-keys/<str:key_id>", api_keys.APIKeyDetailView.as_view(),
         name="api-key-detail"),
    path("api-keys/<str:key_id>/rotate", api_keys.APIKeyRotateView.as_view(),
         name="api-key-rotate"),
    path("health", sessions.HealthView.as_view(), name="health"),
    # A trial key with no account (off unless TRIAL_KEYS_ENABLED), claimed later.
    path("public/instant-db", trial_keys.InstantDBView.as_view(), name="instant-db"),
    # The OpenAPI schema of the project's API (this app's endpoints and the project's own
    # DRF views), and the same in Swagger UI.
    path("schema", schema.SchemaView.as_view(), name="schema"),
    path("schema/docs", schema.SchemaDocsView.as_view(), name="schema-docs"),
    path("auth/providers", social.ProvidersView.as_view(), name="social-providers"),
    path("auth/social-accounts", social.SocialAccountListView.as_view(),
         name="social-accounts"),
    path("auth/social-accounts/<str:account_id>", social.SocialAccountDetailView.as_view(),
         name="social-account-detail"),
]

# One set of routes per provider (auth/github/callback, auth/linkedin/authorize, ...): a
# code posted to one provider's endpoint is only ever sent to that provider.
for _provider in SUPPORTED:
    urlpatterns += [
        path(f"auth/{_provider}/authorize",
             social.AuthorizeView.as_view(provider_id=_provider), name=f"{_provider}-authorize"),
        path(f"auth/{_provider}/callback",
             social.CallbackView.as_view(provider_id=_provider), name=f"{_provider}-callback"),
        path(f"auth/{_provider}/connect",
             social.ConnectView.as_view(provider_id=_provider), name=f"{_provider}-connect"),
    ]

# The optional sub-apps' endpoints join these when the project installs them (the core
# imports nothing of theirs: the module is found by name, only then).
if apps.is_installed("ainative_auth.mfa"):
    urlpatterns += import_module("ainative_auth.mfa.urls").urlpatterns
