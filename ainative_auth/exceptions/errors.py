"""The error classes: each is an HTTP status, a stable ``error_code`` and a sentence. A new
reason is a new subclass, so the errors page's catalogue (read from these classes) cannot
miss one."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework import exceptions, status


class APIError(exceptions.APIException):
    """Base of our errors: an HTTP status, a stable ``error_code`` and a sentence."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    error_code = "bad_request"
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None) -> None:
        # The code is the class's: a new reason is a new subclass, so the errors page's
        # catalogue (read from the classes) cannot miss one.
        super().__init__(detail or self.default_detail)


class EmailTokenInvalid(APIError):
    """A verification or reset token that is garbage, tampered, expired or already used:
    one 400 body for all, so the answer tells a prober nothing. (A 400, not a 401: the
    client's session is not in question.)"""

    error_code = "token_invalid"
    default_detail = "The link is invalid or has expired. Request a new one."


class InvalidCurrentPassword(APIError):
    """Change-password with a wrong ``current_password``: a 400, because a 401 would make
    most SPAs drop a session that is still perfectly valid."""

    error_code = "invalid_current_password"
    default_detail = "The current password is not correct."


class InvalidInput(APIError):
    """A body that fails a rule checked outside a serializer (the password policy, say):
    400 ``validation_error`` with ``errors``, exactly like a serializer's failure.

    ``errors`` is a list of ``(field, code, message)``; ``field`` may be None."""

    error_code = "validation_error"

    def __init__(self, errors: list[tuple[str | None, str, str]]) -> None:
        self.errors = [
            {"field": field, "code": code, "message": message} for field, code, message in errors
        ]
        first = self.errors[0] if self.errors else {"field": None, "message": "Invalid input."}
        named = first["field"]
        super().__init__(f"{named}: {first['message']}" if named else first["message"])


class Unauthorized(APIError):
    status_code = status.HTTP_401_UNAUTHORIZED
    error_code = "not_authenticated"
    default_detail = "Authentication credentials were not provided or are not valid."
    # The RFC 6750 ``error`` of the 401's challenge: "invalid_token" for a bearer
    # credential (access token, API key, signature) that was sent and refused; None for
    # "no credential", and for the grant endpoints' own failures (a password, a refresh
    # token or a provider's ID token is not the request's bearer credential).
    bearer_error: str | None = None


class InvalidCredentials(Unauthorized):
    error_code = "invalid_credentials"
    default_detail = "Invalid email or password."


class TokenInvalid(Unauthorized):
    error_code = "token_invalid"
    default_detail = "The token is invalid or expired."
    bearer_error = "invalid_token"


class RefreshTokenInvalid(Unauthorized):
    error_code = "refresh_token_invalid"
    default_detail = "The refresh token is invalid, expired or revoked."


class RefreshTokenReused(Unauthorized):
    error_code = "refresh_token_reused"
    default_detail = "This refresh token was already used; the session has been revoked."


class APIKeyInvalid(Unauthorized):
    """Every bad ``X-API-Key`` (malformed, unknown, wrong secret, revoked, expired, inactive
    owner) gets this one body, so the answer tells a prober nothing."""

    error_code = "api_key_invalid"
    default_detail = "The API key is invalid, expired or revoked."
    bearer_error = "invalid_token"


class SignatureInvalid(APIKeyInvalid):
    """A signed API-key request whose signature fails (malformed, stale, replayed, not
    covering what it must, or simply wrong). A subclass of ``APIKeyInvalid``: counted with
    the failed keys per client IP, and caught wherever a bad key is."""

    error_code = "signature_invalid"
    default_detail = "The request signature is invalid."


class SignatureRequired(APIKeyInvalid):
    """A request whose signature is not enough for the key: unsigned with a key that has
    ``require_signature`` set, or signed with v1 where an RFC 9421 (v2) signature is
    needed (a write by such a key, or v1 turned off); the detail says which."""

    error_code = "signature_required"
    default_detail = "This API key only accepts signed requests."


class CredentialsInQuery(APIError):
    """A token or key in the URL's query string (``?access_token=``, ``?api_key=``, an
    ``ak_...`` value, a JWT): refused before anything else, because URLs end up in logs,
    browser histories and ``Referer`` headers (RFC 6750 section 2.3; RFC 9700). Send it
    in a header instead."""

    error_code = "credentials_in_query"
    default_detail = (
        "Credentials are never accepted in the URL: send the token or key in a header "
        "(Authorization: Bearer, or X-API-Key)."
    )


