"""Access tokens (JWT) at the HTTP level: forged, tampered and odd tokens (R31-R39, F21, F22).

The forged tokens are built with PyJWT and the deployment's real signing key (hook H5), so
each is rejected for the reason its name gives and not merely for a bad signature. The
first test proves that the forging helper itself makes tokens the server accepts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import jwt
import pytest
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.test import APIClient

from ainative_auth.authentication import JWTAuthentication
from ainative_auth.credentials.keys import signing_key
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

# A refused access token: the shared error check with this file's codes and challenge.
assert_401 = partial(assert_error, status=401, codes=("token_invalid", "not_authenticated"),
                     challenge="Bearer")
ME = "/api/v1/users/me"
ISSUER, AUDIENCE = "ainative-auth", "ainative-api"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def segment(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def sign(claims: dict[str, Any], *, algorithm: str = "HS256", key: str | None = None,
         headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(claims, key or signing_key(), algorithm=algorithm, headers=headers)


def hand_signed(header: dict[str, Any], claims: dict[str, Any], key: str | None = None) -> str:
    """A JWS built by hand, for headers PyJWT refuses to write."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    mac = hmac.new((key or signing_key()).encode(), signing_input.encode(), hashlib.sha256)
    return f"{signing_input}.{b64(mac.digest())}"


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{segment(header)}.{segment(claims)}."


def get_me(token: str | None = None, **headers: Any) -> Any:
    if token is not None:
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
    return APIClient().get(ME, **headers)


@pytest.fixture
def claims(tokens: dict[str, Any]) -> dict[str, Any]:
    """The verified claims of a real access token of alice."""
    return jwt.decode(tokens["access_token"], signing_key(), algorithms=["HS256"],
                      audience=AUDIENCE, issuer=ISSUER)


@pytest.fixture
def other_user_claims(make_user: Any, login: Any) -> dict[str, Any]:
    make_user(email="bob@example.com", name="Bob")
    token = login(email="bob@example.com").json()["access_token"]
    return jwt.decode(token, options={"verify_signature": False})


# --- the real token -----------------------------------------------------------------------


def test_a_re_signed_copy_of_real_claims_is_accepted(claims: dict[str, Any]) -> None:
    """Control: the helpers below forge tokens the server would accept but for one change."""
    assert get_me(sign(claims)).status_code == 200
    assert get_me(hand_signed({"alg": "HS256", "typ": "JWT"}, claims)).status_code == 200


def test_a_real_token_carries_exactly_the_documented_claims(
    tokens: dict[str, Any], claims: dict[str, Any]
) -> None:
    # R37 prefers minimal claims (no email); DESIGN.md asks for `email`, and DESIGN.md wins.
    assert set(claims) == {"token_type", "sub", "email", "sid", "jti", "iat", "exp", "iss",
                           "aud", "amr", "auth_time"}
    assert claims["token_type"] == "access"
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["email"] == "alice@example.com"
    assert uuid.UUID(hex=claims["sid"])
    assert jwt.get_unverified_header(tokens["access_token"]) == {"alg": "HS256", "typ": "JWT"}


def test_the_token_names_the_user_by_id_not_by_email(
    tokens: dict[str, Any], claims: dict[str, Any]
) -> None:
    """R39."""
    assert claims["sub"] == str(tokens["user"]["id"])
    assert "@" not in claims["sub"]


def test_an_access_token_lives_thirty_minutes(
    tokens: dict[str, Any], claims: dict[str, Any]
) -> None:
    """R36 asks for <= 15 minutes; DESIGN.md's 30 minutes wins (sessions are checked anyway)."""
    assert claims["exp"] - claims["iat"] == 1800 == tokens["expires_in"]
    assert abs(claims["iat"] - time.time()) < 60


def test_every_token_has_its_own_jti(tokens: dict[str, Any], login: Any) -> None:
    jtis = {jwt.decode(login().json()["access_token"], options={"verify_signature": False})["jti"]
            for _ in range(3)}

    assert len(jtis) == 3


def test_the_signing_key_is_not_the_django_secret_key(settings: Any) -> None:
    """R31: a dedicated key, so a JWT never doubles as a Django signature."""
    assert signing_key() != settings.SECRET_KEY
    assert len(signing_key()) >= 32


# --- algorithm (R31) and signature (R32) --------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_an_unsigned_token_is_401(claims: dict[str, Any], alg: str) -> None:
    assert_401(get_me(unsigned({"alg": alg, "typ": "JWT"}, claims)))


def test_an_unsigned_token_without_the_trailing_dot_is_401(claims: dict[str, Any]) -> None:
    assert_401(get_me(unsigned({"alg": "none"}, claims)[:-1]))


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_another_hmac_algorithm_with_the_right_key_is_401(
    claims: dict[str, Any], alg: str
) -> None:
    assert_401(get_me(sign(claims, algorithm=alg)))


