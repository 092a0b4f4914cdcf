"""The device authorization grant (RFC 8628): its use cases, one function each.

A device (a CLI, an agent on a machine without a browser) asks for codes (``start``); the
person types the user code on ``/device`` (``find``) and approves or denies (``decide``);
the device polls the token endpoint with the device code (``poll``) until it gets its
credential: a token pair from the library, or, when it asked with ``credential=api_key``,
a new API key of the approving user.

Why our own rows and not ``allauth.idp.oidc``'s device flow: the library keeps a device
code's state in the default cache with read-modify-write updates (two polls or two
approvals at once both pass), does not keep a ``slow_down``'s longer interval, builds the
verification URI from the Host header, and ends only in a token pair. Here the state is a
database row changed by conditional UPDATEs, so each rule holds across processes:

- the user code (8 letters from 20 consonants, ``BCDF-GHJK``: about 35 bits, no vowels so
  no words, no look-alike digits) is stored as an HMAC, the device code as a SHA-256;
- the polling interval is the row's; polling before ``next_poll_at`` answers ``slow_down``
  and adds 5 seconds to the interval for good (compare-and-set on the row, so two
  processes answering two polls at once cannot both let one through);
- the decision is one conditional UPDATE from ``pending``: the person who approves is the
  one whose grant or key it is, and a code is decided once; the device collects its
  credential once (``approved`` to ``used``), and a used code is dead;
- codes typed on the page are throttled per person and per address (scope ``device``).

Approval is ``decide``, which a second-factor step-up wraps
(``services.api_keys.require_step_up``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.idp.oidc.models import Client
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from .. import clock
from ..client import Client as Caller
from ..conf import auth_settings
from ..credentials import throttling
from ..credentials.keys import (
    API_KEY_NAME_MAX_LENGTH,
    InvalidScopes,
    api_key_secret_matches,
    clean_scopes,
    parse_api_key,
)
from ..exceptions import UserCodeInvalid
from ..models import APIKey, APIKeyOrigin, RefreshSession
from ..services import api_keys
from . import resources, services
from .models import DeviceAuthorization

logger = logging.getLogger("ainative_auth")

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CLI_CLIENT_ID = "ainative-cli"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
SLOW_DOWN_STEP = 5
DECISION_SALT = "ainative_oauth.device"
DECISION_MAX_AGE = 600
# Rows this long past their expiry are deleted when new ones are made.
KEEP_EXPIRED = timedelta(days=1)


class DeviceGrantError(Exception):
    """An OAuth error of the device endpoints: ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


# --- codes -------------------------------------------------------------------------------


def new_user_code() -> str:
    """``XXXX-XXXX`` from ``USER_CODE_ALPHABET`` (``secrets``, never ``random``)."""
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{letters[:4]}-{letters[4:]}"


def normalize_user_code(typed: Any) -> str | None:
    """What the person typed, as the code's letters (case, dashes and spaces ignored), or
    None if it cannot be a user code."""
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    letters = "".join(ch for ch in typed.upper() if ch not in "- \t")
    if len(letters) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in letters):
        return None
    return letters


def user_code_hash(letters: str) -> str:
    return salted_hmac(DECISION_SALT + ".user_code", letters, algorithm="sha256").hexdigest()


def device_code_hash(device_code: str) -> str:
    return hashlib.sha256(device_code.encode()).hexdigest()


def display_user_code(letters: str) -> str:
    return f"{letters[:4]}-{letters[4:]}"


# --- start: the device authorization endpoint --------------------------------------------


@dataclass(frozen=True)
class Started:
    row: DeviceAuthorization
    device_code: str
    user_code: str


def allowed_scopes(client: Client) -> list[str]:
    """The scopes ``client`` may ask for here: ``OAUTH_SERVER_CLI_SCOPES`` for the built-in
    CLI (None: every scope the server supports), the client's own list otherwise."""
    if client.id == CLI_CLIENT_ID:
        configured = auth_settings.OAUTH_SERVER_CLI_SCOPES
        return list(configured) if configured is not None else resources.supported_scopes()
    return [scope for scope in client.get_scopes() if scope != "openid"]


