"""Signal receivers of ainative_auth itself, connected in ``AppConfig.ready``.

They cover changes made outside the app's own services (the admin, ``createsuperuser``,
``changepassword``, a shell, allauth's or a project's own code), which the services cannot
see. What the services do themselves (the verification mail on register, the uniqueness
record of an account they create) happens in the service, in plain sight.

One exception, on purpose: ending the sessions on a password change happens here for
every path, ours included, so that it has one definition. Our services save a password
with ``users.save_password``, which tells the receiver the reason and the session to keep
(``users.PasswordChange``, on the instance for the length of the save); any other save
of a new password gets the reason ``password_changed`` and keeps nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from ..models import AccountEmail
from ..users import (
    CLAIMS_OWN_EMAIL,
    PASSWORD_CHANGE,
    InvalidEmail,
    PasswordChange,
    canonical_email,
    email_of,
    may_authenticate,
    same_address,
)
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


@receiver(pre_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="ainative_auth.notice_disabled_password")
def notice_disabled_password(
    sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    """``set_unusable_password()`` (the admin's "disable password-based authentication", a
    project's code) leaves no mark on the user, unlike ``set_password`` (``_password``):
    compare with the stored hash, and note a new unusable one as a password change for
    ``revoke_sessions_on_password_change``. A query only when a user without a usable
    password is saved with its password column."""
    if raw or instance._state.adding or PASSWORD_CHANGE in instance.__dict__:
        return
    if getattr(instance, "_password", None) is not None:
        return  # set_password: the post_save receiver sees it by itself
    if update_fields is not None and "password" not in update_fields:
        return
    has_usable_password = getattr(instance, "has_usable_password", None)
    if has_usable_password is None or has_usable_password():
        return
    stored = (sender._default_manager.filter(pk=instance.pk)
              .values_list("password", flat=True).first())
    if stored is not None and stored != instance.password:
        setattr(instance, PASSWORD_CHANGE, PasswordChange("password_changed"))


@receiver(post_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="ainative_auth.revoke_sessions_on_password_change")
def revoke_sessions_on_password_change(
    sender: Any, instance: Any, created: bool = False, update_fields: Any = None,
    **kwargs: Any
) -> None:
    """A saved password change ends the user's sessions (R46), wherever it was made: the
    admin's password form, ``changepassword``, ``set_password()`` + ``save()`` anywhere,
    our services (which say why and which session survives with ``users.save_password``).

    ``AbstractBaseUser.set_password`` keeps the raw password in ``_password`` until
    ``save()`` has sent this signal. A login that re-hashes the password with the current
    hasher (``check_password``'s setter) sets ``_password`` back to None before saving:
    the password is the same, and no session ends.
    """
    note = instance.__dict__.pop(PASSWORD_CHANGE, None)
    if created:
        return
    if update_fields is not None and "password" not in update_fields:
        return
    if note is None:
        if getattr(instance, "_password", None) is None:
            return
        note = PasswordChange("password_changed")
    revoke_all_sessions(instance, note.reason, keep=note.keep_session)


@receiver(post_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="ainative_auth.sync_account_email")
def sync_account_email(
    sender: Any, instance: Any, created: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    """Keep ``AccountEmail`` (the case-insensitive uniqueness guard) on the user's current
    address: claim it for a user created elsewhere (the admin, ``createsuperuser``) or
    given its first address there, and move it when the address is changed elsewhere.

    An address that moved ends the user's sessions (reason ``email_changed``): whoever held
    a token for the account as it was does not keep it as it is now.

    Saves that name their fields without the email (``last_login`` on every login) cost
    nothing. Users created by ``accounts.create_account`` are skipped: it writes their
    record itself, beside the user in the same transaction, and turns a conflict into a
    409.

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
    claimed = (AccountEmail.objects.filter(user_id=instance.pk)
               .values_list("email", flat=True).first())
    try:
        with transaction.atomic():
            moved = AccountEmail.objects.filter(user_id=instance.pk).exclude(email=email).update(
                email=email
            )
            if not moved and claimed is None:
                # Created elsewhere, or given its first address after being created.
                AccountEmail.objects.create(user_id=instance.pk, email=email)
    except IntegrityError:
        logger.warning("user %s has an address another account registered", instance.pk)
    # Moved to another mailbox (not merely respelled: the claim of a row stored before
    # addresses were canonical names the same one). Also when the claim could not follow
    # it: the row has the new address all the same.
    if claimed is not None and not same_address(claimed, email):
        revoke_all_sessions(instance, "email_changed")
