"""Schema-driven fuzzing (issue 13, item 4): schemathesis against the served OpenAPI schema.

The example project's own schema (``/api/v1/schema``) is loaded through schemathesis'
in-process WSGI support, and every operation in it is fuzzed in three authentication
modes: anonymous (no credential, or the junk credentials schemathesis generates for the
declared security schemes), ``bearer`` (a real access token) and ``api_key`` (a real key
with scope ``"*"``). Each example is positive (what the schema allows) or negative (what it
forbids), and every answer must pass:

- ``not_a_server_error``: never a 5xx;
- the schema conformance checks: the status code is documented for the operation, the
  ``Content-Type`` and body match what the schema says for that status, headers too;
- ``negative_data_rejection``: a request the schema forbids is refused with a 4xx;
- ``ignored_auth``: a 2xx with a credential turns into a 401 without it;
- for schemathesis' deterministic coverage cases (first, before the random ones), also
  ``unsupported_method`` (405 with ``Allow``) and ``missing_required_header``;
- ``error_body``: every 4xx is the API's error body, ``{detail, error_code[, errors]}``
  and nothing else (``assert_error`` of conftest, plus the exact key set).

Each example runs inside a savepoint that is rolled back afterwards, so a logout, a key
revocation, a registration or a password change by one example is invisible to the next
(and to hypothesis when it shrinks a failure), on top of the fresh database pytest-django
gives every test. Positive bodies get some fields swapped for real values (the user's
address and password, a live refresh token, a valid verification or reset token, an
allowed ``redirect_uri``, a fresh ``state``), so that examples get past the first check
and reach the success paths. The social endpoints talk to the stand-in GitHub and OIDC
issuer of ``tests/oauth_standins.py``.

Bounded and repeatable: the seed is fixed (``FUZZ_SEED``, default below) and each
(operation, mode, generation mode) gets ``FUZZ_EXAMPLES`` examples (default below).
A longer run::

    FUZZ_EXAMPLES=300 .venv/bin/python -m pytest -p no:cacheprovider -m fuzz

A failure it finds is fixed where the server or the schema is wrong, and the request
that showed it is kept as a plain test (the email fields' ``format: email`` came from here).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.conftest import PASSWORD, assert_error
from tests.oauth_standins import CALLBACK, serving_github, serving_linkedin

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

SEED = int(os.environ.get("FUZZ_SEED", "20260513"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))



def _load(**generation: Any) -> Any:
    """The served schema (no database needed to serve it), loaded once at collection."""
    config = schemathesis.Config.from_dict({"generation": generation})
    return schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", get_wsgi_application(),
                                          config=config)


# Anonymous cases carry the junk credentials schemathesis makes up for each declared
# scheme; authenticated ones only the real credential, so that negative examples break
# the body and the parameters rather than (again) the credential.
SCHEMA = _load()
AUTHENTICATED_SCHEMA = _load(**{"with-security-parameters": False})
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
AUTHENTICATED_OPERATIONS = {result.ok().label: result.ok()
                            for result in AUTHENTICATED_SCHEMA.get_all_operations()}
MODES = ("anonymous", "bearer", "api_key")
CREDENTIAL_HEADERS = ("authorization", "x-api-key")
ERROR_KEYS = {"detail", "error_code", "errors"}


class _Answer:
    """A schemathesis response seen the way ``assert_error`` reads a Django one."""

    def __init__(self, response: schemathesis.Response) -> None:
        self.status_code = response.status_code
        self.content = response.content
        self._headers = {name.lower(): values for name, values in response.headers.items()}

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._headers[name.lower()])

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._headers


def error_body(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every 4xx is ``{detail, error_code[, errors]}``: nothing more, nothing less."""
    if response.status_code < 400:
        return
    body = assert_error(_Answer(response), response.status_code)
    assert set(body) <= ERROR_KEYS, sorted(body)
    if "errors" in body:
        assert body["errors"] and all(
            set(item) == {"field", "code", "message"} for item in body["errors"]
        ), body["errors"]


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance,
          negative_data_rejection, error_body]
