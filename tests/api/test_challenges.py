"""Every 401 and every scope refusal tells the client where to go (RFC 6750, RFC 9728).

401: ``WWW-Authenticate: Bearer realm="api", resource_metadata="<URL>"``, plus
``error="invalid_token"`` when a credential was sent and refused. 403
``insufficient_scope``: ``Bearer error="insufficient_scope", scope="<every scope the
request needs>", resource_metadata="<URL>"``. The URL is the metadata of the resource the
request is addressed to (the API's under its mount, the site's elsewhere), built from
``SITE_URL``, and it answers.

The walk below sends every method to every URL pattern of the example project, with no
credential, with refused ones and with keys lacking scopes, and checks 100% of the 401s
and 403s it provokes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
CHALLENGE = re.compile(r'(?:^|, )(\w+)="([^"]*)"')
REFUSED_CODES = {"api_key_invalid", "token_invalid", "signature_invalid", "signature_required"}


def params(header: str) -> dict[str, str]:
    """The auth-params of a single ``Bearer`` challenge."""
    assert header.startswith("Bearer "), header
    return dict(CHALLENGE.findall(header[len("Bearer "):]))


def _routes(patterns: list[Any], prefix: str = "/") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if isinstance(pattern.pattern, RoutePattern):
                found += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                found.append((prefix + str(pattern.pattern), None))
        elif isinstance(pattern, URLPattern):
            found.append((prefix + str(pattern.pattern), pattern))
    return found


SAMPLES = {"path": "api/v1", "str": "x", "int": "1", "slug": "x", "uuid":
           "00000000-0000-0000-0000-000000000000"}


def concrete_paths() -> list[str]:
    """One concrete path per route pattern (converters filled with samples); regex routes
    (the Django admin's) are left to its own tests: none is part of the API."""
    paths = []
    for route, pattern in _routes(get_resolver().url_patterns):
        if pattern is None or not isinstance(pattern.pattern, RoutePattern):
            assert route.startswith("/admin/"), route
            continue
        paths.append(re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route))
    return sorted(set(paths))


def situations(tokens: dict[str, Any], make_api_key: Any) -> dict[str, dict[str, str]]:
    scopeless = make_api_key(name="scopeless", scopes=[]).plaintext
    unrelated = make_api_key(name="unrelated", scopes=["unrelated:scope"]).plaintext
    return {
        "none": {},
        "bad X-API-Key": {"HTTP_X_API_KEY": "ak_garbage"},
        "bad Bearer key": {"HTTP_AUTHORIZATION": "Bearer ak_garbage"},
        "bad Bearer JWT": {"HTTP_AUTHORIZATION": "Bearer not.a.jwt"},
        "scope-less key (Bearer)": {"HTTP_AUTHORIZATION": f"Bearer {scopeless}"},
        "unrelated key (X-API-Key)": {"HTTP_X_API_KEY": unrelated},
        "session": {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"},
    }


def check_answer(client: Client, response: Any, path: str, situation: str,
                 site: str) -> str | None:
    """What is wrong with one answer's challenge, or None."""
    status = response.status_code
    if status not in (401, 403):
        return None
    content_type = response.get("Content-Type", "")
    if content_type.startswith("text/html"):
        # A page's form answer (the token sign-in page), not an API answer.
        assert path.startswith("/login"), (path, status)
        return None
    json_body = content_type.startswith("application/json") and response.content
    body = json.loads(response.content) if json_body else {}
    if path.startswith("/oauth/") and "error" in body and "error_code" not in body:
        # The authorization server's own answer (RFC 6749 §5.2): a client that failed to
        # authenticate is challenged for client credentials, not sent to a resource.
        if status == 401 and not (body["error"] == "invalid_client"
                                  and response.get("WWW-Authenticate", "").startswith(
                                      "Basic realm=")):
            return f"401 {body}: not an RFC 6749 invalid_client challenge"
        return None
    code = body["error_code"] if json_body else "?"
    header = response.get("WWW-Authenticate")
    if status == 403 and code != "insufficient_scope":
        return None  # not a scope refusal (session_required, ...): no challenge claimed
    if header is None:
        return f"{status} {code} without WWW-Authenticate"
    found = params(header)
    metadata = found.get("resource_metadata", "")
    if not metadata.startswith(site + "/.well-known/oauth-protected-resource"):
        return f"{status} {code}: resource_metadata {metadata!r}"
    document = client.get(urlsplit(metadata).path)
    if document.status_code != 200 or not (site + path).startswith(document.json()["resource"]):
        return f"{status} {code}: {metadata} does not describe {path}"
    if status == 401:
        if found.get("realm") != "api":
            return f"401 {code}: no realm"
        sent = situation != "none"
        if sent and code in REFUSED_CODES and found.get("error") != "invalid_token":
            return f"401 {code}: a refused credential without error=invalid_token"
        if not sent and "error" in found:
            return f"401 {code}: error= although no credential was sent"
        return None
    if found.get("error") != "insufficient_scope" or not found.get("scope"):
        return f"403 {code}: {header}"
    return None


def test_every_401_and_403_of_every_route_and_method_carries_its_challenge(
    tokens: dict[str, Any], make_api_key: Any, settings: Any,
) -> None:
    site = settings.AINATIVE_AUTH["SITE_URL"]
    client = Client()
    seen: Counter[int] = Counter()
    problems = []
    paths = concrete_paths()
    assert "/api/v1/api-keys/x/rotate" in paths and "/api/protected/whoami" in paths
    for situation, headers in situations(tokens, make_api_key).items():
        for path in paths:
            for method in METHODS:
                response = client.generic(method, path, b"{}",
                                          content_type="application/json", **headers)
                if response.status_code in (401, 403):
                    seen[response.status_code] += 1
                why = check_answer(client, response, path, situation, site)
                if why:
                    problems.append(f"{situation}: {method} {path}: {why}")
    assert problems == [], "\n".join(problems)
    # The walk did provoke both kinds, many times.
    assert seen[401] > 200 and seen[403] > 20, seen


def test_the_401_without_credentials_is_exactly_the_contracts(api: Any, settings: Any) -> None:
    site = settings.AINATIVE_AUTH["SITE_URL"]
    response = api.get("/api/v1/users/me")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", resource_metadata="{site}/.well-known/oauth-protected-resource'
        '/api/v1"')


