"""An authentication backend that finds users by email, case-insensitively."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class EmailBackend(ModelBackend):
    """``authenticate(request, email=..., password=...)`` for any user model with an email.

    Unknown or ambiguous emails still run the password hasher once, so a login for an
    address with no account costs the same time as a wrong password (Django #20760).
    Inactive users are refused after the password check, as ``ModelBackend`` does, so the
    answer (and its timing) does not reveal the account state.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        email: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if email is None or password is None:
            return None
        user_model = get_user_model()
        field = user_model.get_email_field_name()
        candidates = list(
            user_model._default_manager.filter(**{f"{field}__iexact": email}).order_by("pk")[:2]
        )
        if len(candidates) != 1:
            user_model().set_password(password)
            return None
        user = candidates[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