AUTHENTICATED_CHECKS = [*CHECKS, ignored_auth]
# The coverage phase's own probes: other methods (405 with Allow), a missing header.
COVERAGE_CHECKS = [unsupported_method, missing_required_header]


@dataclass
class Credentials:
    """The real things a fuzzed request may carry: one user's password, tokens, key,
    session and social account (made once per test; every example is rolled back)."""

    user: Any
    access_token: str
    refresh_token: str
    api_key: str
    key_id: str
    session_id: str
    account_id: str

    def headers(self, mode: str) -> dict[str, str]:
        if mode == "bearer":
            return {"Authorization": f"Bearer {self.access_token}"}
        if mode == "api_key":
            return {"X-API-Key": self.api_key}
        return {}

    def path_ids(self) -> dict[str, str]:
        return {"key_id": self.key_id, "session_id": self.session_id,
                "account_id": self.account_id}

    def body_value(self, field: str, path: str) -> Any:
        """A real value for body field ``field`` of the operation at ``path`` (None: none)."""
        from ainative_auth.credentials.email_tokens import (
            reset_password_tokens,
            verify_email_tokens,
        )
        from ainative_auth.services import social

        if field in ("email", "username"):
            return "alice@example.com"
        if field in ("password", "current_password"):
            return PASSWORD
        if field == "refresh_token":
            return self.refresh_token
        if field == "token":
            tokens = reset_password_tokens if path.endswith("reset-password") else \
                verify_email_tokens
            return tokens.make_email_token(self.user)
        if field == "redirect_uri":
            return CALLBACK
        if field == "state":
            # A state is used once: a new one for each example, as authorize would give.
            provider = "github" if "/github/" in path else "linkedin"
            user = self.user if path.endswith("/connect") else None
            return social.start_authorization(provider, redirect_uri=CALLBACK,
                                              user=user)["state"]
        return None


REAL_FIELDS = ("email", "username", "password", "current_password", "refresh_token", "token",
               "redirect_uri", "state")


@pytest.fixture
def credentials(make_user: Any) -> Credentials:
    from allauth.socialaccount.models import SocialAccount

    from ainative_auth.client import NO_CLIENT
    from ainative_auth.services import api_keys, sessions

    user = make_user()
    signed_in = sessions.sign_in(user, NO_CLIENT, method="password")
    issued = api_keys.create_key(user, name="fuzz", scopes=["*"])
    account = SocialAccount.objects.create(user=user, provider="github", uid="4242")
    return Credentials(user=user, access_token=signed_in.tokens["access_token"],
                       refresh_token=signed_in.tokens["refresh_token"],
                       api_key=issued.plaintext, key_id=issued.key.public_id,
                       session_id=str(signed_in.session.pk), account_id=str(account.pk))


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Serve the way Django's test client does: schemathesis calls the real WSGI handler,
    whose request_started/finished signals close "old" connections, and closing the
    connection that holds the test's transaction ends it (on PostgreSQL; SQLite's in-memory
    test database is never closed)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def standins(settings: Any, operation: str) -> Iterator[list[Any]]:
    """The stand-in providers, for the social operations only (they cost a thread each)."""
    if "/github/" not in operation and "/linkedin/" not in operation:
        yield []
        return
    with serving_github(settings) as github, serving_linkedin(settings) as linkedin:
        yield [github, linkedin]


def _auth_storage(credentials: Credentials, mode: str) -> Any:
    """A schemathesis auth provider that puts the mode's real credential on each case (and
    drops the junk ones generated for the other security schemes)."""
    storage: Any = schemathesis.auths.AuthStorage()

    @storage.auth(refresh_interval=None)
    class RealCredential:
        def get(self, case: Any, ctx: Any) -> dict[str, str]:
            return credentials.headers(mode)

        def set(self, case: Any, data: dict[str, str], ctx: Any) -> None:
            for name in [h for h in case.headers if h.lower() in CREDENTIAL_HEADERS]:
                del case.headers[name]
            case.headers.update(data)

    return storage


