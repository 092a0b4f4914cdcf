"""Stand-in GitHub and a stand-in OpenID Connect issuer (LinkedIn) for the social tests.

Each is a real HTTP server on 127.0.0.1 (a port the OS picks), in its own threads, that
the app reaches over a socket through its ordinary HTTP client: nothing is mocked. The
app is pointed at them through allauth's own settings (``GITHUB_URL``, the OIDC
``server_url``). They behave like the real services where the tests need it:

- ``/authorize`` remembers the client id, redirect_uri, scope, PKCE challenge and nonce
  it was opened with and redirects to the redirect_uri with a fresh code, the way a
  browser would come back (``sign_in_at`` plays the browser);
- the token endpoint accepts each code once, for its redirect_uri and client, and only
  with a ``code_verifier`` whose S256 matches the challenge;
- GitHub serves ``/api/v3/user`` and ``/api/v3/user/emails``; the issuer serves its
  discovery document, a JWKS with a real RSA key (``cryptography``) and ID tokens signed
  with it (PyJWT), plus UserInfo.

Every request is recorded (``seen``, ``requests_to(path)``), so a test can assert that no
call was made at all, or what a call carried. ``faults[path] = Fault(...)`` makes one
path fail (a status, a body, a delay, a slow drip).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CALLBACK = "https://app.example.com/auth/callback"  # the test settings' allowlist

_KEYS: list[Any] = []


def rsa_key() -> Any:
    """A 2048-bit RSA private key, made once per test run (they take a moment)."""
    if not _KEYS:
        _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEYS[0]


def other_rsa_key() -> Any:
    """A second key, for tokens signed by someone else."""
    rsa_key()
    if len(_KEYS) < 2:
        _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEYS[1]


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Seen:
    """One request a stand-in received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]

    def arg(self, name: str) -> str | None:
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else None


@dataclass
class Fault:
    """What a path answers instead of its normal answer."""

    status: int = 500
    body: bytes = b'{"message": "Server Error"}'
    content_type: str = "application/json"
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between single bytes of the body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Grant:
    user: Any
    client_id: str
    redirect_uri: str
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    scope: str = ""
    used: bool = False


