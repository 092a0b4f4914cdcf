"""The example project's URLs plus what the page tests need around them.

- ``/open`` and ``/dashboardx``: plain views that touch nothing (no session, no query),
  so a test can see what the middleware itself costs on an unprotected path.
- Stand-ins for the social-login endpoints (``GET auth/github/authorize``, ``POST
  auth/github/callback``, DESIGN.md section 2) and a stand-in GitHub, mounted before the
  app's API so they answer at the contract's paths. They are built on another branch;
  the pages only drive them over HTTP, like any frontend, and these play their part.
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from ainative_auth.client import Client
from ainative_auth.exceptions import error_body
from ainative_auth.services import accounts
from ainative_auth.users import find_user_by_email
from example_project.urls import urlpatterns as example_urlpatterns

# code -> (redirect_uri, state, email): what the stand-in GitHub handed out.
ISSUED_CODES: dict[str, tuple[str, str, str]] = {}
STAND_IN_EMAIL = "alice@example.com"


def open_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("open")


def probe(request: HttpRequest) -> JsonResponse:
    """Who the middleware said this is, and with what."""
    auth = getattr(request, "auth", None)
    return JsonResponse({"email": request.user.email, "auth": type(auth).__name__})


def authorize(request: HttpRequest) -> JsonResponse:
    redirect_uri = request.GET.get("redirect_uri", "")
    state = secrets.token_urlsafe(16)
    url = "/stand-in-github/authorize?" + urlencode({"redirect_uri": redirect_uri,
                                                     "state": state})
    return JsonResponse({"authorization_url": request.build_absolute_uri(url), "state": state})


def provider_authorize(request: HttpRequest) -> HttpResponse:
    """The stand-in GitHub: the user "approves" at once and is sent back with a code."""
    code = secrets.token_urlsafe(16)
    redirect_uri, state = request.GET["redirect_uri"], request.GET["state"]
    ISSUED_CODES[code] = (redirect_uri, state, STAND_IN_EMAIL)
    return HttpResponseRedirect(f"{redirect_uri}?" + urlencode({"code": code, "state": state}))


@csrf_exempt
def callback(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body or b"{}")
    issued = ISSUED_CODES.pop(str(body.get("code")), None)
    if issued is None or issued[:2] != (body.get("redirect_uri"), body.get("state")):
        return JsonResponse(error_body("The code is invalid.", "invalid_code"), status=400)
    user = find_user_by_email(issued[2])
    result = accounts.sign_in(user, Client.of(request))
    return JsonResponse(result.tokens)


urlpatterns = [
    path("open", open_view),
    path("dashboardx", open_view),
    path("probe", probe),
    path("api/v1/auth/github/authorize", authorize),
    path("api/v1/auth/github/callback", callback),
    path("stand-in-github/authorize", provider_authorize),
    *example_urlpatterns,
]