def _device_client(client_id: Any) -> Client:
    if not resources.is_client_id(client_id, max_length=100):
        raise DeviceGrantError("invalid_client", "Unknown client.", 401)
    client = Client.objects.filter(pk=client_id).first()
    if client is None:
        raise DeviceGrantError("invalid_client", "Unknown client.", 401)
    if client.type != Client.Type.PUBLIC or DEVICE_CODE_GRANT not in client.get_grant_types():
        raise DeviceGrantError("unauthorized_client",
                               "This client may not use the device authorization grant.")
    return client


def _requested_scopes(client: Client, scope: Any, credential: str) -> list[str]:
    allowed = allowed_scopes(client)
    if scope is not None and not isinstance(scope, str):
        raise DeviceGrantError("invalid_scope", "scope must be a space-separated string.")
    requested = (scope or "").split() or allowed
    try:
        requested = clean_scopes(requested)
    except InvalidScopes as exc:
        raise DeviceGrantError("invalid_scope", str(exc)) from exc
    if not set(requested) <= set(allowed):
        raise DeviceGrantError("invalid_scope", "A scope is not one this client may ask for.")
    if credential == DeviceAuthorization.Credential.TOKEN and (
            "*" in requested or not set(requested) <= set(resources.supported_scopes())):
        raise DeviceGrantError("invalid_scope", "A scope is not one this server supports.")
    return requested


def _credential(value: Any) -> str:
    if value in (None, "", "token"):
        return DeviceAuthorization.Credential.TOKEN
    if value == "api_key":
        return DeviceAuthorization.Credential.API_KEY
    raise DeviceGrantError("invalid_request", 'credential must be "api_key" or omitted.')


def _key_name(value: Any, client: Client) -> str:
    if value in (None, ""):
        return (client.name or client.id)[:API_KEY_NAME_MAX_LENGTH]
    if not isinstance(value, str) or len(value) > API_KEY_NAME_MAX_LENGTH or not value.strip():
        raise DeviceGrantError("invalid_request",
                               f"key_name must be 1 to {API_KEY_NAME_MAX_LENGTH} characters.")
    return value.strip()


def start(*, client_id: Any, scope: Any, requested_resources: list[str] | None,
          credential: Any, key_name: Any, caller: Caller) -> Started:
    """RFC 8628 section 3.1: a new device authorization for ``client_id`` (a public client
    allowed the device grant), its scopes checked, its device and user codes made."""
    client = _device_client(client_id)
    kind = _credential(credential)
    scopes = _requested_scopes(client, scope, kind)
    name = _key_name(key_name, client) if kind == DeviceAuthorization.Credential.API_KEY else ""
    targets: list[str] = []
    if kind == DeviceAuthorization.Credential.TOKEN:
        targets = requested_resources or [r for r in [resources.default_resource()] if r]
    now = clock.now()
    DeviceAuthorization.objects.filter(expires_at__lt=now - KEEP_EXPIRED).delete()
    lifetime = timedelta(seconds=int(auth_settings.DEVICE_CODE_LIFETIME))
    for attempt in range(5):
        device_code, user_code = secrets.token_urlsafe(32), new_user_code()
        try:
            with transaction.atomic():
                row = DeviceAuthorization.objects.create(
                    device_code_hash=device_code_hash(device_code),
                    user_code_hash=user_code_hash(normalize_user_code(user_code) or ""),
                    client=client, scopes=scopes, resources=targets, credential=kind,
                    key_name=name, ip_address=caller.ip_address or None,
                    user_agent=caller.user_agent[:512],
                    interval=int(auth_settings.DEVICE_POLL_INTERVAL), next_poll_at=now,
                    created_at=now, expires_at=now + lifetime)
        except IntegrityError:
            # A user code equal to a live one's (or one expired less than a day ago).
            if attempt == 4:
                raise
            continue
        return Started(row=row, device_code=device_code, user_code=user_code)
    raise AssertionError("unreachable")  # pragma: no cover


# --- the page: find the code, then decide -----------------------------------------------


@dataclass(frozen=True)
class Pending:
    """A device authorization the person is looking at, with the signed form that lets
    exactly this person decide it."""

    row: DeviceAuthorization
    user_code: str
    decision_form: str