def _strategies(operation: Any, mode: str, credentials: Credentials) -> list[Any]:
    """Positive and (where there is anything to break) negative cases, half of them naming
    the user's real key/session/social account in the path."""
    auth = _auth_storage(credentials, mode) if mode != "anonymous" else None
    path_names = {p.name for p in operation.iter_parameters() if p.location.value == "path"}
    real = {name: value for name, value in credentials.path_ids().items() if name in path_names}
    # Any string is a valid path segment: with nothing else to break there is no negative case.
    negatable = bool(list(operation.body)) or any(
        p.location.value != "path" for p in operation.iter_parameters())
    modes = [schemathesis.GenerationMode.POSITIVE]
    if negatable:
        modes.append(schemathesis.GenerationMode.NEGATIVE)
    found = []
    for generation_mode in modes:
        strategy = operation.as_strategy(generation_mode=generation_mode, auth_storage=auth)
        if real:
            strategy = st.one_of(strategy, operation.as_strategy(
                generation_mode=generation_mode, auth_storage=auth, path_parameters=real))
        found.append(strategy)
    return found


def _declared_fields(operation: Any) -> set[str]:
    return {name for body in operation.body
            for name in body.definition.get("schema", {}).get("properties", {})}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_the_schema_holds_under_fuzzing(operation: str, mode: str, credentials: Credentials,
                                        standins: list[Any]) -> None:
    api_operation = (OPERATIONS if mode == "anonymous" else AUTHENTICATED_OPERATIONS)[operation]
    checks = CHECKS if mode == "anonymous" else AUTHENTICATED_CHECKS
    swappable = sorted(_declared_fields(api_operation) & set(REAL_FIELDS))

    def one_example(case: schemathesis.Case, swap: frozenset[str]) -> None:
        with transaction.atomic():
            # Positive bodies get some fields replaced with real values (the user's address
            # and password, a live refresh token, a valid email token, an allowed
            # redirect_uri, a fresh state), so examples also reach past the first check.
            positive = case.meta is None or not case.meta.generation.mode.is_negative
            if positive and isinstance(case.body, dict):
                for name in sorted(swap):
                    case.body[name] = credentials.body_value(name, api_operation.path)
            response = case.call()
            case.validate_response(response, checks=checks)
            transaction.set_rollback(True)

    # First schemathesis' coverage phase: deterministic boundary cases (edges of each
    # length and type, each required field missing, wrong content types, other methods).
    auth = _auth_storage(credentials, mode) if mode != "anonymous" else None
    coverage = CoverageGenerator(
        operation=api_operation, generation_modes=list(schemathesis.GenerationMode),
        generation_config=api_operation.schema.config.generation_for(
            operation=api_operation, phase="coverage"),
        auth_storage=auth, override=Override(), feedback=FeedbackSources())
    for case in coverage:
        with transaction.atomic():
            case.validate_response(case.call(), checks=[*checks, *COVERAGE_CHECKS])
            transaction.set_rollback(True)

    # Then the random examples, under the fixed seed.
    swaps = st.frozensets(st.sampled_from(swappable)) if swappable else st.just(frozenset())
    for strategy in _strategies(api_operation, mode, credentials):
        run = seed(SEED)(settings(
            max_examples=EXAMPLES, database=None, deadline=None, derandomize=False,
            phases=[Phase.explicit, Phase.generate, Phase.shrink], print_blob=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                   HealthCheck.data_too_large],
        )(given(case=strategy, swap=swaps)(one_example)))
        run()


def test_every_operation_of_the_schema_is_fuzzed() -> None:
    """The fuzz covers the whole served schema, the error body included."""
    served = json.loads(SCHEMA.raw_schema and json.dumps(SCHEMA.raw_schema))
    labels = {f"{method.upper()} {path}" for path, item in served["paths"].items()
              for method in item if method in ("get", "post", "put", "patch", "delete")}

    assert labels == set(OPERATIONS)
    assert len(OPERATIONS) >= 30
    assert served["components"]["schemas"]["Error"]["required"] == ["detail", "error_code"]
