"""Social login (GitHub, LinkedIn): the providers list, the authorize step, the code
callback, and the connected accounts. One function per endpoint.

The providers are behind ``social_providers`` (the only module that knows allauth's
provider internals), the state, PKCE and used-code bookkeeping behind ``oauth``. An
identity is allauth's ``SocialAccount`` (provider, uid), unique per provider.

Account rules for a callback, in order:

1. a known (provider, uid) logs its user in (an inactive user gets login's 401);
2. a new identity needs an email the provider gave us (else 400 ``provider_email_missing``);
3. when that email is a local account's, it is linked only if the provider verified it:
   - the local address verified too: link, log in;
   - the local address unverified: the social login claims the account (its password made
     unusable, its sessions and API keys revoked, identities connected to it removed, the
     address marked verified), so whoever pre-registered the address keeps nothing;
   - an email the provider did not verify never links: 409 ``account_exists``;
4. otherwise a new account (``accounts.create_account``, no usable password), verified if the
   provider verified the email, and sent a verification link if not.

Concurrent callbacks for one identity end with one user and one link: the state and code
are single use (cache), and the unique (provider, uid) and email indexes decide any race
that gets past them; the loser looks again and logs in to what the winner made.
"""

from __future__ import annotations

import hmac
import logging
import unicodedata
from typing import Any

from allauth.socialaccount.models import SocialAccount
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from .. import clock, providers
from ..client import NO_CLIENT, Client
from ..conf import auth_settings
from ..credentials import oauth_state, throttling
from ..exceptions import (
    AccountExists,
    EmailTaken,
    InvalidCredentials,
    InvalidInput,
    LastLoginMethod,
    NotFound,
    ProviderEmailMissing,
    SocialAccountTaken,
)
from ..models import APIKey, RefreshSession
from ..providers import Identity
from ..signals import social_account_connected, social_account_disconnected
from ..users import (
    InvalidEmail,
    address_verified,
    canonical_email,
    email_of,
    email_taken,
    find_user_by_email,
    lock_user,
    may_authenticate,
    save_password,
)
from . import api_keys, sessions
from .accounts import create_account, ensure_may_sign_in
from .sessions import LoginResult
from .verification import (
    check_may_add_credentials,
    lock_for_new_credential,
    mark_email_verified,
    send_verification_email,
)

logger = logging.getLogger("ainative_auth")


class _Raced(Exception):
    """Another request created this identity or address first: look again."""


def list_providers(client: Client = NO_CLIENT) -> list[dict[str, str]]:
    """GET auth/providers: the configured providers, ``[{"id", "name"}]``."""
    return [{"id": p.id, "name": p.name}
            for p in providers.configured_providers(client.request)]


def start_authorization(
    provider_id: str, *, redirect_uri: str, user: Any = None, client: Client = NO_CLIENT
) -> dict[str, str]:
    """GET auth/{provider}/authorize: a new state (with a PKCE verifier, and a nonce for
    OpenID Connect, kept server-side) and the provider URL to send the user to.

    ``user`` (the caller's session user, if it sent a Bearer token) binds the state to
    that user: only such a state can connect a provider to an account.
    """
    throttling.hit("oauth", "ip", client.ip_address)
    provider = providers.get_provider(provider_id, client.request)
    oauth_state.check_redirect_uri(provider.id, redirect_uri)
    state, started = oauth_state.new_transaction(
        provider.id, redirect_uri, with_nonce=provider.is_oidc,
        user_id=None if user is None else user.pk,
    )
    url = providers.authorization_url(
        provider, redirect_uri=redirect_uri, state=state,
        code_challenge=oauth_state.code_challenge(started.code_verifier), nonce=started.nonce,
    )
    return {"authorization_url": url, "state": state}


def _identity(
    provider_id: str, *, code: str, redirect_uri: str, state: str | None,
    code_verifier: str | None, client: Client, user: Any = None,
) -> Identity:
    """Everything before the account rules, in the order that keeps bad input away from
    the provider: the provider is configured, the redirect_uri is allowed, the state is
    valid and consumed, the code was not used here before; only then the exchange."""
    provider = providers.get_provider(provider_id, client.request)
    oauth_state.check_redirect_uri(provider.id, redirect_uri)
    # A connect always needs a state its user started (R66): otherwise a page could make
    # a logged-in browser attach the attacker's provider account to the victim's.
    require = user is not None or bool(auth_settings.OAUTH_REQUIRE_STATE)
    started = oauth_state.take_transaction(
        state, provider.id, redirect_uri,
        user_id=None if user is None else user.pk, require=require,
    )
    if started is not None:
        if code_verifier is not None and not hmac.compare_digest(
            code_verifier.encode(), started.code_verifier.encode()
        ):
            raise InvalidInput([("code_verifier", "mismatch",
                                 "Does not match the state's PKCE verifier; omit it.")])
        code_verifier = started.code_verifier
    oauth_state.claim_code(provider.id, code)
    identity = providers.fetch_identity(
        provider, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier,
        nonce=None if started is None else started.nonce,
    )
    # Counted only now, on an identity the provider vouched for: nobody can run down
    # someone else's budget by naming them.
    throttling.hit("oauth", "identity", f"{identity.provider}:{identity.uid}")
    return identity


