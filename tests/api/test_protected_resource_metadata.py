"""OAuth 2.0 Protected Resource Metadata (RFC 9728), at the root and path-inserted.

``/.well-known/oauth-protected-resource/api/v1`` describes the API, ``/.well-known/
oauth-protected-resource`` the site (which covers the middleware's protected paths):
``resource`` from ``SITE_URL`` (never the Host header), the authorization servers when
ours is on, the scopes, ``bearer_methods_supported: ["header"]``, public and cacheable.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.core.checks import Error
from django.core.checks import Warning as CheckWarning
from django.test import Client
from django.urls import reverse

from ainative_auth.checks import check_settings, check_site_url
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

API_DOCUMENT = "/.well-known/oauth-protected-resource/api/v1"
SITE_DOCUMENT = "/.well-known/oauth-protected-resource"


@pytest.fixture
def site(settings: Any) -> str:
    return str(settings.AINATIVE_AUTH["SITE_URL"])


def test_the_apis_document(site: str) -> None:
    response = Client().get(API_DOCUMENT)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "resource": f"{site}/api/v1",
        # The example installs the OAuth server: it is the authorization server, and the
        # API resource's OAuth scopes join the API keys' scopes.
        "authorization_servers": [site],
        "scopes_supported": ["credits:read", "keys:write", "profile", "profile:write"],
        "bearer_methods_supported": ["header"],
        "resource_name": "AINative example API",
    }
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=3600"
    assert "Pragma" not in response
    assert response["Access-Control-Allow-Origin"] == "*"


def test_the_sites_document_adds_the_protected_paths_scopes(site: str) -> None:
    response = Client().get(SITE_DOCUMENT)
    assert response.status_code == 200
    body = response.json()
    assert body["resource"] == site
    assert body["scopes_supported"] == ["credits:read", "keys:write", "profile:read",
                                        "profile:write"]
    assert body["bearer_methods_supported"] == ["header"]


def test_the_urls_are_the_ones_the_rfc_builds(site: str) -> None:
    # RFC 9728 section 3.1: the well-known segment inserted between host and path.
    assert reverse("ainative_auth_wellknown:oauth-protected-resource") == SITE_DOCUMENT
    assert reverse("ainative_auth_wellknown:oauth-protected-resource-path",
                   args=["api/v1"]) == API_DOCUMENT
    assert Client().get(API_DOCUMENT + "/").json()["resource"] == f"{site}/api/v1"


def test_no_credentials_are_needed_or_looked_at(api_key: Any) -> None:
    for headers in ({}, {"HTTP_X_API_KEY": "ak_garbage"},
                    {"HTTP_AUTHORIZATION": "Bearer garbage"}):
        assert Client().get(API_DOCUMENT, **headers).status_code == 200


def test_the_resource_comes_from_site_url_never_the_host_header(
    settings: Any, auth_settings: Any
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    auth_settings(SITE_URL="https://api.example.com")
    response = Client().get(API_DOCUMENT, HTTP_HOST="evil.example",
                            HTTP_X_FORWARDED_HOST="evil.example")
    assert response.json()["resource"] == "https://api.example.com/api/v1"
    assert Client().get(SITE_DOCUMENT, HTTP_HOST="evil.example").json()["resource"] == \
        "https://api.example.com"


def test_without_site_url_nothing_is_described(auth_settings: Any) -> None:
    auth_settings(SITE_URL=None)
    for path in (API_DOCUMENT, SITE_DOCUMENT):
        assert_error(Client().get(path), 404, "not_found")


@pytest.mark.parametrize("path", ["/mcpx", "/api", "/api/v1/users", "/dashboard", "/%2e%2e"])
def test_a_resource_we_do_not_serve_is_404(path: str) -> None:
    response = Client().get(SITE_DOCUMENT + path)
    assert_error(response, 404, "not_found")
    assert response["Cache-Control"] == "no-store"


def test_the_authorization_server_is_named_when_configured(auth_settings: Any) -> None:
    auth_settings(AUTHORIZATION_SERVERS=["https://login.example.com"])
    assert Client().get(API_DOCUMENT).json()["authorization_servers"] == [
        "https://login.example.com"]


def test_ours_is_named_with_site_url_as_its_issuer_when_it_is_installed(
    site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The OAuth server sub-app says so on its AppConfig (the example installs it).
    for path in (API_DOCUMENT, SITE_DOCUMENT, SITE_DOCUMENT + "/mcp"):
        assert Client().get(path).json()["authorization_servers"] == [site]
    config = apps.get_app_config("ainative_oauth_server")
    monkeypatch.setattr(config, "ainative_authorization_server", False)
    assert "authorization_servers" not in Client().get(API_DOCUMENT).json()


def test_a_resource_an_app_registers_gets_its_own_document(site: str) -> None:
    """``/mcp`` (the OAuth server's OAUTH_SERVER_RESOURCES) is described at its
    path-inserted address, and a 401 at it points there."""
    body = Client().get(SITE_DOCUMENT + "/mcp").json()
    assert body["resource"] == f"{site}/mcp"
    assert sorted(body["scopes_supported"]) == ["credits:read", "mcp"]


def test_the_401s_metadata_url_leads_to_a_document_naming_the_resource(site: str) -> None:
    header = Client().get("/api/v1/public/credits/balance")["WWW-Authenticate"]
    url = header.split('resource_metadata="', 1)[1].rstrip('"')
    assert url == site + API_DOCUMENT
    document = Client().get(url[len(site):]).json()
    assert f"{site}/api/v1/public/credits/balance".startswith(document["resource"])
    assert "credits:read" in document["scopes_supported"]


# --- system checks ------------------------------------------------------------------------


def _ids(kind: type) -> list[str]:
    return [p.id for p in check_settings() if type(p) is kind]


def test_an_unset_site_url_is_warning_w013_under_deploy_only(auth_settings: Any) -> None:
    auth_settings(SITE_URL=None)
    assert "ainative_auth.W013" not in _ids(CheckWarning)  # a new project's plain check
    assert [p.id for p in check_site_url()] == ["ainative_auth.W013"]
    auth_settings(SITE_URL="https://api.example.com")
    assert check_site_url() == []


@pytest.mark.parametrize("value", [
    "localhost:8000", "ftp://example.com", "https://example.com/app", "https://example.com?x=1",
    "https://user@example.com", "https://example.com:99999", "https://", 42,
])
def test_a_site_url_that_is_not_an_origin_is_error_e008(auth_settings: Any, value: Any) -> None:
    auth_settings(SITE_URL=value)
    assert "ainative_auth.E013" in _ids(Error)


def test_plain_http_away_from_loopback_is_warning_w007(auth_settings: Any) -> None:
    auth_settings(SITE_URL="http://api.example.com")
    assert "ainative_auth.W014" in _ids(CheckWarning)
    for fine in ("http://localhost:8000", "http://127.0.0.1:8000", "https://api.example.com/"):
        auth_settings(SITE_URL=fine)
        assert _ids(Error) == [] and "ainative_auth.W014" not in _ids(CheckWarning), fine


def test_metadata_not_served_at_the_root_is_warning_w008(settings: Any) -> None:
    import types

    from example_project.urls import urlpatterns

    urlconf = types.ModuleType("no_wellknown_urls")
    urlconf.urlpatterns = [p for p in urlpatterns  # type: ignore[attr-defined]
                           if getattr(p, "namespace", None) != "ainative_auth_wellknown"]
    settings.ROOT_URLCONF = urlconf
    assert "ainative_auth.W015" in _ids(CheckWarning)


@pytest.mark.parametrize("value", ["https://login.example.com", ["login.example.com"],
                                   ["https://login.example.com?x=1"], [None]])
def test_a_bad_authorization_servers_is_error_e009(auth_settings: Any, value: Any) -> None:
    auth_settings(AUTHORIZATION_SERVERS=value)
    assert "ainative_auth.E014" in _ids(Error)
