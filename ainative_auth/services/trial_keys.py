"""Trial keys: a working API key with no account, claimed by a person later.

``POST public/instant-db`` (AINative's shape, kept wire-compatible) hands an agent or a
CLI a key at once; the person who runs it opens the ``claim_url`` later, signs in (or
signs up), and the very same key becomes theirs for good.

Who owns a trial key until then: a key must belong to a user (authentication, throttles,
``users/me`` and every project's own per-user data rest on that), so each trial gets a user
of its own, its *holder*: no usable password, an address under ``.invalid`` (RFC 2606)
that no mail reaches, no ``EmailAddress``, so nobody can sign in to it. One trial's key
and data stay apart from every other trial's, and nothing in the hot path changes. The
holder is deactivated when its key is claimed; its row stays, with ``TrialKey`` naming
both, for a project that wants to move what it kept for the trial.

- issuance: off unless ``TRIAL_KEYS_ENABLED``; ``"agree_terms": true`` required; throttled
  per client network (scope ``trial_key``) and in all (``TRIAL_KEY_GLOBAL_RATE``); the key
  has ``TRIAL_KEY_SCOPES`` and dies after ``TRIAL_KEY_LIFETIME`` unless claimed;
- the claim link: 256 random bits, stored as a SHA-256, good once, until the key's expiry;
- claiming: the rules of a key the user makes themselves (step-up, a verified address,
  the per-user limit), then one conditional UPDATE each on the trial and on the key: the
  key moves to the user, loses its expiry, and gets the user's default scopes
  (``API_KEY_DEFAULT_SCOPES``), never anything the user could not give a key themselves.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from .. import clock
from ..client import Client
from ..conf import auth_settings
from ..credentials import throttling
from ..credentials.keys import API_KEY_NAME_MAX_LENGTH
from ..exceptions import ClaimLinkInvalid, InvalidInput, NotFound, TermsNotAccepted
from ..models import APIKey, APIKeyOrigin, RefreshSession, TrialKey
from ..users import CLAIMS_OWN_EMAIL
from . import api_keys
from .accounts import build_user

logger = logging.getLogger("ainative_auth")

HOLDER_DOMAIN = "trial.invalid"
TEXT_MAX_LENGTH = 100
DEFAULT_NAME = "Trial key"


@dataclass(frozen=True)
class IssuedTrial:
    """A new trial: its row, the key (plaintext, shown once) and the claim link."""

    trial: TrialKey
    issued: api_keys.IssuedKey
    claim_url: str


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > TEXT_MAX_LENGTH:
        raise InvalidInput([(field, "invalid",
                             f"Must be a string of at most {TEXT_MAX_LENGTH} characters.")])
    return value.strip()


def _claim_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def claim_url(token: str) -> str:
    """Where the person claims the key: the claim page on ``SITE_URL`` (or
    ``FRONTEND_URL`` when the site's origin is not set)."""
    try:
        path = reverse("ainative_auth_pages:claim", args=[token])
    except NoReverseMatch:
        path = f"/claim/{token}"
    origin = str(auth_settings.SITE_URL or auth_settings.FRONTEND_URL).rstrip("/")
    return f"{origin}{path}"


def _new_holder() -> Any:
    """The trial's own user: nobody can sign in to it (see the module's docstring)."""
    user = build_user(f"trial-{uuid.uuid4().hex}@{HOLDER_DOMAIN}", "")
    user.set_unusable_password()
    # No uniqueness record for an address nobody owns (the receiver would make one).
    setattr(user, CLAIMS_OWN_EMAIL, True)
    user.save()
    return user


def issue_trial_key(*, agree_terms: Any, name: Any = None, source: Any = None,
                    client: Client) -> IssuedTrial:
    """``POST public/instant-db``: a new trial key and its claim link. 404 while
    ``TRIAL_KEYS_ENABLED`` is off, 429 past the per-network or the global rate, 400
    ``terms_not_accepted`` without ``agree_terms: true``; nothing is issued then."""
    if not auth_settings.TRIAL_KEYS_ENABLED:
        raise NotFound("Trial keys are not offered here.")
    throttling.hit("trial_key", "ip", client.ip_address)
    if agree_terms is not True:
        raise TermsNotAccepted()
    label = _text(name, "name")[:API_KEY_NAME_MAX_LENGTH] or DEFAULT_NAME
    origin = _text(source, "source")
    global_rate = auth_settings.TRIAL_KEY_GLOBAL_RATE
    if global_rate:
        throttling.hit("trial_key", "global", "all", rate=throttling.Rate.parse(global_rate))
    now = clock.now()
    expires_at = now + timedelta(seconds=int(auth_settings.TRIAL_KEY_LIFETIME))
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        holder = _new_holder()
        issued = api_keys.create_key(holder, name=label,
                                     scopes=list(auth_settings.TRIAL_KEY_SCOPES),
                                     expires_at=expires_at,
                                     instance=APIKey(origin=APIKeyOrigin.TRIAL))
        trial = TrialKey.objects.create(
            key=issued.key, holder=holder, name=label, source=origin,
            ip_address=client.ip_address or None, claim_hash=_claim_hash(token),
            created_at=now, expires_at=expires_at)
    logger.info("trial key %s issued (trial %s, source %r)", issued.key.prefix, trial.pk,
                origin)
    return IssuedTrial(trial=trial, issued=issued, claim_url=claim_url(token))


def find_claim(token: Any) -> TrialKey:
    """The unclaimed, unexpired trial whose claim link is ``token`` (the claim page shows
    it before the person confirms); ``ClaimLinkInvalid`` otherwise."""
    if not isinstance(token, str) or not token or len(token) > 128:
        raise ClaimLinkInvalid()
    trial = (TrialKey.objects.select_related("key")
             .filter(claim_hash=_claim_hash(token), claimed_at__isnull=True,
                     expires_at__gt=clock.now()).first())
    if trial is None or trial.key.state() != "active":
        raise ClaimLinkInvalid()
    return trial


def claim_trial_key(user: Any, session: RefreshSession | None, token: Any) -> TrialKey:
    """``user`` claims the trial of ``token``: the same key becomes theirs, without expiry,
    with their default scopes; the link is dead afterwards, for everyone. Raises
    ``ClaimLinkInvalid`` (unknown, expired, already claimed, even by this user), and the
    errors of adding a key (403 ``email_not_verified``, 409 ``api_key_limit_reached``)."""
    trial = find_claim(token)
    now = clock.now()
    with transaction.atomic():
        taken = TrialKey.objects.filter(
            pk=trial.pk, claimed_at__isnull=True, expires_at__gt=now,
        ).update(claimed_at=now, claimed_by=user)
        if not taken or not api_keys.adopt_key(trial.key, user, via=session,
                                                scopes=api_keys.default_scopes()):
            raise ClaimLinkInvalid()
        get_user_model()._default_manager.filter(pk=trial.holder_id).update(is_active=False)
    trial.claimed_at, trial.claimed_by = now, user
    logger.info("trial %s claimed by user %s", trial.pk, user.pk)
    return trial
