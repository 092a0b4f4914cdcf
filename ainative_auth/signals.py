"""Signals of ainative_auth. Django's own ``user_logged_in``, ``user_logged_out`` and
``user_login_failed`` are sent too, by the login and logout flows.
"""

from django.dispatch import Signal

# A user registered. Arguments: user, request (may be None).
user_registered = Signal()

# A session ended. Arguments: session, reason ("logout", "logout_all", "revoked",
# "reuse_detected", "password_changed", "password_reset").
session_revoked = Signal()

# A rotated refresh token was presented again outside the grace window; the session is
# revoked. Arguments: session, ip_address. Hook alerts here.
refresh_token_reused = Signal()