def test_an_hs256_header_over_an_hs512_signature_is_401(claims: dict[str, Any]) -> None:
    real = sign(claims, algorithm="HS512")
    _, payload, signature = real.split(".")

    assert_401(get_me(f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{payload}.{signature}"))


def test_a_token_signed_with_another_key_is_401(claims: dict[str, Any]) -> None:
    assert_401(get_me(sign(claims, key="x" * 64)))


def test_a_token_signed_with_the_django_secret_key_is_401(
    claims: dict[str, Any], settings: Any
) -> None:
    assert_401(get_me(sign(claims, key=settings.SECRET_KEY)))


def test_a_tampered_payload_with_the_original_signature_is_401(
    tokens: dict[str, Any], claims: dict[str, Any], other_user_claims: dict[str, Any]
) -> None:
    header, _, signature = tokens["access_token"].split(".")
    forged = {**claims, "sub": other_user_claims["sub"], "sid": other_user_claims["sid"]}

    assert_401(get_me(f"{header}.{segment(forged)}.{signature}"))


def test_a_payload_with_one_character_changed_is_401(tokens: dict[str, Any]) -> None:
    header, payload, signature = tokens["access_token"].split(".")
    index = len(payload) // 2
    changed = payload[:index] + ("A" if payload[index] != "A" else "B") + payload[index + 1:]

    assert_401(get_me(f"{header}.{changed}.{signature}"))


@pytest.mark.parametrize("bit", [0, 7, 100, 255])
def test_a_signature_with_one_bit_flipped_is_401(tokens: dict[str, Any], bit: int) -> None:
    header, payload, signature = tokens["access_token"].split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[bit // 8] ^= 1 << (bit % 8)

    assert_401(get_me(f"{header}.{payload}.{b64(bytes(raw))}"))


def test_a_stripped_signature_is_401(tokens: dict[str, Any]) -> None:
    header, payload, _ = tokens["access_token"].split(".")

    assert_401(get_me(f"{header}.{payload}."))


# --- claims (R33, R34, F22) ---------------------------------------------------------------


def _without(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda c: {k: v for k, v in c.items() if k != name}


def _with(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda c: {**c, **changes}


def _shifted(exp: int, iat: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda c: {**c, "exp": int(time.time()) + exp, "iat": int(time.time()) + iat}


BAD_CLAIMS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "no exp": _without("exp"),
    "no iat": _without("iat"),
    "no jti": _without("jti"),
    "no sid": _without("sid"),
    "no sub": _without("sub"),
    "no token_type": _without("token_type"),
    "no iss": _without("iss"),
    "no aud": _without("aud"),
    "expired beyond the leeway": _shifted(exp=-120, iat=-1920),
    "expired just past a 60 s leeway": _shifted(exp=-61, iat=-1861),
    "issued in the future": _shifted(exp=2400, iat=600),
    "not valid before a future nbf": lambda c: {**c, "nbf": int(time.time()) + 600},
    "nbf not a number": _with(nbf="soon"),
    "wrong aud": _with(aud="other"),
    "aud list without ours": _with(aud=["other"]),
    "aud list with ours and another": _with(aud=[AUDIENCE, "other"]),
    "aud list of ours alone": _with(aud=[AUDIENCE]),
    "aud empty": _with(aud=""),
    "wrong iss": _with(iss="urn:"),
    "iss prefix of ours": _with(iss="ainative"),
    "iss with a suffix": _with(iss="ainative-auth-evil"),
    "token_type refresh": _with(token_type="refresh"),
    "token_type with a space": _with(token_type="access "),
    "token_type upper-case": _with(token_type="ACCESS"),
    "token_type list": _with(token_type=["access"]),
    "sub a list": lambda c: {**c, "sub": [c["sub"]]},
    "sub an object": lambda c: {**c, "sub": {"id": c["sub"]}},
    "sub a number": lambda c: {**c, "sub": int(c["sub"])},
    "sub a huge int": _with(sub=2**70),
    "sub a huge numeric string": _with(sub=str(2**70)),
    "sub sql-ish": _with(sub="1 OR 1=1"),
    "sub empty": _with(sub=""),
    "sid not a uuid": _with(sid="not-a-uuid"),
    "sid unknown": _with(sid=uuid.uuid4().hex),
    "sid a number": _with(sid=12345),
    "sid very long": _with(sid="a" * 5000),
    "jti empty": _with(jti=""),
    "jti a number": _with(jti=1),
    "exp a string": _with(exp="9999999999"),
    "exp a float": lambda c: {**c, "exp": c["exp"] + 0.5},
    "exp 1e30": _with(exp=1e30),
    "exp 2**70": _with(exp=2**70),
    "exp a second past the lifetime": lambda c: {**c, "exp": c["iat"] + 1801},
    "exp not after iat": lambda c: {**c, "exp": c["iat"]},
    "iat a string": lambda c: {**c, "iat": str(c["iat"])},
    "iat a float": lambda c: {**c, "iat": c["iat"] + 0.5},
    "padding claim of 20 KB": _with(padding="x" * 20_000),
}


@pytest.mark.parametrize("mutate", list(BAD_CLAIMS.values()), ids=list(BAD_CLAIMS))
def test_a_validly_signed_token_with_bad_claims_is_401(
    claims: dict[str, Any], mutate: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    assert_401(get_me(sign(mutate(claims))))


def test_a_token_with_iss_as_a_list_holding_ours_is_401(claims: dict[str, Any]) -> None:
    """F22 (joserfc CVE-2026-75509): only an exact string match counts. PyJWT will not
    write a list-valued `iss`, so this one is signed by hand."""
    assert_401(get_me(hand_signed({"alg": "HS256", "typ": "JWT"},
                                  {**claims, "iss": [ISSUER]})))


def test_a_token_for_another_users_session_is_401(
    claims: dict[str, Any], other_user_claims: dict[str, Any]
) -> None:
    assert_401(get_me(sign({**claims, "sid": other_user_claims["sid"]})))


def test_a_token_expired_within_the_leeway_still_works(claims: dict[str, Any]) -> None:
    """The leeway (30 s, R33 allows up to 60 s) absorbs clock skew, and no more."""
    now = int(time.time())

    assert get_me(sign({**claims, "exp": now - 5, "iat": now - 1805})).status_code == 200


# --- header (R33 crit, R35 kid) -----------------------------------------------------------


BAD_HEADERS: dict[str, dict[str, Any]] = {
    "unknown crit": {"crit": ["x-unknown"]},
    "crit not a list": {"crit": "x-unknown"},
    "kid traversal": {"kid": "../../etc/passwd"},
    "kid sql-ish": {"kid": "' OR 1=1 --"},
    "kid of 10 KB": {"kid": "k" * 10_000},
    "jku": {"jku": "https://evil.example/jwks.json"},
    "x5u": {"x5u": "https://evil.example/cert.pem"},
    "embedded jwk": {"jwk": {"kty": "oct", "k": b64(b"attacker key")}},
}


@pytest.mark.parametrize("extra", list(BAD_HEADERS.values()), ids=list(BAD_HEADERS))
def test_a_token_with_an_unexpected_header_is_401(
    claims: dict[str, Any], extra: dict[str, Any]
) -> None:
    """No keyring, no key URLs: a header naming a key or a critical extension is refused,
    even when the signature is right (R35 "unknown kid -> 401")."""
    assert_401(get_me(hand_signed({"alg": "HS256", "typ": "JWT", **extra}, claims)))


def test_a_token_signed_with_an_embedded_attacker_key_is_401(claims: dict[str, Any]) -> None:
    attacker = "attacker key"
    header = {"alg": "HS256", "typ": "JWT", "jwk": {"kty": "oct", "k": b64(attacker.encode())}}

    assert_401(get_me(hand_signed(header, claims, key=attacker)))


@pytest.mark.parametrize("header_segment", [
    pytest.param(b64(b"not json"), id="not json"),
    pytest.param(segment(["HS256"]), id="json array"),
    pytest.param(segment("HS256"), id="json string"),
    pytest.param("!!!", id="bad base64"),
    pytest.param(segment({"alg": ["HS256"]}), id="alg a list"),
    pytest.param(segment({"typ": "JWT"}), id="no alg"),
])
def test_a_token_with_a_malformed_header_is_401(
    tokens: dict[str, Any], header_segment: str
) -> None:
    _, payload, signature = tokens["access_token"].split(".")

    assert_401(get_me(f"{header_segment}.{payload}.{signature}"))


# --- malformed tokens and headers (F21) ---------------------------------------------------


@pytest.mark.parametrize("token", [
    pytest.param("abc", id="one segment"),
    pytest.param("a.b", id="two segments"),
    pytest.param("a.b.c.d", id="four segments"),
    pytest.param("a.b.c.d.e", id="five segments (JWE shape)"),
    pytest.param("....", id="only dots"),
    pytest.param("x" * 20_000, id="20 KB"),
    pytest.param("\u00e9t\u00e9.\u00e9t\u00e9.\u00e9t\u00e9", id="non-ascii"),
])
def test_a_malformed_bearer_token_is_401(db: Any, token: str) -> None:
    assert_401(get_me(token))


def test_a_real_token_with_appended_padding_is_401(tokens: dict[str, Any]) -> None:
    assert_401(get_me(tokens["access_token"] + "=="))


def test_a_real_token_padded_to_20_kb_is_401(tokens: dict[str, Any]) -> None:
    assert_401(get_me(tokens["access_token"] + "A" * 20_000))


@pytest.mark.parametrize("header", [
    pytest.param("Bearer", id="scheme only"),
    pytest.param("Bearer ", id="scheme and a space"),
    pytest.param("Bearer a b", id="two tokens"),
    pytest.param("Bearer garbage", id="garbage token"),
    pytest.param("bearer garbage", id="lower-case scheme, garbage token"),
    pytest.param("Bearer abc\x00def", id="nul byte"),
    pytest.param("Bearer " + "A" * 65_536, id="64 KB"),
])
def test_a_broken_bearer_header_is_401(db: Any, header: str) -> None:
    assert_401(get_me(HTTP_AUTHORIZATION=header))


@pytest.mark.parametrize("header", [
    pytest.param("", id="empty"),
    pytest.param("Token abc", id="Token scheme"),
    pytest.param("Basic YWxpY2U6cGFzcw==", id="Basic scheme"),
    pytest.param("Bearerabc", id="no space"),
])
def test_another_scheme_is_not_authenticated(db: Any, header: str) -> None:
    response = get_me(HTTP_AUTHORIZATION=header)

    assert_401(response)
    assert response.json()["error_code"] == "not_authenticated"


def test_another_scheme_is_none_for_the_jwt_class(tokens: dict[str, Any]) -> None:
    """DRF's contract: not my scheme -> None, so other classes may answer."""
    django_request = RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Token {tokens['access_token']}")

    assert JWTAuthentication().authenticate(Request(django_request)) is None


def test_the_scheme_name_is_case_insensitive(tokens: dict[str, Any]) -> None:
    """RFC 9110 section 11.1: auth schemes are case-insensitive."""
    assert get_me(HTTP_AUTHORIZATION=f"bearer {tokens['access_token']}").status_code == 200
    assert get_me(HTTP_AUTHORIZATION=f"BEARER {tokens['access_token']}").status_code == 200


def test_a_real_token_with_the_token_scheme_is_not_authenticated(tokens: dict[str, Any]) -> None:
    assert_401(get_me(HTTP_AUTHORIZATION=f"Token {tokens['access_token']}"))


# --- secrets never in URLs (R7) -----------------------------------------------------------


@pytest.mark.parametrize("parameter", ["access_token", "token", "jwt", "authorization",
                                       "bearer"])
def test_a_token_in_the_query_string_is_refused(tokens: dict[str, Any], parameter: str) -> None:
    # Never accepted as a credential, and refused outright so the client learns why
    # (tests/flows/test_bearer_keys.py has the API-key cases).
    response = APIClient().get(f"{ME}?{parameter}={tokens['access_token']}")

    assert response.status_code == 400
    assert response.json()["error_code"] == "credentials_in_query"


def test_a_token_in_a_form_body_is_ignored(tokens: dict[str, Any]) -> None:
    response = APIClient().post("/api/v1/auth/logout", {"access_token": tokens["access_token"]},
                                format="json")

    assert_401(response)


# --- revocation (R38) ---------------------------------------------------------------------


def test_a_token_of_a_logged_out_session_is_401_on_the_next_request(
    tokens: dict[str, Any],
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert client.get(ME).status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 200

    assert_401(client.get(ME))


# --- key rotation (R35, REL-6) ----------------------------------------------------------


def _me(token: str) -> int:
    return APIClient().get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def _refresh(token: str) -> Any:
    return APIClient().post("/api/v1/auth/refresh", {"refresh_token": token}, format="json")


def test_rotating_secret_key_the_django_way_keeps_sessions_alive(tokens, settings) -> None:
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-for-this-test-0123456789abcdef"
    settings.SECRET_KEY_FALLBACKS = [old]

    assert _me(tokens["access_token"]) == 200
    response = _refresh(tokens["refresh_token"])
    assert response.status_code == 200, response.content

    # What the refresh issued is signed with the new key alone.
    settings.SECRET_KEY_FALLBACKS = []
    assert _me(response.json()["access_token"]) == 200
    assert _refresh(response.json()["refresh_token"]).status_code == 200
    assert _me(tokens["access_token"]) == 401


def test_a_retired_signing_key_verifies_only_while_it_is_a_fallback(
    make_user, login, settings, auth_settings
) -> None:
    auth_settings(SIGNING_KEY="k1" * 32)
    make_user()
    issued = login().json()  # signed with k1

    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "SIGNING_KEY": "k2" * 32,
                              "SIGNING_KEY_FALLBACKS": ["k1" * 32]}
    assert _me(issued["access_token"]) == 200

    auth_settings(SIGNING_KEY_FALLBACKS=[])
    assert _me(issued["access_token"]) == 401
    assert _refresh(issued["refresh_token"]).json()["error_code"] == "refresh_token_invalid"