def _linked(identity: Identity) -> SocialAccount | None:
    return (SocialAccount.objects.select_related("user")
            .filter(provider=identity.provider, uid=identity.uid).first())


def _remember(account: SocialAccount, identity: Identity) -> None:
    """Refresh the stored profile of a returning identity (two columns only)."""
    SocialAccount.objects.filter(pk=account.pk).update(
        extra_data=identity.extra_data, last_login=clock.now()
    )


def _clean_name(name: str) -> str:
    """A display name fit for any user table: no control characters (PostgreSQL refuses
    NUL), at most ``NAME_MAX_LENGTH`` characters."""
    kept = "".join(c for c in name if unicodedata.category(c) != "Cc")
    return " ".join(kept.split())[: int(auth_settings.NAME_MAX_LENGTH)]


def _new_link(user: Any, identity: Identity) -> SocialAccount:
    return SocialAccount.objects.create(
        user=user, provider=identity.provider, uid=identity.uid,
        extra_data=identity.extra_data,
    )


def _create(identity: Identity, email: str, client: Client) -> Any:
    try:
        with transaction.atomic():
            user = create_account(email, _clean_name(identity.name), password=None,
                                  verified=identity.email_verified, request=client.request)
            account = _new_link(user, identity)
    except (EmailTaken, IntegrityError) as exc:
        raise _Raced() from exc
    if not identity.email_verified:
        send_verification_email(user)
    social_account_connected.send(sender=SocialAccount, user=user, account=account,
                                  how="signup")
    return user


def forget_unproven_credentials(user: Any) -> None:
    """Revoke every API key of ``user`` and remove every identity connected to the account:
    what a holder of the account left before anyone proved its address, and who may never
    have owned it. For the first proof of the mailbox (a social claim, a password reset),
    each of which also replaces the password and so ends every session; together they
    leave nothing that still opens the account without the prover."""
    api_keys.revoke_keys(APIKey.objects.filter(user=user))
    SocialAccount.objects.filter(user=user).delete()


def _take_over(user: Any, provider: str) -> None:
    """The provider proved the mailbox of ``user``'s unverified address: whatever was set
    up on the account before (by someone who may never have owned the address) goes."""
    user.set_unusable_password()
    save_password(user, reason="account_claimed")  # ends every session
    forget_unproven_credentials(user)
    mark_email_verified(user)
    logger.info("unverified account %s claimed through %s", user.pk, provider)


def _link(identity: Identity, local: Any) -> Any:
    try:
        with transaction.atomic():
            # The row lock queues concurrent claims of one account; the verified state is
            # read again under it.
            locked = lock_user(local)
            if locked is None:
                raise _Raced()  # deleted meanwhile: decide again on what is there now
            claimed = not address_verified(locked.pk, email_of(locked))
            if claimed:
                _take_over(locked, identity.provider)
            account = _new_link(locked, identity)
    except IntegrityError as exc:
        raise _Raced() from exc
    social_account_connected.send(sender=SocialAccount, user=locked, account=account,
                                  how="claim" if claimed else "link")
    return locked


def _canonical(email: str | None) -> str | None:
    if not email:
        return None
    try:
        return canonical_email(email)
    except InvalidEmail:
        return None


def _find_or_create(identity: Identity, client: Client) -> Any:
    account = _linked(identity)
    if account is not None:
        if not may_authenticate(account.user):
            raise InvalidCredentials()
        _remember(account, identity)
        return account.user
    email = _canonical(identity.email)
    if email is None:
        raise ProviderEmailMissing()
    local = find_user_by_email(email)
    if local is None:
        if email_taken(email):
            # Claimed, yet no one account has it: a concurrent sign-up committed between
            # the two reads (the second look settles it), or two legacy rows share it
            # (then it stays a 409).
            raise _Raced()
        return _create(identity, email, client)
    if not identity.email_verified:
        raise AccountExists()
    if not may_authenticate(local):
        raise InvalidCredentials()
    return _link(identity, local)


