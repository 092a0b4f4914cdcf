"""Signal receivers of ainative_auth itself, connected in ``AppConfig.ready``.

They cover changes made outside the app's own services (the admin, ``createsuperuser``, a
shell, allauth's or a project's own code), which the services cannot see. What the
services do themselves (the verification mail on register, the uniqueness record of an
account they create) happens in the service, in plain sight.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from ..models import AccountEmail
from ..users import CLAIMS_OWN_EMAIL, InvalidEmail, canonical_email, email_of, may_authenticate
from .sessions import revoke_all_sessions

logger = logging.getLogger("ainative_auth")


@receiver(post_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="ainative_auth.revoke_sessions_on_deactivation")
def revoke_sessions_on_deactivation(
    sender: Any, instance: Any, created: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    """Saving a user as inactive ends all their sessions (R46), so reactivating the account
    later does not bring old refresh tokens back. (While inactive, authentication refuses
    them anyway, also after a queryset ``update()`` that sends no signal.)"""
    if created or may_authenticate(instance):
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    revoke_all_sessions(instance, "deactivated")


@receiver(post_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="ainative_auth.sync_account_email")
def sync_account_email(
    sender: Any, instance: Any, created: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    """Keep ``AccountEmail`` (the case-insensitive uniqueness guard) on the user's current
    address: claim it for a user created elsewhere (the admin, ``createsuperuser``) or
    given its first address there, and move it when the address is changed elsewhere.

    Saves that name their fields without the email (``last_login`` on every login) cost
    nothing. Users created by ``accounts.create_account`` are skipped: it writes their record
    itself, beside the user in the same transaction, and turns a conflict into a 409.

    If the address is already claimed by another account, or has no canonical form, the
    old claim stays (or none is made) and a warning is logged: the user row is the
    project's, and refusing its save from a signal would turn an admin edit into a 500.
    Registering that address still answers 409 (``users.email_taken`` also looks at the
    user table).
    """
    field = sender.get_email_field_name()
    if update_fields is not None and field not in update_fields:
        return
    if created and getattr(instance, CLAIMS_OWN_EMAIL, False):
        return
    raw = email_of(instance)
    if not raw:
        return
    try:
        email = canonical_email(raw)
    except InvalidEmail:
        logger.warning("user %s has an address with no canonical form", instance.pk)
        return
    try:
        with transaction.atomic():
            moved = AccountEmail.objects.filter(user_id=instance.pk).exclude(email=email).update(
                email=email
            )
            if not moved and not AccountEmail.objects.filter(user_id=instance.pk).exists():
                # Created elsewhere, or given its first address after being created.
                AccountEmail.objects.create(user_id=instance.pk, email=email)
    except IntegrityError:
        logger.warning("user %s has an address another account registered", instance.pk)
