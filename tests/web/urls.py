"""The example project's URLs plus what the middleware tests need around them.

``/open`` and ``/dashboardx`` are plain views that touch nothing (no session, no query), so
a test can see what the middleware itself costs on an unprotected path; ``/probe`` says who
the middleware said the caller is, and with what credential.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from example_project.urls import urlpatterns as example_urlpatterns


def open_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("open")


def probe(request: HttpRequest) -> JsonResponse:
    """Who the middleware said this is, and with what."""
    auth = getattr(request, "auth", None)
    return JsonResponse({"email": request.user.email, "auth": type(auth).__name__})


urlpatterns = [
    path("open", open_view),
    path("dashboardx", open_view),
    path("probe", probe),
    *example_urlpatterns,
]
