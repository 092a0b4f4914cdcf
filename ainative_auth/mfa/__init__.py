"""Multi-factor authentication: TOTP with recovery codes, and passkeys (WebAuthn).

An optional sub-app: add ``"ainative_auth.mfa"`` to ``INSTALLED_APPS`` (after
``ainative_auth``) and install the ``mfa`` extra (``django-ainative-auth[mfa]``). It plugs
into the core's two extension points in its ``AppConfig.ready`` (the sign-in gate and the
step-up check of ``ainative_auth.services.sessions``) and its routes join the app's own
(``ainative_auth.urls`` and ``ainative_auth.urls_pages`` include them when it is
installed). The core imports nothing from here.
"""