class StandIn:
    """The HTTP plumbing shared by both stand-ins."""

    client_id = "test-client-id"
    secret = "test-client-secret"
    authorize_path = "/authorize"

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.faults: dict[str, Fault] = {}
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, Any] = {}
        self.next_user: Any = None
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.005}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self._stop.set()  # releases any delayed answer
        self.server.shutdown()
        self.server.server_close()

    def requests_to(self, path: str) -> list[Seen]:
        with self.lock:
            return [seen for seen in self.seen if seen.path == path]

    # -- scripting ---------------------------------------------------------------------

    def grant_code(self, user: Any, *, redirect_uri: str = CALLBACK,
                   code_challenge: str | None = None, nonce: str | None = None) -> str:
        """A code for ``user`` as if they had just approved the app (for flows where the
        frontend owns state and PKCE)."""
        code = secrets.token_hex(10)
        with self.lock:
            self.grants[code] = Grant(user, self.client_id, redirect_uri, code_challenge,
                                      "S256" if code_challenge else None, nonce)
        return code

    # -- serving -------------------------------------------------------------------------

    def route(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:  # pragma: no cover
        raise NotImplementedError

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if seen.path == self.authorize_path:
            return self.authorize(seen)
        return self.route(seen)

    def authorize(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        """The consent screen, approved at once by ``next_user``."""
        redirect_uri = seen.arg("redirect_uri") or ""
        if seen.arg("client_id") != self.client_id or seen.arg("response_type") != "code":
            return 400, {}, b"bad authorization request"
        code = secrets.token_hex(10)
        with self.lock:
            self.grants[code] = Grant(
                self.next_user, self.client_id, redirect_uri, seen.arg("code_challenge"),
                seen.arg("code_challenge_method"), seen.arg("nonce"), seen.arg("scope") or "",
            )
        query = urlencode({"code": code, "state": seen.arg("state") or ""})
        return 302, {"Location": f"{redirect_uri}?{query}"}, b""

    def take_grant(self, seen: Seen) -> Grant | str:
        """The grant behind the token request's code, used up; or why not (an error)."""
        with self.lock:
            grant = self.grants.get(seen.arg("code") or "")
            if grant is None or grant.used:
                return "bad_code"
            grant.used = True  # a code is spent even by a failed attempt, as at GitHub
        if seen.arg("redirect_uri") != grant.redirect_uri:
            return "redirect_uri_mismatch"
        if grant.code_challenge is not None:
            verifier = seen.arg("code_verifier")
            if (grant.code_challenge_method != "S256" or not verifier
                    or s256(verifier) != grant.code_challenge):
                return "bad_verifier"
        return grant

    def new_token(self, user: Any) -> str:
        token = secrets.token_hex(20)
        with self.lock:
            self.tokens[token] = user
        return token

    def user_of(self, seen: Seen) -> Any | None:
        header = seen.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        with self.lock:
            return self.tokens.get(token)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.serve()

            def do_POST(self) -> None:  # noqa: N802
                self.serve()

            def serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(self.command, parts.path, parse_qs(parts.query),
                            {k.lower(): v for k, v in self.headers.items()},
                            parse_qs(body.decode("utf-8", "replace")))
                with standin.lock:
                    standin.seen.append(seen)
                fault = standin.faults.get(parts.path)
                try:
                    if fault is None:
                        status, headers, payload = standin.answer(seen)
                        self.reply(status, {"Content-Type": "application/json", **headers},
                                   payload)
                    else:
                        if fault.delay and standin._stop.wait(fault.delay):
                            return
                        self.reply(fault.status, {"Content-Type": fault.content_type,
                                                  **fault.headers}, fault.body, fault.drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the app gave up waiting, as it should

            def reply(self, status: int, headers: dict[str, str], payload: bytes,
                      drip: float = 0.0) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if not drip:
                    self.wfile.write(payload)
                    return
                for index in range(len(payload)):
                    self.wfile.write(payload[index:index + 1])
                    self.wfile.flush()
                    if standin._stop.wait(drip):
                        return

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


# --- GitHub ----------------------------------------------------------------------------------


@dataclass
class GitHubUser:
    id: Any
    login: str
    name: str = ""
    email: str | None = None  # the public profile address
    # /user/emails; None answers 404 (what GitHub does without the user:email scope).
    emails: list[dict[str, Any]] | None = field(default_factory=list)


def github_user(uid: Any = 4242, email: str | None = "octo@example.com", *,
                verified: Any = True, login: str = "octocat", name: str = "Octo Cat",
                extra_emails: list[dict[str, Any]] | None = None) -> GitHubUser:
    """A GitHub user whose primary address is ``email`` (``verified`` as GitHub says)."""
    emails = [] if email is None else [{"email": email, "primary": True,
                                         "verified": verified, "visibility": "private"}]
    return GitHubUser(uid, login, name, None, emails + (extra_emails or []))


class FakeGitHub(StandIn):
    """github.com (or GitHub Enterprise at ``GITHUB_URL``: API under ``/api/v3``)."""

    authorize_path = "/login/oauth/authorize"
    token_path = "/login/oauth/access_token"
    user_path = "/api/v3/user"
    emails_path = "/api/v3/user/emails"

    def route(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if seen.method == "POST" and seen.path == self.token_path:
            if (seen.arg("client_id") != self.client_id
                    or seen.arg("client_secret") != self.secret):
                return 200, {}, _json({"error": "incorrect_client_credentials"})
            grant = self.take_grant(seen)
            if isinstance(grant, str):
                error = ("redirect_uri_mismatch" if grant == "redirect_uri_mismatch"
                         else "bad_verification_code")
                return 200, {}, _json({"error": error, "error_description": grant})
            token = self.new_token(grant.user)
            return 200, {}, _json({"access_token": token, "token_type": "bearer",
                                   "scope": "read:user,user:email"})
        user = self.user_of(seen)
        if seen.path in (self.user_path, self.emails_path) and user is None:
            return 401, {}, _json({"message": "Bad credentials"})
        if seen.path == self.user_path:
            return 200, {}, _json({"id": user.id, "login": user.login, "name": user.name,
                                   "email": user.email,
                                   "html_url": f"https://github.example/{user.login}"})
        if seen.path == self.emails_path:
            if user.emails is None:
                return 404, {}, _json({"message": "Not Found"})
            return 200, {}, _json(user.emails)
        return 404, {}, _json({"message": "Not Found"})


# --- OpenID Connect (LinkedIn) -----------------------------------------------------------------


DROP = object()  # a claim override that removes the claim


@dataclass
class OIDCUser:
    sub: str
    email: str | None = "lin@example.com"
    email_verified: Any = True
    name: str = "Lin Kedin"
    # Claims in UserInfo only (and left out of the ID token when ``email_in_id_token`` is
    # false).
    email_in_id_token: bool = True
    userinfo_sub: str | None = None


class FakeOIDC(StandIn):
    """An OpenID Connect issuer laid out like LinkedIn's (issuer ``{url}/oauth``)."""

    authorize_path = "/oauth/v2/authorization"
    token_path = "/oauth/v2/accessToken"
    jwks_path = "/oauth/openid/jwks"
    userinfo_path = "/oauth/v2/userinfo"
    discovery_path = "/oauth/.well-known/openid-configuration"
    kid = "test-key-1"

    def __init__(self) -> None:
        super().__init__()
        self.issuer = f"{self.url}/oauth"
        self.private_key = rsa_key()
        self.jwks_keys = [self.public_jwk(self.private_key, self.kid)]
        # Tamper with the next ID tokens: claims to change (DROP removes), header fields,
        # the signing key and algorithm, or a raw token to send as is.
        self.claim_overrides: dict[str, Any] = {}
        self.header_overrides: dict[str, Any] = {}
        self.signing_key: Any = None
        self.algorithm = "RS256"
        self.raw_id_token: Callable[[dict[str, Any]], str] | None = None
        self.discovery_overrides: dict[str, Any] = {}

    @staticmethod
    def public_jwk(private_key: Any, kid: str) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}{self.authorize_path}",
            "token_endpoint": f"{self.url}{self.token_path}",
            "userinfo_endpoint": f"{self.url}{self.userinfo_path}",
            "jwks_uri": f"{self.url}{self.jwks_path}",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            **self.discovery_overrides,
        }

    def claims_for(self, grant: Grant) -> dict[str, Any]:
        user, now = grant.user, int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.client_id, "iat": now,
                                  "exp": now + 3600, "sub": user.sub, "name": user.name}
        if user.email_in_id_token and user.email is not None:
            claims.update(email=user.email, email_verified=user.email_verified)
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        for name, value in self.claim_overrides.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def id_token_for(self, grant: Grant) -> str:
        claims = self.claims_for(grant)
        if self.raw_id_token is not None:
            return self.raw_id_token(claims)
        headers = {"kid": self.kid, **self.header_overrides}
        return jwt.encode(claims, self.signing_key or self.private_key,
                          algorithm=self.algorithm, headers=headers)

    def client_authenticated(self, seen: Seen) -> bool:
        """client_secret_post, or client_secret_basic."""
        scheme, _, value = seen.headers.get("authorization", "").partition(" ")
        if scheme == "Basic":
            expected = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
            return value == expected
        return seen.arg("client_id") == self.client_id and seen.arg("client_secret") == self.secret

    def route(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if seen.path == self.discovery_path:
            return 200, {}, _json(self.discovery())
        if seen.path == self.jwks_path:
            return 200, {}, _json({"keys": self.jwks_keys})
        if seen.method == "POST" and seen.path == self.token_path:
            if not self.client_authenticated(seen):
                return 401, {}, _json({"error": "invalid_client"})
            grant = self.take_grant(seen)
            if isinstance(grant, str):
                # LinkedIn's answer to an expired, used or mismatched code.
                return 400, {}, _json({"error": "invalid_request",
                                       "error_description": grant})
            token = self.new_token(grant.user)
            return 200, {}, _json({"access_token": token, "expires_in": 3600,
                                   "scope": "email,openid,profile", "token_type": "Bearer",
                                   "id_token": self.id_token_for(grant)})
        if seen.path == self.userinfo_path:
            user = self.user_of(seen)
            if user is None:
                return 401, {}, _json({"error": "invalid_token"})
            info: dict[str, Any] = {"sub": user.userinfo_sub or user.sub, "name": user.name}
            if user.email is not None:
                info.update(email=user.email, email_verified=user.email_verified)
            return 200, {}, _json(info)
        return 404, {}, _json({"error": "not_found"})


# --- the browser, and fixtures -----------------------------------------------------------------


def sign_in_at(standin: StandIn, authorization_url: str, user: Any) -> dict[str, str]:
    """What the browser does: open ``authorization_url`` at the stand-in as ``user`` and
    read the code and state off the redirect back to the frontend."""
    assert authorization_url.startswith(standin.url), authorization_url
    standin.next_user = user
    response = requests.get(authorization_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.content
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return {"code": query["code"][0], "state": query["state"][0]}


def _providers(settings: Any) -> dict[str, Any]:
    return {key: dict(value) for key, value in
            (getattr(settings, "SOCIALACCOUNT_PROVIDERS", None) or {}).items()}


@contextmanager
def serving_github(settings: Any) -> Iterator[FakeGitHub]:
    """A stand-in GitHub, configured as the project's GitHub app (settings APPS) with
    ``GITHUB_URL`` pointing at it. For a test module's ``github`` fixture::

        @pytest.fixture
        def github(settings):
            with serving_github(settings) as server:
                yield server
    """
    server = FakeGitHub()
    providers = _providers(settings)
    providers["github"] = {
        "APPS": [{"client_id": server.client_id, "secret": server.secret}],
        "SCOPE": ["read:user", "user:email"],
        "GITHUB_URL": server.url,
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    try:
        yield server
    finally:
        server.close()


@contextmanager
def serving_linkedin(settings: Any) -> Iterator[FakeOIDC]:
    """A stand-in LinkedIn: allauth's OpenID Connect app ``linkedin`` with its
    ``server_url`` at the stand-in issuer (for a ``linkedin`` fixture, like above)."""
    server = FakeOIDC()
    providers = _providers(settings)
    providers["openid_connect"] = {
        "APPS": [{"provider_id": "linkedin", "name": "LinkedIn",
                  "client_id": server.client_id, "secret": server.secret,
                  "settings": {"server_url": server.issuer}}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    try:
        yield server
    finally:
        server.close()


# --- calling the app -----------------------------------------------------------------------


def authorize(api: Any, provider: str, redirect_uri: str = CALLBACK, **query: Any) -> Any:
    """GET auth/{provider}/authorize."""
    return api.get(f"/api/v1/auth/{provider}/authorize", {"redirect_uri": redirect_uri, **query})


def callback(api: Any, provider: str, **body: Any) -> Any:
    """POST auth/{provider}/callback with ``body`` (redirect_uri defaults to CALLBACK)."""
    body.setdefault("redirect_uri", CALLBACK)
    return api.post(f"/api/v1/auth/{provider}/callback", body, format="json")


def log_in_with(api: Any, standin: StandIn, provider: str, user: Any, **extra: Any) -> Any:
    """The whole flow: authorize, the provider's consent (``user``), the callback."""
    started = authorize(api, provider)
    assert started.status_code == 200, started.content
    got = sign_in_at(standin, started.json()["authorization_url"], user)
    return callback(api, provider, **got, **extra)