def _account_for(identity: Identity, client: Client) -> Any:
    """``_find_or_create``, once more after a race. A concurrent callback for the same
    identity commits its user, address and link together, but our reads may straddle
    that commit (no link yet, then an address taken): a lost insert, or a refusal while
    the identity turns out to be linked after all, is decided again on what is there
    now."""
    try:
        return _find_or_create(identity, client)
    except (_Raced, AccountExists) as exc:
        if isinstance(exc, AccountExists) and _linked(identity) is None:
            raise
    try:
        return _find_or_create(identity, client)
    except _Raced as exc:
        raise AccountExists() from exc


def login_with_code(
    provider_id: str, *, code: str, redirect_uri: str, state: str | None = None,
    code_verifier: str | None = None, client: Client = NO_CLIENT,
    browser: HttpRequest | None = None,
) -> LoginResult:
    """POST auth/{provider}/callback and the pages' social callback (``browser``: the
    request whose browser is signed in, instead of tokens): exchange ``code``, apply the
    account rules, sign in through the one door. Throttled per IP (every attempt) and per
    identity (after the exchange)."""
    throttling.hit("oauth", "ip", client.ip_address)
    identity = _identity(provider_id, code=code, redirect_uri=redirect_uri, state=state,
                         code_verifier=code_verifier, client=client)
    user = _account_for(identity, client)
    ensure_may_sign_in(user)
    return sessions.sign_in(user, client, method=f"social:{identity.provider}",
                            browser=browser)


def list_social_accounts(user: Any) -> list[SocialAccount]:
    """GET auth/social-accounts: the user's identities, oldest first."""
    return list(SocialAccount.objects.filter(user=user).order_by("date_joined", "pk"))


def connect(
    user: Any, provider_id: str, *, code: str, redirect_uri: str, state: str | None = None,
    code_verifier: str | None = None, session: RefreshSession | None = None,
    client: Client = NO_CLIENT,
) -> tuple[SocialAccount, bool]:
    """POST auth/{provider}/connect: add the identity behind ``code`` to ``user``, whose
    ``session`` made the request; return (account, created). Needs a state ``user``
    started. Already connected to ``user``: (account, False); connected to someone else:
    409 ``social_account_taken``.

    A user whose address is not verified gets 403 ``email_not_verified`` (unless
    ``UNVERIFIED_MAY_ADD_CREDENTIALS``): an identity connected to an account whose owner
    is unproven would outlive the real owner's proof of the mailbox. It is decided after
    the checks that need no state (the provider is configured, the redirect_uri allowed:
    bad input answers as it always did) and before the state is spent or the code
    exchanged (a refusal changes nothing); and again under the user's row lock when the
    link is written (``verification.lock_for_new_credential``: a session revoked by a
    reset meanwhile is a 401)."""
    throttling.hit("oauth", "ip", client.ip_address)
    throttling.hit("oauth", "user", str(user.pk))
    oauth_state.check_redirect_uri(
        providers.get_provider(provider_id, client.request).id, redirect_uri
    )
    check_may_add_credentials(user)
    identity = _identity(provider_id, code=code, redirect_uri=redirect_uri, state=state,
                         code_verifier=code_verifier, client=client, user=user)
    for _ in range(2):
        existing = _linked(identity)
        if existing is not None:
            if existing.user_id != user.pk:
                raise SocialAccountTaken()
            _remember(existing, identity)
            return existing, False
        try:
            with transaction.atomic():
                lock_for_new_credential(user, via=session)
                account = _new_link(user, identity)
        except IntegrityError:
            continue  # a concurrent request linked it first: look again
        social_account_connected.send(sender=SocialAccount, user=user, account=account,
                                      how="connect")
        return account, True
    raise SocialAccountTaken()


def disconnect(user: Any, account_id: str) -> None:
    """DELETE auth/social-accounts/{id}: remove one of the user's identities; 404 if it is
    not theirs, 409 ``last_login_method`` if the user would be left with no usable
    password and no other identity."""
    if not (account_id.isascii() and account_id.isdigit() and len(account_id) <= 18):
        raise NotFound("No such social account.")
    with transaction.atomic():
        # Two concurrent removals of a user's last two identities queue on this lock, so
        # the second sees the first one gone.
        locked = lock_user(user)
        if locked is None:
            raise NotFound("No such social account.")
        account = SocialAccount.objects.filter(pk=int(account_id), user=locked).first()
        if account is None:
            raise NotFound("No such social account.")
        others = SocialAccount.objects.filter(user=locked).exclude(pk=account.pk).exists()
        if not locked.has_usable_password() and not others:
            raise LastLoginMethod()
        account.delete()
    social_account_disconnected.send(sender=SocialAccount, user=user, account=account)
