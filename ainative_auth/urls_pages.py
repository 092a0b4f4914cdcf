"""The pages, mounted apart from the API (an API-only project simply leaves them out)::

    path("", include("ainative_auth.urls_pages")),     # /login, /dashboard, /logout, ...

Their paths are fixed relative to where they are included; set ``LOGIN_PATH`` (and
``RESET_PASSWORD_PATH`` / ``VERIFY_EMAIL_PATH``, when the mailed links should land on these
pages) to match if you include them under a prefix.
"""

from importlib import import_module

from django.apps import apps
from django.urls import path

from .web import account, claim, dashboard, login, social

app_name = "ainative_auth_pages"

urlpatterns = [
    path("login", login.login_page, name="login"),
    path("login/<slug:provider>", social.social_start, name="social-start"),
    path("login/<slug:provider>/callback", social.social_callback, name="social-callback"),
    path("logout", login.logout_page, name="logout"),
    path("forgot-password", account.forgot_password, name="forgot-password"),
    path("reset-password", account.reset_password, name="reset-password"),
    path("resend-verification", account.resend_verification, name="resend-verification"),
    path("verify-email", account.verify_email, name="verify-email"),
    path("dashboard", dashboard.dashboard, name="dashboard"),
    path("dashboard/keys", dashboard.create_key, name="create-key"),
    path("dashboard/keys/<str:key_id>/rotate", dashboard.rotate_key, name="rotate-key"),
    path("dashboard/keys/<str:key_id>/revoke", dashboard.revoke_key, name="revoke-key"),
    path("dashboard/sessions/<str:session_id>/revoke", dashboard.revoke_session,
         name="revoke-session"),
    # A trial key's claim link (services.trial_keys), and its "Claim key" button.
    path("claim/<str:token>", claim.claim_page, name="claim"),
    path("claim/<str:token>/accept", claim.claim_key, name="claim-key"),
]

# The MFA pages (the code step, step-up, passkeys, the dashboard's "Security" actions)
# when ``ainative_auth.mfa`` is installed.
# First: "login/mfa" and "login/passkey" would otherwise be taken for provider names.
if apps.is_installed("ainative_auth.mfa"):
    urlpatterns = import_module("ainative_auth.mfa.urls_pages").urlpatterns + urlpatterns
