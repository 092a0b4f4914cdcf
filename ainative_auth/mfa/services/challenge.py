"""The second factor when signing in (the gate and ``auth/mfa/challenge``) and for
step-up (``auth/mfa/step-up``), and the one check of a presented factor."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.crypto import constant_time_compare

from ... import clock
from ...client import NO_CLIENT, Client
from ...conf import auth_settings
from ...credentials import browser_session, throttling
from ...exceptions import (
    MFACodeInvalid,
    MFANotEnabled,
    MFARequired,
    MFATokenInvalid,
    PasskeyInvalid,
)
from ...models import RefreshSession
from ...services import sessions
from ...services.sessions import LoginResult, SignInAttempt
from ...signals import mfa_challenge_failed
from ...users import may_authenticate
from .. import pending, totp
from ..models import Passkey, RecoveryCode, TOTPDevice
from . import passkeys

# Wrong codes one mfa_token takes before it dies (the account's limits apply as well).
TOKEN_ATTEMPTS = 5


def user_has_mfa(user: Any) -> bool:
    """MFA is on: an authenticator app confirmed, or a passkey registered. (Recovery codes
    alone are no factor.)"""
    if user is None or getattr(user, "pk", None) is None:
        return False
    # One query however many kinds of factor: every sign-in asks this.
    confirmed_app = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False)
    passkey = Passkey.objects.filter(user=user)
    return confirmed_app.values("pk").union(passkey.values("pk")).exists()


def available_methods(user: Any) -> list[str]:
    """What ``user`` can present: "totp", "recovery_code", "webauthn"."""
    methods = []
    if TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
        methods.append("totp")
    if RecoveryCode.objects.filter(user=user, used_at__isnull=True).exists():
        methods.append("recovery_code")
    if Passkey.objects.filter(user=user).exists():
        methods.append("webauthn")
    return methods


def require_second_factor(attempt: SignInAttempt) -> None:
    """The sign-in gate: a first factor alone (a password, a provider) does not sign in a
    user with MFA on. No session row is made; the refusal carries a new ``mfa_token``
    (throttled per account, so a known password cannot mint them without bound)."""
    if attempt.factors or not user_has_mfa(attempt.user):
        return
    throttling.hit("mfa", "token", str(attempt.user.pk))
    token = pending.issue(attempt.user, attempt.method, browser=attempt.browser is not None)
    raise MFARequired(token, available_methods(attempt.user))


def _lockout_rate() -> throttling.Rate | None:
    text = auth_settings.MFA_LOCKOUT_RATE
    return throttling.Rate.parse(text) if text else None


def _use_totp(user: Any, code: Any) -> bool:
    device = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        return False
    step = totp.matching_step(device.secret, code, clock.time())
    if step is None:
        return False
    # The code's step must be later than the last one accepted: one conditional UPDATE,
    # so of two requests with one code (or two codes of one step) exactly one succeeds.
    return bool(TOTPDevice.objects.filter(pk=device.pk, last_used_step__lt=step)
                .update(last_used_step=step, last_used_at=clock.now()))


def _use_recovery_code(user: Any, code: Any) -> bool:
    candidates = totp.recovery_code_candidates(user.pk, code)
    if not candidates:
        return False
    row = (RecoveryCode.objects.filter(user=user, code_hash__in=candidates,
                                       used_at__isnull=True).first())
    return row is not None and bool(
        RecoveryCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=clock.now())
    )


def _check_factor(user: Any, code: Any, credential: Any) -> list[str]:
    if credential is not None:
        passkeys.verify_user_assertion(user, credential)
        return ["hwk"]
    if _use_totp(user, code):
        return ["otp"]
    if _use_recovery_code(user, code):
        return ["rec"]
    raise MFACodeInvalid()


def verify_second_factor(
    user: Any, *, code: Any = None, credential: Any = None, purpose: str,
    client: Client = NO_CLIENT,
) -> list[str]:
    """Check a second factor ``user`` presents: a ``code`` (a TOTP, or an unused recovery
    code, which is spent) or a passkey assertion (``credential``). Returns the ``amr``
    values proven (["otp"], ["rec"] or ["hwk"]).

    Throttled per IP (``mfa``) and per account (``mfa`` and the ``MFA_LOCKOUT_RATE``
    ceiling), counted before the check: the account here is one whose first factor (an
    mfa_token) or session was already proven, never a name anyone can send. A success
    clears the account's counters, so the owner is never locked out for good. A refusal
    is ``MFACodeInvalid`` (or ``PasskeyInvalid``) and sends ``mfa_challenge_failed``.
    """
    throttling.hit("mfa", "ip", client.ip_address)
    key = str(user.pk)
    throttling.hit("mfa", "user", key)
    throttling.hit("mfa", "lockout", key, _lockout_rate())
    try:
        amr = _check_factor(user, code, credential)
    except (MFACodeInvalid, PasskeyInvalid):
        mfa_challenge_failed.send(sender=user.__class__, user=user, purpose=purpose,
                                  ip_address=client.ip_address)
        raise
    throttling.reset("mfa", "user", key)
    throttling.reset("mfa", "lockout", key, _lockout_rate())
    return amr


def complete_challenge(
    token: Any, *, code: Any = None, credential: Any = None, client: Client = NO_CLIENT,
    browser: Any = None,
) -> LoginResult:
    """POST auth/mfa/challenge (and the login page's code step, ``browser``): the second
    factor for a sign-in the gate stopped, then the session through the one door
    (``sessions.sign_in`` with the would-be method and the factor proven).

    The token must be live and issued for this kind of client (a browser's stays in its
    Django session, an API client's in its hands); the account must still be allowed in
    and its password unchanged since. It is spent by the success (one atomic delete: two
    concurrent right answers sign in once), or after ``TOKEN_ATTEMPTS`` wrong codes.
    A browser's token is the one its Django session holds (``token`` is ignored then).
    """
    if browser is not None:
        token = browser_session.pending_factor_token(browser)
    found = pending.peek(token)
    if found is None or found.browser != (browser is not None):
        if browser is not None:
            browser_session.forget_pending_factor(browser)
        raise MFATokenInvalid()
    user = get_user_model()._default_manager.filter(pk=found.user_id).first()
    if (user is None or not may_authenticate(user)
            or not constant_time_compare(user.get_session_auth_hash(), found.auth_hash)):
        pending.consume(token)
        raise MFATokenInvalid()
    try:
        amr = verify_second_factor(user, code=code, credential=credential,
                                   purpose="challenge", client=client)
    except (MFACodeInvalid, PasskeyInvalid):
        rate = throttling.Rate(TOKEN_ATTEMPTS - 1, pending.TOKEN_LIFETIME)
        if not throttling.allow("mfa", "token_failures", pending.digest(token), rate):
            pending.consume(token)
        raise
    if not pending.consume(token):
        raise MFATokenInvalid()
    return sessions.sign_in(user, client, method=found.method, browser=browser, factors=amr)


def step_up_session(
    user: Any, session: RefreshSession, *, code: Any = None, credential: Any = None,
    client: Client = NO_CLIENT,
) -> RefreshSession:
    """The pages' step-up: ``session`` (this browser's) proves a second factor now
    (``sessions.record_second_factor``)."""
    if not user_has_mfa(user):
        raise MFANotEnabled()
    amr = verify_second_factor(user, code=code, credential=credential, purpose="step_up",
                               client=client)
    return sessions.record_second_factor(session, amr, request=client.request)


def step_up(
    user: Any, session: RefreshSession, *, code: Any = None, credential: Any = None,
    client: Client = NO_CLIENT,
) -> dict[str, Any]:
    """POST auth/mfa/step-up: ``step_up_session``, then the token response of the session
    (its access token's ``amr`` and ``auth_time`` show the new factor; the refresh token
    stays the session's current one)."""
    fresh = step_up_session(user, session, code=code, credential=credential, client=client)
    return sessions.issue_tokens(user, fresh)
