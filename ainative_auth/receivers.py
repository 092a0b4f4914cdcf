"""Signal receivers of ainative_auth itself, connected in ``AppConfig.ready``."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .signals import user_registered

logger = logging.getLogger("ainative_auth")


@receiver(user_registered, dispatch_uid="ainative_auth.send_verification_on_register")
def send_verification_on_register(sender: Any, user: Any, **kwargs: Any) -> None:
    """Registering mails a verification link (disconnect this dispatch_uid to stop it).

    ``user_registered`` is sent after the registration commits; a failure here is logged
    and never fails the registration (the user can ask for the link again).
    """
    from .services.verification import send_verification_email

    try:
        send_verification_email(user)
    except Exception:  # noqa: BLE001 - the account exists; the mail can be resent
        logger.exception("could not queue the verification mail for user %s", user.pk)


@receiver(post_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="ainative_auth.revoke_sessions_on_deactivation")
def revoke_sessions_on_deactivation(
    sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any
) -> None:
    """Saving a user as inactive ends all their sessions (R46), so reactivating the account
    later does not bring old refresh tokens back. (While inactive, authentication refuses
    them anyway, also after a queryset ``update()`` that sends no signal.)"""
    if getattr(instance, "is_active", True) is not False:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    from .services.sessions import revoke_all_sessions

    revoke_all_sessions(instance, "deactivated")


@receiver(post_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="ainative_auth.sync_account_email")
def sync_account_email(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    """Keep ``AccountEmail`` (the case-insensitive uniqueness guard) on the user's current
    address when it is changed elsewhere (the admin, a shell, a project's own view).

    If the new address is already claimed by another account, the old claim stays and a
    warning is logged: the user row is the project's, and refusing its save from a signal
    would turn an admin edit into a 500.
    """
    if created:
        return
    from django.db import IntegrityError, transaction

    from .emails import canonical_email, email_of
    from .models import AccountEmail

    email = canonical_email(email_of(instance))
    if not email:
        return
    try:
        with transaction.atomic():
            AccountEmail.objects.filter(user_id=instance.pk).exclude(email=email).update(
                email=email
            )
    except IntegrityError:
        logger.warning("user %s now has an address another account registered", instance.pk)
