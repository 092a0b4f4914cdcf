"""The claim page of a trial key: the person opens the ``claim_url`` an agent or a CLI
printed, signs in (or signs up) first, sees the key, and claims it: the same key becomes
theirs (``services.trial_keys``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from ..exceptions import APIError, StepUpRequired
from ..models import RefreshSession
from ..services import trial_keys
from .common import page, signed_in
from .dashboard import step_up_prompt

TEMPLATE = "ainative_auth/pages/claim.html"


def _refused(request: HttpRequest, user: Any, exc: APIError) -> HttpResponse:
    return render(request, TEMPLATE, {"signed_in_user": user, "error": str(exc.detail),
                                      "error_code": exc.error_code}, status=exc.status_code)


@page
@require_http_methods(["GET", "HEAD"])
@signed_in
def claim_page(request: HttpRequest, user: Any, session: RefreshSession,
               token: str) -> HttpResponse:
    """``services.trial_keys.find_claim``: the trial key, and a "Claim key" button. Only
    the button claims (a link preview or a mail scanner opening the link changes nothing)."""
    try:
        trial = trial_keys.find_claim(token)
    except APIError as exc:
        return _refused(request, user, exc)
    return render(request, TEMPLATE, {"signed_in_user": user, "trial": trial,
                                      "key": trial.key, "token": token})


@page
@require_POST
@csrf_protect
@signed_in
def claim_key(request: HttpRequest, user: Any, session: RefreshSession,
              token: str) -> HttpResponse:
    """``services.trial_keys.claim_trial_key``: the key is the signed-in user's now."""
    try:
        trial = trial_keys.claim_trial_key(user, session, token)
    except StepUpRequired:
        # MFA on and no recent second factor: ask for it, then claim again.
        return step_up_prompt(request, user, retry={})
    except APIError as exc:
        return _refused(request, user, exc)
    return render(request, TEMPLATE, {"signed_in_user": user, "trial": trial,
                                      "key": trial.key, "claimed": True})
