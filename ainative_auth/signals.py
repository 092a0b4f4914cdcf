"""Signals of ainative_auth. Django's own ``user_logged_in``, ``user_logged_out`` and
``user_login_failed`` are sent too, by the login and logout flows.
"""

from django.dispatch import Signal

# A user registered. Arguments: user, request (may be None).
user_registered = Signal()

# A session ended. Arguments: session, reason ("logout", "logout_all", "revoked",
# "reuse_detected", "password_changed", "password_reset", "deactivated", "account_claimed",
# "email_changed", "mfa_reset").
session_revoked = Signal()

# A rotated refresh token was presented again outside the grace window; the session is
# revoked. Arguments: session, ip_address. Hook alerts here.
refresh_token_reused = Signal()

# A user's address was verified (sent after commit, once per address). Arguments: user,
# email, request (may be None).
email_verified = Signal()

# A user's password was changed (sent after commit). Arguments: user, reason ("reset" or
# "change"), request (may be None).
password_changed = Signal()

# An API key was created (REST, admin or `ainative_mint_api_key`). Arguments: api_key, created_by
# (the APIKey that created it over the API, or None).
api_key_created = Signal()

# An API key was revoked. Arguments: api_key.
api_key_revoked = Signal()

# An API key got a new secret. Arguments: api_key, overlap (seconds the old one still works).
api_key_rotated = Signal()

# A social identity (allauth SocialAccount) was attached to a user. Arguments: user,
# account, how ("signup": a new account; "link": an existing verified account; "claim": an
# unverified account taken over by a provider-verified email; "connect": by the user).
social_account_connected = Signal()

# A social identity was removed by its user. Arguments: user, account (already deleted).
social_account_disconnected = Signal()

# --- second factors (sent by ainative_auth.mfa when it is installed) ----------------------

# A second factor was added and is active. Arguments: user, factor_type ("totp",
# "webauthn" or "recovery_codes"), factor (the TOTPDevice or Passkey; None for recovery
# codes), request (may be None).
mfa_factor_added = Signal()

# A second factor was removed. Arguments: user, factor_type ("totp", "webauthn",
# "recovery_codes"), reason ("removed", "disabled", "reset"), request (may be None).
mfa_factor_removed = Signal()

# A second factor was presented and refused (sign-in challenge, step-up, disable, setup
# verification). Arguments: user, purpose ("challenge", "step_up", "disable", "setup",
# "passkey"), ip_address. Hook alerts here.
mfa_challenge_failed = Signal()

# A session proved a second factor again (POST auth/mfa/step-up, the pages' prompt).
# Arguments: user, session, factors (the amr values proven, e.g. ["otp"]), request.
step_up_completed = Signal()