def find(user: Any, typed: Any, caller: Caller) -> Pending:
    """The pending authorization whose user code ``user`` typed (``UserCodeInvalid``
    otherwise). Every attempt counts against the ``device`` rate, per person and per
    address (429 past it): the code has about 35 bits, the rate makes guessing hopeless."""
    throttling.hit("device", "user", str(user.pk))
    throttling.hit("device", "ip", caller.ip_address)
    letters = normalize_user_code(typed)
    row = None
    if letters is not None:
        row = (DeviceAuthorization.objects.pending(clock.now())
               .filter(user_code_hash=user_code_hash(letters)).select_related("client")
               .first())
    if row is None or letters is None:
        raise UserCodeInvalid()
    form = signing.dumps({"id": str(row.pk), "user": str(user.pk)}, salt=DECISION_SALT)
    return Pending(row=row, user_code=display_user_code(letters), decision_form=form)


def decide(user: Any, session: RefreshSession | None, decision_form: Any,
           approve: bool) -> DeviceAuthorization:
    """``user``'s answer to the authorization named by ``decision_form`` (made by ``find``
    for this same user, less than ``DECISION_MAX_AGE`` seconds ago).

    Approving makes the grant ``user``'s: with ``credential=api_key``, a new key of theirs
    (``api_keys.create_unissued_key``: named, the granted scopes, unusable until the
    device collects it); otherwise a "Connected apps" grant, whose tokens the device
    collects. One conditional UPDATE from ``pending`` decides, so a code is decided once,
    by one person. Raises ``UserCodeInvalid`` for a stale, tampered or foreign form, or a
    code decided or expired meanwhile."""
    try:
        kept = signing.loads(str(decision_form or ""), salt=DECISION_SALT,
                             max_age=DECISION_MAX_AGE)
    except signing.BadSignature as exc:
        raise UserCodeInvalid() from exc
    if not isinstance(kept, dict) or kept.get("user") != str(user.pk):
        raise UserCodeInvalid("This approval form was made for someone else.")
    if approve:
        api_keys.require_step_up(user, session)
    now = clock.now()
    with transaction.atomic():
        row = (DeviceAuthorization.objects.select_for_update().pending(now)
               .filter(pk=str(kept.get("id"))).select_related("client").first())
        if row is None:
            raise UserCodeInvalid()
        status = (DeviceAuthorization.Status.APPROVED if approve
                  else DeviceAuthorization.Status.DENIED)
        changed = DeviceAuthorization.objects.filter(
            pk=row.pk, status=DeviceAuthorization.Status.PENDING,
        ).update(status=status, user=user, decided_at=now)
        if not changed:
            raise UserCodeInvalid()
        row.status, row.user, row.decided_at = status, user, now
        if approve:
            _grant(user, session, row)
    logger.info("device authorization %s %s by user %s", row.pk, status, user.pk)
    return row


def _grant(user: Any, session: RefreshSession | None, row: DeviceAuthorization) -> None:
    if row.credential == DeviceAuthorization.Credential.API_KEY:
        # Until the device collects it, the key lives only as long as the device code.
        key = api_keys.create_unissued_key(user, via=session, name=row.key_name,
                                           scopes=list(row.scopes), expires_at=row.expires_at,
                                           origin=APIKeyOrigin.DEVICE)
        DeviceAuthorization.objects.filter(pk=row.pk).update(api_key=key)
        row.api_key = key
    else:
        services.approve(user, row.client_id, list(row.scopes), list(row.resources))


# --- poll: the token endpoint's device_code grant ----------------------------------------


@dataclass(frozen=True)
class Collected:
    """An approved authorization the device has just collected: ``issued`` is its new API
    key (``credential=api_key``); None means the library mints the token pair."""

    row: DeviceAuthorization
    issued: api_keys.IssuedKey | None


def _paced(row: DeviceAuthorization, now: Any) -> bool:
    """Let this poll through if it respects the row's interval; else ``slow_down``: the
    interval grows by 5 seconds for good. Compare-and-set on the row's values, so of
    concurrent polls in any processes at most one passes per interval."""
    if now >= row.next_poll_at:
        return bool(DeviceAuthorization.objects.filter(
            pk=row.pk, next_poll_at=row.next_poll_at,
        ).update(next_poll_at=now + timedelta(seconds=row.interval)))
    interval = row.interval + SLOW_DOWN_STEP
    DeviceAuthorization.objects.filter(pk=row.pk, interval=row.interval).update(
        interval=interval, next_poll_at=now + timedelta(seconds=interval))
    return False


