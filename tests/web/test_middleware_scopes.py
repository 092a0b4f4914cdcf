"""``PROTECTED_PATHS`` entries name the scopes an API key needs (deny by default).

``("/path", ["a", "b"])`` admits a key holding both scopes (or ``"*"``); a plain
``"/path"`` admits keys only with full access ``"*"``; a key without scopes never opens a
path. Sessions and access tokens are not scope-limited. A refused key gets 403
``insufficient_scope`` with the challenge naming every scope the path needs.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import Error
from django.test import Client

from ainative_auth.checks import check_settings
from ainative_auth.middleware import overlapping, protection
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

WHOAMI = "/api/protected/whoami"


@pytest.fixture
def probe_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.web.urls"


def _protect(auth_settings: Any, *entries: Any) -> None:
    auth_settings(PROTECTED_PATHS=list(entries), PUBLIC_PATHS=[])


def _key(make_api_key: Any, scopes: list[str]) -> str:
    return str(make_api_key(name="k-" + "-".join(scopes or ["none"]).replace(":", "."),
                            scopes=scopes).plaintext)


# --- the example project: /api/protected needs profile:read --------------------------------


@pytest.mark.parametrize(("scopes", "status"), [
    (["profile:read"], 200),
    (["profile:read", "credits:read"], 200),
    (["*"], 200),
    (["credits:read"], 403),
    ([], 403),
])
@pytest.mark.parametrize("header", ["HTTP_X_API_KEY", "HTTP_AUTHORIZATION"])
def test_the_examples_protected_path_needs_profile_read(
    make_api_key: Any, scopes: list[str], status: int, header: str, settings: Any,
) -> None:
    plaintext = _key(make_api_key, scopes)
    value = plaintext if header == "HTTP_X_API_KEY" else f"Bearer {plaintext}"
    response = Client().get(WHOAMI, **{header: value})
    assert response.status_code == status, response.content
    if status == 403:
        assert_error(response, 403, "insufficient_scope")
        site = settings.AINATIVE_AUTH["SITE_URL"]
        assert response["WWW-Authenticate"] == (
            'Bearer error="insufficient_scope", scope="profile:read", '
            f'resource_metadata="{site}/.well-known/oauth-protected-resource"')


def test_sessions_and_access_tokens_are_not_scope_limited(
    signed_in: Client, api_tokens: dict[str, Any]
) -> None:
    assert signed_in.get(WHOAMI).status_code == 200
    bearer = f"Bearer {api_tokens['access_token']}"
    assert Client().get(WHOAMI, HTTP_AUTHORIZATION=bearer).status_code == 200


# --- plain entries: keys only with full access ----------------------------------------------


def test_a_plain_entry_admits_keys_only_with_full_access(
    probe_urls: None, auth_settings: Any, make_api_key: Any, api_tokens: dict[str, Any]
) -> None:
    _protect(auth_settings, "/probe")
    assert Client().get("/probe", HTTP_X_API_KEY=_key(make_api_key, ["*"])).status_code == 200
    for scopes in (["profile:read"], []):
        response = Client().get("/probe", HTTP_X_API_KEY=_key(make_api_key, scopes))
        assert_error(response, 403, "insufficient_scope")
        assert 'scope="*"' in response["WWW-Authenticate"]
    bearer = f"Bearer {api_tokens['access_token']}"
    assert Client().get("/probe", HTTP_AUTHORIZATION=bearer).status_code == 200


def test_a_key_without_scopes_never_opens_a_path(
    probe_urls: None, auth_settings: Any, make_api_key: Any
) -> None:
    plaintext = _key(make_api_key, [])
    for entry in ("/probe", ("/probe", ["profile:read"]), ("/probe", ("a", "b"))):
        _protect(auth_settings, entry)
        assert Client().get("/probe", HTTP_X_API_KEY=plaintext).status_code == 403, entry
    # And an entry that names no scope is a configuration error, not "any key".
    _protect(auth_settings, ("/probe", []))
    assert "ainative_auth.E006" in [p.id for p in check_settings() if isinstance(p, Error)]


def test_a_key_needs_every_scope_of_the_entry(
    probe_urls: None, auth_settings: Any, make_api_key: Any
) -> None:
    _protect(auth_settings, ("/probe", ["reports:read", "reports:export"]))
    both = _key(make_api_key, ["reports:read", "reports:export"])
    one = _key(make_api_key, ["reports:read"])
    assert Client().get("/probe", HTTP_X_API_KEY=both).status_code == 200
    response = Client().get("/probe", HTTP_X_API_KEY=one)
    assert_error(response, 403, "insufficient_scope")
    # All the scopes the path needs, not only the missing one (a client steps up to them).
    assert 'scope="reports:read reports:export"' in response["WWW-Authenticate"]


def test_the_longest_entry_decides_the_scopes(
    probe_urls: None, auth_settings: Any, make_api_key: Any
) -> None:
    _protect(auth_settings, ("/", ["site:read"]), ("/probe", ["probe:read"]))
    assert protection("/probe") == ("probe:read",)
    assert protection("/open") == ("site:read",)
    probe_key = _key(make_api_key, ["probe:read"])
    assert Client().get("/probe", HTTP_X_API_KEY=probe_key).status_code == 200
    assert Client().get("/open", HTTP_X_API_KEY=probe_key).status_code == 403


def test_a_prefix_listed_twice_needs_the_scopes_of_both(auth_settings: Any) -> None:
    _protect(auth_settings, ("/reports", ["a"]), ["/reports/", ["b", "a"]])
    assert protection("/reports/q1") == ("a", "b")
    _protect(auth_settings, "/reports", ("/reports", ["a"]))
    assert protection("/reports") == ("*", "a")
    assert overlapping([("/reports", ["a"])], ["/reports/"]) == ["/reports"]


# --- system checks --------------------------------------------------------------------------


@pytest.mark.parametrize("entries", [
    [("/x", [])],
    [("/x",)],
    [("/x", ["a"], "extra")],
    [("x", ["a"])],
    [("/x", "profile:read")],
    [("/x", ["Not A Scope"])],
    [("/x", [3])],
    [3],
    "/dashboard",
])
def test_the_checks_refuse_a_malformed_entry(auth_settings: Any, entries: Any) -> None:
    auth_settings(PROTECTED_PATHS=entries)
    assert "ainative_auth.E006" in [p.id for p in check_settings() if isinstance(p, Error)]


@pytest.mark.parametrize("entries", [
    ["/dashboard", ("/api/protected", ["profile:read"])],
    [["/api", ("a", "b")]],
    [("/", ["*"])],
])
def test_the_checks_accept_both_entry_shapes(auth_settings: Any, entries: Any) -> None:
    auth_settings(PROTECTED_PATHS=entries)
    assert "ainative_auth.E006" not in [p.id for p in check_settings()]
