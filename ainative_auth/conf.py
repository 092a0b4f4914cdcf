"""The ``AINATIVE_AUTH`` settings dict, read at use time.

Nothing here is cached: ``auth_settings.X`` looks at ``django.conf.settings`` on every
access, so ``override_settings`` and pytest-django's ``settings`` fixture just work.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

# Every key, with its default. The README lists them all; `checks` flags unknown keys.
DEFAULTS: dict[str, Any] = {
    # Access-token (JWT) lifetime in seconds.
    "ACCESS_TOKEN_LIFETIME": 30 * 60,
    # Refresh-token idle lifetime in seconds: a session unused this long is dead.
    "REFRESH_TOKEN_LIFETIME": 7 * 24 * 3600,
    # Absolute session lifetime in seconds, never extended by refreshing.
    "SESSION_ABSOLUTE_LIFETIME": 30 * 24 * 3600,
    # Seconds during which a just-rotated refresh token returns the same successor.
    "REFRESH_REUSE_INTERVAL": 10,
    # HMAC key for JWTs and refresh tokens; None derives a dedicated key from SECRET_KEY.
    "SIGNING_KEY": None,
    # Retired signing keys still accepted when verifying (rotate SIGNING_KEY without
    # logging everyone out); used only when SIGNING_KEY is set, else SECRET_KEY_FALLBACKS.
    "SIGNING_KEY_FALLBACKS": [],
    # JWT algorithm; only HMAC algorithms with SIGNING_KEY are supported.
    "JWT_ALGORITHM": "HS256",
    # `iss` claim written and required on access tokens.
    "JWT_ISSUER": "ainative-auth",
    # `aud` claim written and required on access tokens.
    "JWT_AUDIENCE": "ainative-api",
    # Clock-skew leeway in seconds when checking `exp`/`iat`/`nbf`.
    "JWT_LEEWAY": 30,
    # Longest accepted password, in characters, checked before hashing.
    "PASSWORD_MAX_LENGTH": 1024,
    # Longest accepted `name`.
    "NAME_MAX_LENGTH": 150,
    # Throttle rates per scope, "N/second|minute|hour|day"; None disables that scope.
    "THROTTLE_RATES": {
        "login": "10/minute",
        "register": "20/hour",
        "refresh": "60/minute",
        "forgot_password": "5/hour",
        "reset_password": "20/hour",
        "verify_email": "20/hour",
        "resend_verification": "5/hour",
        "change_password": "10/hour",
        "oauth": "30/minute",
        "api_key": "600/minute",
        # Second-factor codes and passkey assertions (sign-in challenge, step-up, setup
        # verification, disable): per IP for every attempt, per account for failures.
        "mfa": "10/minute",
        "device": "10/minute",
        "trial_key": "5/hour",
    },
    # Ceiling on consecutive failed logins per account (a success or a password reset
    # clears it), on top of the `login` rate; None disables it. NIST 800-63B: at most 100.
    "LOGIN_LOCKOUT_RATE": "100/day",
    # Most "someone tried to register with your address" notices one address receives
    # (registering an existing address is otherwise a way to mail its owner at will);
    # None disables the limit.
    "ACCOUNT_EXISTS_NOTICE_RATE": "3/day",
    # Number of trusted reverse proxies in front of Django (0 = use REMOTE_ADDR only).
    "TRUSTED_PROXY_COUNT": 0,
    # Cache alias used for throttle counters.
    "THROTTLE_CACHE": "default",
    # Per-IP limits count a client's IPv6 /64 (this many leading bits) as one client: one
    # host usually holds a whole /64, so counting exact addresses would give it 2**64 budgets.
    "THROTTLE_IPV6_PREFIX": 64,
    # Per-IP limits count a client's IPv4 address masked to this many bits (32 = per address).
    "THROTTLE_IPV4_PREFIX": 32,
    # Dotted path of the adapter class (project policy hooks).
    "ADAPTER": "ainative_auth.adapter.DefaultAdapter",
    # Whether users with an unverified email may log in.
    "ALLOW_UNVERIFIED_LOGIN": True,
    # Whether users with an unverified email may create API keys and connect social
    # accounts themselves (the admin and `mint_api_key` always may).
    "UNVERIFIED_MAY_ADD_CREDENTIALS": False,
    # Base URL of the frontend; email links are built from it, never from the Host header.
    "FRONTEND_URL": "http://localhost:3000",
    # Path template of the email-verification link.
    "VERIFY_EMAIL_PATH": "/verify-email?token={token}",
    # Path template of the password-reset link.
    "RESET_PASSWORD_PATH": "/reset-password?token={token}",
    # Seconds an email-verification token stays valid.
    "VERIFY_EMAIL_TOKEN_LIFETIME": 24 * 3600,
    # Seconds a password-reset token stays valid.
    "RESET_PASSWORD_TOKEN_LIFETIME": 3600,
    # Send mail from a per-process background thread (after commit, with retries), so SMTP
    # latency and outages never show in responses; False sends inline after commit.
    "SEND_MAIL_IN_BACKGROUND": True,
    # Scopes given to an API key created without scopes.
    "API_KEY_DEFAULT_SCOPES": ["*"],
    # Most live (not revoked, not expired) API keys one user may hold.
    "API_KEY_MAX_PER_USER": 100,
    # Seconds an old secret keeps working after a rotation.
    "API_KEY_ROTATION_OVERLAP": 0,
    # Minimum seconds between two `last_used_at` writes of one key.
    "API_KEY_LAST_USED_INTERVAL": 60,
    # Seconds a signed request's X-Timestamp (v1) or `created` (v2) may be away from the
    # server's clock, either way; v2 nonces are remembered for twice as long.
    "SIGNATURE_MAX_AGE": 300,
    # Whether v1 signatures (X-Signature) are accepted at all; False: 401
    # signature_required for every v1-signed request (sign with RFC 9421 instead).
    "SIGNATURE_V1_ENABLED": True,
    # Whether a key with require_signature may write (POST, PUT, PATCH, DELETE) with a v1
    # signature, which signs no method, path or body; never on key management.
    "SIGNATURE_V1_ALLOW_WRITES": False,
    # The public origin (scheme://host[:port]): protected resources' identifiers, their
    # metadata URLs in 401/403 challenges, the OAuth issuer, the WebAuthn relying party
    # (its host is the RP ID) and every absolute URL the app prints derive from it, never
    # from the Host header. None: challenges carry no resource_metadata, no metadata is
    # served, passkeys are off.
    "SITE_URL": None,
    # Issuers named by the protected-resource metadata; None: ours (SITE_URL) when the
    # app's OAuth authorization server is installed, else none.
    "AUTHORIZATION_SERVERS": None,
    # The human-readable `resource_name` of the API's protected-resource metadata.
    "RESOURCE_NAME": "API",
    # Allowed OAuth redirect URIs (exact match): a list for every provider, or a dict of
    # lists by provider id ("github", "linkedin").
    "OAUTH_REDIRECT_URIS": [],
    # Seconds an OAuth `state` from the authorize endpoint stays valid.
    "OAUTH_STATE_LIFETIME": 600,
    # Whether OAuth callbacks must present a `state` issued by the authorize endpoint.
    "OAUTH_REQUIRE_STATE": False,
    # Timeout in seconds for each call to a social provider (connect, read, whole body).
    "OAUTH_TIMEOUT": 5,
    # Path prefixes AuthRequiredMiddleware guards (segment-wise: "/dashboard" covers
    # "/dashboard/keys", not "/dashboardx"); the longest matching entry of this list and
    # PUBLIC_PATHS decides, and PROTECTED wins a tie. An entry ("/path", ["scope", ...])
    # admits API keys holding all those scopes; a plain "/path" only keys with "*".
    "PROTECTED_PATHS": [],
    # Path prefixes carved out of PROTECTED_PATHS (e.g. "/" protected, "/static" public).
    "PUBLIC_PATHS": [],
    # Where a browser without credentials is sent (with ?next=<path>); never protected.
    "LOGIN_PATH": "/login",
    # The product's name on the pages (header, login card, page titles).
    "SITE_NAME": "Account",
    # The pages' logo: a static file path ("myapp/logo.svg") or a URL on this site or on
    # STATIC_URL's origin; None shows the first letter of SITE_NAME instead.
    "SITE_LOGO": None,
    # Seconds a session's last second factor counts as fresh: for a user with MFA on,
    # creating or rotating API keys, changing the password and changing factors need one
    # proven this recently (403 step_up_required otherwise; POST auth/mfa/step-up).
    "STEP_UP_MAX_AGE": 600,
    # Ceiling on failed second-factor codes per account (a success clears it), on top of
    # the `mfa` rate; a window, never a permanent lockout. None disables it. NIST 800-63B:
    # at most 100 consecutive failures.
    "MFA_LOCKOUT_RATE": "100/day",
    # Cache alias for pending MFA sign-ins (mfa_token) and WebAuthn challenges, both
    # single use; shared by all processes in production.
    "MFA_CACHE": "default",
    # Cache alias for OAuth state (with its PKCE verifier and nonce), used codes, and the
    # providers' discovery documents and keys; shared by all processes in production.
    "OAUTH_CACHE": "default",
    # OAuth server (ainative_auth.oauth_server): scope -> what the consent page says of it.
    "OAUTH_SERVER_SCOPES": {"profile": "See your name and email address"},
    # OAuth server: protected resources, path under SITE_URL -> the scopes it accepts (None:
    # every scope); the first is the audience of a token requested without `resource`.
    "OAUTH_SERVER_RESOURCES": {"/api/v1": None},
    # OAuth server: open dynamic client registration (RFC 7591) for public clients whose
    # redirect URIs are all loopback (http://127.0.0.1, http://[::1]) or app schemes.
    "OAUTH_SERVER_DYNAMIC_REGISTRATION": False,
    # OAuth server: seconds a Client ID Metadata Document fetch may take, all of it.
    "OAUTH_SERVER_CIMD_TIMEOUT": 3,
    # OAuth server: largest Client ID Metadata Document accepted, in bytes.
    "OAUTH_SERVER_CIMD_MAX_SIZE": 5 * 1024,
    # OAuth server: fetch metadata documents from private and loopback addresses (tests only).
    "OAUTH_SERVER_CIMD_ALLOW_PRIVATE_ADDRESSES": False,
    # OAuth server: scopes the built-in public client `ainative-cli` may ask for in the
    # device grant (None: every scope of OAUTH_SERVER_SCOPES); "*" lets it mint full keys.
    "OAUTH_SERVER_CLI_SCOPES": None,
    # Device grant: seconds a device code (and its user code) stays valid.
    "DEVICE_CODE_LIFETIME": 600,
    # Device grant: seconds a device must wait between two polls (`slow_down` adds 5).
    "DEVICE_POLL_INTERVAL": 5,
    # Device grant: seconds an API key made by `credential=api_key` lives; None: no expiry.
    "DEVICE_KEY_LIFETIME": 90 * 24 * 3600,
    # Trial keys: serve POST public/instant-db (a key with no account, claimed later).
    "TRIAL_KEYS_ENABLED": False,
    # Trial keys: the scopes a trial key gets until it is claimed.
    "TRIAL_KEY_SCOPES": [],
    # Trial keys: seconds an unclaimed trial key (and its claim link) lives.
    "TRIAL_KEY_LIFETIME": 72 * 3600,
    # Trial keys: most trial keys issued in all, per period, whoever asks ("N/hour");
    # None: no global cap (the per-IP `trial_key` rate still applies).
    "TRIAL_KEY_GLOBAL_RATE": "100/hour",
}


class AuthSettings:
    """Attribute access to ``settings.AINATIVE_AUTH`` merged over ``DEFAULTS``."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown ainative_auth setting {name!r}")
        user = getattr(settings, "AINATIVE_AUTH", None) or {}
        if name == "THROTTLE_RATES":
            # Merge per scope so a project can change one rate without restating the rest.
            return {**DEFAULTS[name], **user.get(name, {})}
        return user.get(name, DEFAULTS[name])

    def throttle_rate(self, scope: str) -> str | None:
        """``THROTTLE_RATES[scope]`` without building the merged dict (the per-key rate is
        read on every API-key request)."""
        user = getattr(settings, "AINATIVE_AUTH", None) or {}
        rates = user.get("THROTTLE_RATES") or {}
        if scope in rates:
            return rates[scope]  # type: ignore[no-any-return]
        return DEFAULTS["THROTTLE_RATES"].get(scope)  # type: ignore[no-any-return]

    def values(self, *names: str) -> tuple[Any, ...]:
        """Several settings at once, read at use time like one attribute each, for the
        hot paths (one look at ``settings.AINATIVE_AUTH`` instead of one per name)."""
        user = getattr(settings, "AINATIVE_AUTH", None) or {}
        return tuple(user.get(name, DEFAULTS[name]) for name in names)


auth_settings = AuthSettings()