def test_a_refused_token_says_invalid_token(api: Any, settings: Any) -> None:
    site = settings.AINATIVE_AUTH["SITE_URL"]
    response = api.get("/api/v1/users/me", HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert_error(response, 401, "token_invalid")
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", error="invalid_token", resource_metadata="{site}'
        '/.well-known/oauth-protected-resource/api/v1"')


def test_a_failed_login_is_a_challenge_without_error(api: Any, make_user: Any) -> None:
    make_user()
    response = api.post("/api/v1/auth/login", {"email": "alice@example.com",
                                                "password": "wrong"}, format="json")
    assert_error(response, 401, "invalid_credentials")
    found = params(response["WWW-Authenticate"])
    assert found["realm"] == "api" and "error" not in found and "resource_metadata" in found


def test_the_scope_challenge_names_every_scope_the_request_needs(
    api: Any, make_api_key: Any, settings: Any, auth_settings: Any
) -> None:
    site = settings.AINATIVE_AUTH["SITE_URL"]
    plaintext = make_api_key(scopes=["profile:read"]).plaintext
    response = api.get("/api/v1/public/credits/balance", HTTP_X_API_KEY=plaintext)
    assert_error(response, 403, "insufficient_scope")
    assert response["WWW-Authenticate"] == (
        f'Bearer error="insufficient_scope", scope="credits:read", resource_metadata="{site}'
        '/.well-known/oauth-protected-resource/api/v1"')


def test_the_challenge_follows_site_url_never_the_host_header(
    api: Any, settings: Any, auth_settings: Any
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    auth_settings(SITE_URL="https://api.example.com/")
    response = api.get("/api/v1/users/me", HTTP_HOST="evil.example")
    assert params(response["WWW-Authenticate"])["resource_metadata"] == (
        "https://api.example.com/.well-known/oauth-protected-resource/api/v1")
    # Without SITE_URL there is no absolute URL to give: the parameter is left out.
    auth_settings(SITE_URL=None)
    response = api.get("/api/v1/users/me", HTTP_HOST="evil.example")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_views_scope_challenge_names_all_its_scopes_not_only_the_missing(
    api: Any, settings: Any, make_api_key: Any
) -> None:
    import types

    from django.urls import path
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.response import Response

    from ainative_auth.api.views.base import AuthenticatedAPIView
    from ainative_auth.permissions import HasScope

    class ReportsView(AuthenticatedAPIView):
        permission_classes = [IsAuthenticated, HasScope.require("reports:read",
                                                                "reports:export")]

        def get(self, request: Any) -> Any:
            return Response({})

    urlconf = types.ModuleType("reports_urls")
    urlconf.urlpatterns = [path("api/v1/reports", ReportsView.as_view()),  # type: ignore[attr-defined]
                           *get_resolver().url_patterns]
    settings.ROOT_URLCONF = urlconf
    plaintext = make_api_key(scopes=["reports:read"]).plaintext
    response = api.get("/api/v1/reports", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert_error(response, 403, "insufficient_scope")
    assert params(response["WWW-Authenticate"])["scope"] == "reports:read reports:export"


def test_a_projects_own_scheme_follows_ours(api: Any, settings: Any) -> None:
    """A DRF view of the project with its own authenticator (Basic) behind our exception
    handler: the Bearer challenge first, then the project's."""
    from django.urls import path
    from rest_framework.authentication import BasicAuthentication
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.views import APIView

    class BasicView(APIView):
        authentication_classes = [BasicAuthentication]
        permission_classes = [IsAuthenticated]

        def get(self, request: Any) -> Any:  # pragma: no cover - never authenticated
            raise AssertionError

    import types

    urlconf = types.ModuleType("basic_urls")
    urlconf.urlpatterns = [path("api/v1/basic", BasicView.as_view()),  # type: ignore[attr-defined]
                           *get_resolver().url_patterns]
    settings.ROOT_URLCONF = urlconf
    response = api.get("/api/v1/basic")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="api", resource_metadata=')
    assert response["WWW-Authenticate"].endswith(', Basic realm="api"')