class Forbidden(APIError):
    status_code = status.HTTP_403_FORBIDDEN
    error_code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class InsufficientScope(Forbidden):
    """403 for an API key without what the request needs. ``scopes`` are *all* the scopes
    the request needs (not only the missing ones: a client steps up to the union, MCP
    SEP-2350); None or empty when no scope would do (an endpoint closed to API keys)."""

    error_code = "insufficient_scope"
    default_detail = "The API key does not have the scope this action needs."

    def __init__(self, detail: str | None = None, *,
                 scopes: Iterable[str] | None = None) -> None:
        super().__init__(detail)
        self.scopes = tuple(scopes) if scopes is not None else None


class SessionRequired(Forbidden):
    """An endpoint for a user session (a JWT access token) called with another credential
    (an API key, an OAuth token): logout and session management."""

    error_code = "session_required"
    default_detail = "This endpoint needs a user session (Bearer token)."


class SignupClosed(Forbidden):
    """The adapter's ``is_signup_allowed`` said no."""

    error_code = "signup_closed"
    default_detail = "Sign-up is closed."


class APIKeyLifetimeExceeded(Forbidden):
    """An expiring API key tried to create or manage a key that would outlive it."""

    error_code = "api_key_lifetime_exceeded"
    default_detail = "An API key cannot create or manage a key that outlives it."


class SignatureDowngrade(Forbidden):
    """A key that must sign tried to create or manage a key that need not."""

    error_code = "signature_downgrade"
    default_detail = ("An API key that requires signatures cannot create or manage a key "
                      "that does not.")


class EmailNotVerified(Forbidden):
    """The account's address is not verified and the action needs it: logging in with
    ``ALLOW_UNVERIFIED_LOGIN`` off, ``HasVerifiedEmail`` views, and adding a credential
    (an API key, a connected identity) unless ``UNVERIFIED_MAY_ADD_CREDENTIALS``."""

    error_code = "email_not_verified"
    default_detail = "Verify your email address first."


# --- second factors ------------------------------------------------------------------------


class MFARequired(Forbidden):
    """A sign-in proved the first factor of a user with MFA on: no session was started.
    The body carries ``mfa_token`` (single use, 5 minutes; ``POST auth/mfa/challenge``)
    and ``methods`` (the second factors this user can present)."""

    error_code = "mfa_required"
    default_detail = "A second factor is required to complete this sign-in."

    def __init__(self, mfa_token: str, methods: list[str]) -> None:
        super().__init__()
        self.mfa_token = mfa_token
        self.methods = list(methods)
        self.extra_body = {"mfa_token": mfa_token, "methods": self.methods}


class StepUpRequired(Forbidden):
    """The action needs a second factor proven within ``STEP_UP_MAX_AGE`` in this session
    (``POST auth/mfa/step-up``)."""

    error_code = "step_up_required"
    default_detail = "Confirm with your second factor first."


class MFACodeInvalid(APIError):
    """A second-factor code that is malformed, wrong, already used, or a recovery code
    that is unknown or spent: one 400 for all."""

    error_code = "mfa_code_invalid"
    default_detail = "The authentication code is not valid."


class MFATokenInvalid(Unauthorized):
    """An ``mfa_token`` that is malformed, unknown, expired, already used, or issued for
    another kind of client: one 401 for all. Sign in again."""

    error_code = "mfa_token_invalid"
    default_detail = "This sign-in has expired or was already completed. Sign in again."


class PasskeyInvalid(APIError):
    """A WebAuthn credential that does not verify: garbage, a wrong origin or RP ID, an
    unknown, used or expired challenge, no user verification, an unknown or another
    user's credential, a sign counter that went backwards. One 400 for all."""

    error_code = "passkey_invalid"
    default_detail = "The passkey could not be verified. Try again."


class Conflict(APIError):
    status_code = status.HTTP_409_CONFLICT
    error_code = "conflict"
    default_detail = "The request conflicts with the current state."


class APIKeyRevoked(Conflict):
    """Rotating or editing a revoked key."""

    error_code = "api_key_revoked"
    default_detail = "This API key is revoked."


class APIKeyExpired(Conflict):
    """Rotating an expired key."""

    error_code = "api_key_expired"
    default_detail = "This API key has expired."


class EmailTaken(Conflict):
    error_code = "email_taken"
    default_detail = "An account with this email already exists."


class MFAAlreadyEnabled(Conflict):
    error_code = "mfa_already_enabled"
    default_detail = "An authenticator app is already set up. Disable it first."


