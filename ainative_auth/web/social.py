"""The pages' social sign-in: "Sign in with GitHub" and back, on the server.

``/login/<provider>`` asks ``services.social.start_authorization`` for a state (with its
PKCE verifier and nonce, kept server-side) and the provider's URL, remembers the state in
this browser's Django session, and sends the browser to the provider. The provider sends it
back to ``/login/<provider>/callback?code&state``, which goes on only when the state is the
one this browser started: a callback URL made in another browser (a lure that would sign
the victim's browser into the attacker's account) signs nobody in. Then
``services.social.login_with_code`` exchanges the code and signs this browser in through
the one door.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.exceptions import APIException

from ..client import Client
from ..credentials import browser_session
from ..exceptions import MFARequired
from ..services import social
from . import forms
from .common import dashboard_url, page, redirect
from .login import error_status, render_factor_step, render_login

NOT_STARTED_HERE = ("This sign-in was not started in this browser, or it was used already. "
                    "Start again.")
CANCELLED = "Sign-in was cancelled or refused by the provider."


def _callback_uri(request: HttpRequest, provider: str) -> str:
    # Absolute, as the provider needs it; the service accepts it only if it is on the
    # OAUTH_REDIRECT_URIS allowlist (exact match), so a forged Host gains nothing.
    return request.build_absolute_uri(
        reverse("ainative_auth_pages:social-callback", args=[provider])
    )


@page
@require_http_methods(["GET", "HEAD"])
def social_start(request: HttpRequest, provider: str) -> HttpResponse:
    """``services.social.start_authorization``, the state kept in this browser's session,
    then off to the provider."""
    next_path = browser_session.local_path(request.GET.get("next"))
    try:
        started = social.start_authorization(
            provider, redirect_uri=_callback_uri(request, provider), client=Client.of(request)
        )
    except APIException as exc:
        return render_login(request, status=error_status(exc), next=next_path,
                            errors={None: str(exc.detail)})
    browser_session.remember_social_start(
        request, browser_session.SocialStart(provider, started["state"], next_path)
    )
    return HttpResponseRedirect(started["authorization_url"])


@page
@require_GET
def social_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """Back from the provider: only the browser that started this sign-in goes on, to
    ``services.social.login_with_code`` with this browser; then ``next`` or the
    dashboard."""
    started = browser_session.take_social_start(request, provider, request.GET.get("state"))
    if started is None:
        return render_login(request, status=400, errors={None: NOT_STARTED_HERE})
    if "error" in request.GET:
        return render_login(request, status=400, next=started.next_path,
                            errors={None: CANCELLED})
    result = forms.read_callback(request.GET)
    if not result.ok:
        return render_login(request, status=400, next=started.next_path,
                            errors={None: "The provider sent no usable code back. Start again."})
    try:
        social.login_with_code(
            provider, code=result.data["code"], redirect_uri=_callback_uri(request, provider),
            state=started.state, client=Client.of(request), browser=request,
        )
    except MFARequired:
        return render_factor_step(request, next_path=started.next_path)
    except APIException as exc:
        return render_login(request, status=error_status(exc), next=started.next_path,
                            errors={None: str(exc.detail)})
    return redirect(started.next_path or dashboard_url())