def poll(client_id: Any, device_code: Any) -> Collected:
    """RFC 8628 section 3.4/3.5: the device's poll. Raises ``DeviceGrantError`` with
    ``authorization_pending``, ``slow_down``, ``access_denied``, ``expired_token``, or
    ``invalid_grant`` (unknown, another client's, or already collected)."""
    client = _device_client(client_id)
    if not isinstance(device_code, str) or not device_code or len(device_code) > 256:
        raise DeviceGrantError("invalid_request", "device_code is missing.")
    now = clock.now()
    row = (DeviceAuthorization.objects.filter(device_code_hash=device_code_hash(device_code),
                                               client=client)
           .select_related("user", "api_key").first())
    if row is None or row.status == DeviceAuthorization.Status.USED:
        raise DeviceGrantError("invalid_grant", "Unknown or already used device code.")
    if row.expires_at <= now:
        raise DeviceGrantError("expired_token", "The device code has expired.")
    if not _paced(row, now):
        raise DeviceGrantError("slow_down", "Polling too fast: wait longer between polls.")
    if row.status == DeviceAuthorization.Status.PENDING:
        raise DeviceGrantError("authorization_pending", "Waiting for the person to decide.")
    if row.status == DeviceAuthorization.Status.DENIED:
        raise DeviceGrantError("access_denied", "The person denied the request.")
    return _collect(row, now)


def _collect(row: DeviceAuthorization, now: Any) -> Collected:
    with transaction.atomic():
        taken = DeviceAuthorization.objects.filter(
            pk=row.pk, status=DeviceAuthorization.Status.APPROVED).update(
                status=DeviceAuthorization.Status.USED)
        if not taken:
            raise DeviceGrantError("invalid_grant", "Unknown or already used device code.")
        if row.credential != DeviceAuthorization.Credential.API_KEY:
            return Collected(row=row, issued=None)
        issued = None
        if row.api_key is not None:
            lifetime = auth_settings.DEVICE_KEY_LIFETIME
            expires = now + timedelta(seconds=int(lifetime)) if lifetime else None
            issued = api_keys.issue_key(row.api_key, expires_at=expires)
        if issued is None:
            # The person revoked the key before the device collected it.
            raise DeviceGrantError("access_denied", "The key was revoked.")
    return Collected(row=row, issued=issued)


def key_token_response(collected: Collected) -> dict[str, Any]:
    """The token response carrying an API key (``credential=api_key``)."""
    assert collected.issued is not None  # noqa: S101 - poll() made it
    key = collected.issued.key
    body: dict[str, Any] = {
        "access_token": collected.issued.plaintext,
        "token_type": "Bearer",
        "key_id": key.public_id,
        "signing_secret": collected.issued.signing_secret,
        "scope": " ".join(key.scopes),
        "key_name": key.name,
    }
    if key.expires_at is not None:
        body["expires_in"] = max(0, int((key.expires_at - clock.now()).total_seconds()))
        body["expires_at"] = key.expires_at.isoformat().replace("+00:00", "Z")
    return body


# --- revocation (RFC 7009) of a key the device grant made --------------------------------


def revoke_device_key(client_id: Any, token: str) -> None:
    """Revoke the API key ``token`` if it is a live key the device grant made for
    ``client_id`` (``ainative-auth logout``); anything else is ignored, as RFC 7009 asks.
    Holding the key is the proof: whoever could use it may end it."""
    parsed = parse_api_key(token)
    if parsed is None or not resources.is_client_id(client_id):
        return
    public_id, secret = parsed
    key = APIKey.objects.filter(public_id=public_id, origin=APIKeyOrigin.DEVICE).first()
    if key is None or not api_key_secret_matches(public_id, secret, [key.secret_hash]):
        return
    if not DeviceAuthorization.objects.filter(api_key=key, client_id=client_id).exists():
        return
    api_keys.revoke_key(key)


def new_grant_id() -> str:
    return uuid.uuid4().hex
