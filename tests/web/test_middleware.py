"""AuthRequiredMiddleware: path rules, each credential, browsers vs API clients, redirects."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from ainative_auth import middleware
from ainative_auth.credentials import browser_session
from ainative_auth.middleware import is_protected
from ainative_auth.models import RefreshSession
from tests.conftest import PASSWORD
from tests.web.helpers import (
    HTML,
    browser_client,
    browser_session_id,
    sign_in,
)

WHOAMI = "/api/protected/whoami"


def _challenge(error: str = "") -> str:
    """The 401 challenge for a path the middleware guards: the site's metadata (the
    scope rules are in tests/web/test_middleware_scopes.py)."""
    from django.conf import settings

    site = settings.AINATIVE_AUTH["SITE_URL"]
    params = f'error="{error}", ' if error else ""
    return (f'Bearer realm="api", {params}resource_metadata='
            f'"{site}/.well-known/oauth-protected-resource"')


def _paths(settings: Any, protected: list[str], public: list[str] | None = None,
           login: str = "/login") -> None:
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "PROTECTED_PATHS": protected,
                              "PUBLIC_PATHS": public or [], "LOGIN_PATH": login}


# --- path rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "protected"), [
    ("/dashboard", True),
    ("/dashboard/", True),
    ("/dashboard/keys/abc/revoke", True),
    ("/dashboardx", False),
    ("/dashboard.html", False),
    ("/dash", False),
    ("/Dashboard", False),  # case-sensitive, as Django's URL resolver is
    ("/", False),
    ("/login", False),
    ("/api/protected", True),
    ("/api/protected/whoami", True),
    ("/api/protectedx/whoami", False),
    ("/api/v1/users/me", False),
])
def test_prefixes_match_on_segment_boundaries(settings: Any, path: str, protected: bool) -> None:
    _paths(settings, ["/dashboard", "/api/protected/"])
    assert is_protected(path) is protected


@pytest.mark.parametrize(("path", "protected"), [
    ("/anything", True),
    ("/", True),
    ("/static/ainative_auth/pages.css", False),
    ("/staticx", True),
    ("/api/v1/health", False),
    ("/api/v1/healthcheck", True),
    ("/login", False),
    ("/login/github/callback", False),  # LOGIN_PATH and below are never protected
    ("/loginx", True),
])
def test_public_paths_carve_out_of_a_protected_root(settings: Any, path: str,
                                                    protected: bool) -> None:
    _paths(settings, ["/"], ["/static/", "/api/v1/health"])
    assert is_protected(path) is protected


def test_the_longest_matching_prefix_wins(settings: Any) -> None:
    _paths(settings, ["/api", "/api/public/admin"], ["/api/public"])
    assert is_protected("/api/keys")
    assert not is_protected("/api/public/docs")
    assert is_protected("/api/public/admin/users")


def test_a_prefix_in_both_lists_is_protected(settings: Any) -> None:
    _paths(settings, ["/reports"], ["/reports/"])
    assert is_protected("/reports/q1")


def test_nothing_is_protected_without_protected_paths(settings: Any) -> None:
    _paths(settings, [], ["/x"])
    assert not is_protected("/dashboard")


def test_the_login_path_is_never_protected_even_under_a_longer_rule(settings: Any) -> None:
    _paths(settings, ["/", "/account/login"], login="/account/login")
    assert not is_protected("/account/login")
    assert is_protected("/account")


# --- unprotected paths cost nothing ---------------------------------------------------------


@pytest.fixture
def test_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.web.urls"


@pytest.mark.django_db
def test_an_unprotected_path_costs_no_query_and_parses_nothing(
    test_urls: None, signed_in: Client, django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the middleware judged a credential on an unprotected path")

    for name in ("authenticate_api_key", "authenticate_access_token", "bearer_token"):
        monkeypatch.setattr(middleware, name, forbidden)
    monkeypatch.setattr(browser_session, "current", forbidden)
    # Garbage in every credential (and a live session cookie): none of it is looked at.
    with django_assert_num_queries(0):
        response = signed_in.get("/open", HTTP_X_API_KEY="ak_garbage",
                                 HTTP_AUTHORIZATION="Bearer a b c")
    assert response.status_code == 200
    with django_assert_num_queries(0):
        assert signed_in.get("/dashboardx").status_code == 200


# --- each credential ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_api_key_opens_a_protected_path(api_key: tuple[Any, str]) -> None:
    key, plaintext = api_key
    response = Client().get(WHOAMI, HTTP_X_API_KEY=plaintext)
    assert response.status_code == 200
    assert response.json() == {"id": key.user.pk, "email": "alice@example.com"}


@pytest.mark.django_db
def test_a_bearer_token_opens_a_protected_path(api_tokens: dict[str, Any]) -> None:
    response = Client().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {api_tokens['access_token']}")
    assert response.status_code == 200
    assert response.json() == {"id": api_tokens["user"]["id"], "email": "alice@example.com"}


@pytest.mark.django_db
def test_a_browser_session_opens_a_protected_path(signed_in: Client, alice: Any) -> None:
    response = signed_in.get(WHOAMI)
    assert response.status_code == 200
    assert response.json() == {"id": alice.pk, "email": "alice@example.com"}


@pytest.mark.django_db
def test_request_user_and_auth_name_the_credential(
    test_urls: None, settings: Any, signed_in: Client, api_key: tuple[Any, str],
    api_tokens: dict[str, Any],
) -> None:
    _paths(settings, ["/probe"])
    seen = [
        signed_in.get("/probe").json(),
        Client().get("/probe", HTTP_X_API_KEY=api_key[1]).json(),
        Client().get("/probe", HTTP_AUTHORIZATION=f"Bearer {api_tokens['access_token']}").json(),
    ]
    assert seen == [{"email": "alice@example.com", "auth": "RefreshSession"},
                    {"email": "alice@example.com", "auth": "APIKey"},
                    {"email": "alice@example.com", "auth": "AccessToken"}]


@pytest.mark.django_db
def test_an_rfc_9421_signature_without_x_api_key_opens_a_protected_path(
    make_api_key: Any,
) -> None:
    from tests.signing import as_meta, sign_v2

    issued = make_api_key()
    headers = sign_v2("GET", f"http://testserver{WHOAMI}", key_id=issued.key.prefix,
                      secret=issued.signing_secret)
    response = Client().get(WHOAMI, **as_meta(headers))
    assert response.status_code == 200, response.content
    assert response.json()["id"] == issued.key.user_id
    # A wrong signature is the API's 401, not a redirect or a pass.
    bad = sign_v2("GET", f"http://testserver{WHOAMI}", key_id=issued.key.prefix,
                  secret="aks_not-the-secret")
    response = Client().get(WHOAMI, **as_meta(bad))
    assert response.status_code == 401
    assert response.json()["error_code"] == "signature_invalid"


def test_the_api_key_decides_when_both_headers_are_sent(api_tokens: dict[str, Any]) -> None:
    response = Client().get(WHOAMI, HTTP_X_API_KEY="ak_wrong_wrong",
                            HTTP_AUTHORIZATION=f"Bearer {api_tokens['access_token']}")
    assert response.status_code == 401
    assert response.json()["error_code"] == "api_key_invalid"


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["application/json", HTML])
def test_a_bad_api_key_is_the_apis_401_even_for_a_browser(accept: str) -> None:
    response = Client().get(WHOAMI, HTTP_X_API_KEY="ak_nope", HTTP_ACCEPT=accept)
    assert response.status_code == 401
    assert response.json() == {"detail": "The API key is invalid, expired or revoked.",
                               "error_code": "api_key_invalid"}
    assert response["WWW-Authenticate"] == _challenge("invalid_token")


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer a b", "Bearer "])
def test_a_bad_bearer_token_is_a_401_token_invalid(header: str) -> None:
    response = Client().get(WHOAMI, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error_code"] == "token_invalid"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_a_revoked_bearer_token_is_refused(api_tokens: dict[str, Any]) -> None:
    bearer = f"Bearer {api_tokens['access_token']}"
    assert Client().post("/api/v1/auth/logout", HTTP_AUTHORIZATION=bearer).status_code == 200
    assert Client().get(WHOAMI, HTTP_AUTHORIZATION=bearer).status_code == 401


@pytest.mark.django_db
def test_failed_api_keys_are_throttled_through_the_middleware_too(auth_settings: Any) -> None:
    auth_settings.rates(api_key="2/minute")
    statuses = [Client().get(WHOAMI, HTTP_X_API_KEY="ak_nope").status_code for _ in range(4)]
    assert statuses[:2] == [401, 401]
    response = Client().get(WHOAMI, HTTP_X_API_KEY="ak_nope")
    assert response.status_code == 429
    assert response.json()["error_code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


# --- without credentials: browsers and API clients ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("accept", [
    "", "*/*", "application/json", "application/json, text/plain, */*", "text/html;q=0",
    "text/plain",
])
def test_an_api_client_without_credentials_gets_a_401(accept: str) -> None:
    response = Client().get(WHOAMI, HTTP_ACCEPT=accept)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided or are not valid.",
        "error_code": "not_authenticated",
    }
    assert response["WWW-Authenticate"] == _challenge()
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.parametrize("accept", [
    HTML, "text/html", "application/xhtml+xml", "TEXT/HTML; q=0.5", "*/*;q=0.1, text/html",
])
def test_a_browser_without_credentials_is_sent_to_log_in(accept: str) -> None:
    response = Client().get("/dashboard", HTTP_ACCEPT=accept)
    assert response.status_code == 302
    assert response["Location"] == "/login?next=%2Fdashboard"


@pytest.mark.django_db
def test_next_keeps_the_query_string() -> None:
    response = Client().get("/dashboard/?tab=keys&x=%2F", HTTP_ACCEPT=HTML)
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query == {"next": ["/dashboard/?tab=keys&x=%2F"]}


@pytest.mark.django_db
def test_head_is_answered_like_get() -> None:
    browser_head = Client().head("/dashboard", HTTP_ACCEPT=HTML)
    assert browser_head.status_code == 302
    assert browser_head["Location"] == "/login?next=%2Fdashboard"
    api_head = Client().head(WHOAMI)
    assert api_head.status_code == 401
    assert api_head["WWW-Authenticate"] == _challenge()
    assert api_head.content == b""


@pytest.mark.django_db
def test_a_form_post_without_a_session_goes_to_login_without_next() -> None:
    response = Client().post("/dashboard/keys", {"name": "x"}, HTTP_ACCEPT=HTML)
    assert response.status_code == 302
    assert response["Location"] == "/login"


@pytest.mark.django_db
def test_the_login_path_setting_is_where_browsers_go(settings: Any) -> None:
    _paths(settings, ["/dashboard"], login="/account/sign-in")
    response = Client().get("/dashboard", HTTP_ACCEPT=HTML)
    assert response["Location"] == "/account/sign-in?next=%2Fdashboard"


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "location"), [
    ("//evil.example/x", "/login"),
    ("///evil.example", "/login"),
    # Django escapes the backslash in get_full_path(): a same-site path ("/%5Cevil.example").
    ("/\\evil.example", "/login?next=%2F%255Cevil.example"),
])
def test_a_path_that_would_redirect_off_site_gets_no_next(settings: Any, rf: Any,
                                                          path: str, location: str) -> None:
    _paths(settings, ["/"])
    request = rf.get("/", HTTP_ACCEPT=HTML)
    request.path = request.path_info = path  # as a raw request line could make them
    request.session = {}
    response = middleware.AuthRequiredMiddleware(lambda r: None)(request)  # type: ignore
    assert response.status_code == 302
    assert response["Location"] == location


# --- browser sessions: the row decides ------------------------------------------------------


@pytest.mark.django_db
def test_a_revoked_session_ends_the_browser_session(signed_in: Client) -> None:
    from ainative_auth.services import sessions

    old_cookie = signed_in.cookies["sessionid"].value
    sessions.revoke_session(RefreshSession.objects.get(pk=browser_session_id(signed_in)), "x")
    response = signed_in.get("/dashboard")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=%2Fdashboard"
    # The Django session is flushed with it: the old cookie is dead for good.
    assert browser_session.SESSION_ID_KEY not in signed_in.session
    replay = Client()
    replay.cookies["sessionid"] = old_cookie
    assert replay.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_a_revoked_session_cookie_is_a_401_for_an_api_client(signed_in: Client) -> None:
    from ainative_auth.services import sessions

    sessions.revoke_session(RefreshSession.objects.get(pk=browser_session_id(signed_in)), "x")
    response = signed_in.get(WHOAMI, HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["error_code"] == "not_authenticated"


@pytest.mark.django_db
def test_deleting_the_session_over_the_api_ends_the_browser_session(
    signed_in: Client, api_tokens: dict[str, Any]
) -> None:
    session_id = browser_session_id(signed_in)
    response = Client().delete(f"/api/v1/auth/sessions/{session_id}",
                               HTTP_AUTHORIZATION=f"Bearer {api_tokens['access_token']}")
    assert response.status_code == 204
    assert signed_in.get("/dashboard").status_code == 302


@pytest.mark.django_db
def test_logout_all_ends_the_browser_session(signed_in: Client,
                                            api_tokens: dict[str, Any]) -> None:
    bearer = f"Bearer {api_tokens['access_token']}"
    assert Client().post("/api/v1/auth/logout-all", HTTP_AUTHORIZATION=bearer).status_code == 200
    assert signed_in.get("/dashboard").status_code == 302


@pytest.mark.django_db
def test_a_password_change_ends_the_browser_session(signed_in: Client,
                                                    api_tokens: dict[str, Any]) -> None:
    response = Client().post(
        "/api/v1/auth/change-password",
        {"current_password": PASSWORD, "new_password": "another long passphrase 42"},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_tokens['access_token']}",
    )
    assert response.status_code == 200, response.content
    assert signed_in.get("/dashboard").status_code == 302


@pytest.mark.django_db
def test_a_deactivated_user_is_signed_out(signed_in: Client, alice: Any) -> None:
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    assert signed_in.get("/dashboard").status_code == 302


@pytest.mark.django_db
def test_a_django_login_without_a_session_row_is_not_a_browser_session(alice: Any) -> None:
    client = browser_client()
    client.force_login(alice)  # e.g. the admin's login: nothing to list or revoke
    assert client.get("/dashboard").status_code == 302
    assert client.get(WHOAMI, HTTP_ACCEPT="application/json").status_code == 401


@pytest.mark.django_db
def test_page_use_keeps_the_session_alive_but_never_past_its_absolute_end(
    clock: Any, signed_in: Client, settings: Any
) -> None:
    day = 24 * 3600
    for _ in range(4):  # 24 days of daily use: more than the 7-day idle lifetime
        clock.advance(6 * day)
        assert signed_in.get("/dashboard").status_code == 200
    row = RefreshSession.objects.get(pk=browser_session_id(signed_in))
    assert row.expires_at > clock.datetime  # pushed forward by use
    assert row.expires_at <= row.absolute_expires_at
    clock.advance(6 * day + 1)  # day 30 + 1 s: the absolute lifetime is over
    assert signed_in.get("/dashboard").status_code == 302


@pytest.mark.django_db
def test_an_idle_browser_session_expires(clock: Any, signed_in: Client) -> None:
    clock.advance(7 * 24 * 3600 + 1)
    assert signed_in.get("/dashboard").status_code == 302


@pytest.mark.django_db
def test_page_views_write_the_session_row_at_most_once_a_minute(
    clock: Any, signed_in: Client, django_assert_num_queries: Any
) -> None:
    clock.advance(120)
    signed_in.get(WHOAMI)
    row = RefreshSession.objects.get(pk=browser_session_id(signed_in))
    assert row.last_used_at.timestamp() == pytest.approx(clock.now, abs=1)
    # Within the minute: session, user, the row; no UPDATE.
    with django_assert_num_queries(3):
        assert signed_in.get(WHOAMI).status_code == 200


# --- cookies -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_session_cookie_is_httponly_and_samesite_lax_and_not_secure_over_http(
    alice: Any,
) -> None:
    client = browser_client()
    sign_in(client)
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]


@pytest.mark.django_db
def test_the_session_and_csrf_cookies_are_secure_over_https(alice: Any, settings: Any) -> None:
    settings.SESSION_COOKIE_SECURE = False  # as the example project over plain http
    client = browser_client()
    page = client.get("/login", secure=True)
    assert page.cookies["csrftoken"]["secure"] is True
    from tests.web.helpers import csrf_token

    response = client.post("/login", {"email": "alice@example.com", "password": PASSWORD,
                                      "csrfmiddlewaretoken": csrf_token(page)},
                           secure=True, HTTP_REFERER="https://testserver/login")
    assert response.status_code == 303
    assert response.cookies["sessionid"]["secure"] is True
    assert response.cookies["sessionid"]["httponly"] is True
    assert response.cookies["sessionid"]["samesite"] == "Lax"
    assert response.cookies["csrftoken"]["secure"] is True  # rotated by the login


@pytest.mark.django_db
def test_without_secure_cookies_middleware_https_cookies_follow_the_settings_alone(
    alice: Any, settings: Any,
) -> None:
    # What SecureCookiesMiddleware adds: without it, nothing else marks them.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE
                           if m != "ainative_auth.middleware.SecureCookiesMiddleware"]
    client = browser_client()
    page = client.get("/login", secure=True)
    assert not page.cookies["csrftoken"]["secure"]


@pytest.mark.django_db
def test_secure_cookies_setting_makes_them_secure_over_http_too(alice: Any,
                                                                settings: Any) -> None:
    settings.SESSION_COOKIE_SECURE = True
    client = browser_client()
    response = sign_in(client)
    assert response.cookies["sessionid"]["secure"] is True


# --- checks --------------------------------------------------------------------------------------


def _check_ids(settings: Any, **config: Any) -> list[str]:
    from ainative_auth.checks import check_settings

    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, **config}
    return [problem.id for problem in check_settings()]


def test_paths_that_are_not_local_paths_are_check_error_e006(settings: Any) -> None:
    assert "ainative_auth.E006" in _check_ids(settings, PROTECTED_PATHS=["dashboard"])
    assert "ainative_auth.E006" in _check_ids(settings, PROTECTED_PATHS="/dashboard")
    assert "ainative_auth.E006" in _check_ids(settings, PUBLIC_PATHS=[3])
    assert "ainative_auth.E006" in _check_ids(settings, LOGIN_PATH="https://x.example/login")
    assert "ainative_auth.E006" in _check_ids(settings, LOGIN_PATH="//x.example/login")


def test_the_example_paths_pass_the_checks(settings: Any) -> None:
    ids = _check_ids(settings)
    assert "ainative_auth.E006" not in ids and "ainative_auth.W002" not in ids
    assert "ainative_auth.W003" not in ids


def test_a_prefix_in_both_lists_is_warning_w002(settings: Any) -> None:
    assert "ainative_auth.W002" in _check_ids(settings, PROTECTED_PATHS=["/a/"],
                                              PUBLIC_PATHS=["/a"])


def test_the_middleware_before_authentication_is_warning_w003(settings: Any) -> None:
    ours = "ainative_auth.middleware.AuthRequiredMiddleware"
    settings.MIDDLEWARE = [ours, *[m for m in settings.MIDDLEWARE if m != ours]]
    assert "ainative_auth.W003" in _check_ids(settings)