class MFANotEnabled(Conflict):
    error_code = "mfa_not_enabled"
    default_detail = "Multi-factor authentication is not on for this account."


class MFASetupRequired(Conflict):
    error_code = "mfa_setup_required"
    default_detail = "Start the authenticator app setup first (POST auth/mfa/setup)."


class APIKeyLimitReached(Conflict):
    error_code = "api_key_limit_reached"
    default_detail = "This account already has the maximum number of API keys."


class NotFound(APIError):
    status_code = status.HTTP_404_NOT_FOUND
    error_code = "not_found"
    default_detail = "Not found."


class PasskeysNotConfigured(NotFound):
    """Passkeys need ``SITE_URL`` (an https origin, or http://localhost) to name the
    relying party."""

    error_code = "passkeys_not_configured"
    default_detail = "Passkeys are not configured on this site."


# --- social login -------------------------------------------------------------------------


class ProviderNotConfigured(NotFound):
    error_code = "provider_not_configured"
    default_detail = "This login provider is not configured."


class InvalidRedirectURI(APIError):
    """A ``redirect_uri`` that is not exactly one of ``OAUTH_REDIRECT_URIS``: refused before
    anything is sent to the provider."""

    error_code = "invalid_redirect_uri"
    default_detail = "This redirect_uri is not allowed."


class InvalidState(APIError):
    """A ``state`` that is missing (when required), unknown, expired, already used, or issued
    for another provider, redirect_uri or user: one 400 for all."""

    error_code = "invalid_state"
    default_detail = "The state is invalid or has expired. Start the login again."


class InvalidCode(APIError):
    """The provider rejected the authorization code, or it was already used here."""

    error_code = "invalid_code"
    default_detail = "The authorization code is invalid, expired or already used."


class InvalidIDToken(Unauthorized):
    """The provider's ID token failed validation (signature, issuer, audience, expiry,
    nonce): a 401, as for any credential that does not verify."""

    error_code = "invalid_id_token"
    default_detail = "The provider's ID token could not be validated."


class ProviderEmailMissing(APIError):
    error_code = "provider_email_missing"
    default_detail = (
        "The provider did not share an email address this service can use. Add one at the "
        "provider, or sign up with email and password."
    )


class ProviderUnavailable(APIError):
    """The provider was unreachable, too slow, or answered with something unusable."""

    status_code = status.HTTP_502_BAD_GATEWAY
    error_code = "provider_unavailable"
    default_detail = "The login provider is unavailable. Try again shortly."


class AccountExists(Conflict):
    error_code = "account_exists"
    default_detail = (
        "An account with this email already exists. Log in with it, then connect this "
        "provider from your account."
    )


class SocialAccountTaken(Conflict):
    error_code = "social_account_taken"
    default_detail = "This provider account is already connected to another user."


class LastLoginMethod(Conflict):
    error_code = "last_login_method"
    default_detail = (
        "This is your only way to log in. Set a password or connect another provider first."
    )


class RequestTimeout(APIError):
    """The server stopped waiting for the rest of the body (the example project's gunicorn
    worker sets a read deadline; any server that times out a read gives the same)."""

    status_code = status.HTTP_408_REQUEST_TIMEOUT
    error_code = "request_timeout"
    default_detail = "The request body was not received in time."


class LengthRequired(APIError):
    """A body sent with ``Transfer-Encoding`` (chunked): Django reads request bodies by
    ``Content-Length`` only and would see an empty one, so it is refused, not misread."""

    status_code = status.HTTP_411_LENGTH_REQUIRED
    error_code = "length_required"
    default_detail = "Send the request body with a Content-Length, not chunked."


# --- device grant and trial keys ----------------------------------------------------------


class UserCodeInvalid(APIError):
    """A device's user code (typed on ``/device``) that is unknown, expired, already
    decided, or an approval form made for someone else: one answer for all."""

    error_code = "user_code_invalid"
    default_detail = "This code is not valid: check it, or start again on your device."


class TermsNotAccepted(APIError):
    """``POST public/instant-db`` without ``"agree_terms": true``: nothing is issued."""

    error_code = "terms_not_accepted"
    default_detail = "Set agree_terms to true to accept the terms of service."


class ClaimLinkInvalid(NotFound):
    """A trial key's claim link that is unknown, expired or already used (by anyone):
    one answer for all."""

    error_code = "claim_link_invalid"
    default_detail = "This claim link is not valid: it is unknown, expired or already used."


class ServiceUnavailable(APIError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    error_code = "service_unavailable"
    default_detail = "The service is temporarily unavailable. Try again shortly."
