"""A client generated from the served schema works: openapi-python-client turns
``GET /api/v1/schema`` into a Python package (named after the schema's title), and its
functions drive register -> login -> me -> refresh -> logout -> create key -> use key
against a live server. The generated code is imported in this process (no virtualenv).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "ai_native_auth_api_client"  # the schema's title, "AINative auth API", + client
PASSWORD = "a long passphrase for the generated client"


@pytest.fixture(scope="module")
def client_package(live_server: Any, tmp_path_factory: pytest.TempPathFactory,
                   django_db_blocker: Any) -> Iterator[ModuleType]:
    tmp_path = tmp_path_factory.mktemp("generated")
    # Generated once for the module, outside any test's database access; Django's
    # request handling checks the live server's database connection at each request.
    with django_db_blocker.unblock(), urllib.request.urlopen(  # noqa: S310
            f"{live_server.url}/api/v1/schema?format=json") as answer:
        schema = json.load(answer)
    assert schema["info"]["title"] and schema["info"]["version"]
    document = tmp_path / "schema.json"
    document.write_text(json.dumps(schema))
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", str(document),
         "--meta", "none", "--output-path", str(tmp_path / PACKAGE), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_every_generated_operation_imports(client_package: ModuleType) -> None:
    # Two request content types on login once made the generator emit a login module
    # that failed to import (NameError: Unset).
    modules = list((Path(client_package.__file__).parent / "api").rglob("*.py"))
    assert len(modules) > 20
    for path in modules:
        relative = path.relative_to(Path(client_package.__file__).parent).with_suffix("")
        importlib.import_module(".".join((PACKAGE, *relative.parts)).removesuffix(".__init__"))


def test_the_functions_are_named_for_what_they_do(client_package: ModuleType) -> None:
    for module in ("auth.register", "auth.login", "auth.refresh_token", "auth.logout",
                   "users.get_me", "api_keys.create_api_key", "api_keys.revoke_api_key"):
        assert hasattr(api(module), "sync"), module


def test_a_generated_client_drives_the_whole_flow(client_package: ModuleType,
                                                  live_server: Any, mail_token: Any) -> None:
    base = live_server.url
    anonymous = client_package.Client(base_url=base, raise_on_unexpected_status=True)

    registered = api("auth.register").sync(client=anonymous, body=model("RegisterRequest")(
        email="gen@example.com", password=PASSWORD, name="Gen"))
    assert registered.user.email == "gen@example.com"
    # The address is proven with the mailed link (keys need a verified address).
    api("auth.verify_email").sync(client=anonymous, body=model("VerifyEmailRequest")(
        token=mail_token("verify", to="gen@example.com")))

    tokens = api("auth.login").sync(client=anonymous, body=model("LoginRequest")(
        email="gen@example.com", password=PASSWORD))
    assert tokens.token_type == "bearer" and tokens.expires_in > 0

    bearer = client_package.AuthenticatedClient(base_url=base, token=tokens.access_token,
                                                raise_on_unexpected_status=True)
    me = api("users.get_me").sync(client=bearer)
    assert me.email == "gen@example.com" and me.name == "Gen"

    refreshed = api("auth.refresh_token").sync(client=anonymous, body=model(
        "RefreshRequest")(refresh_token=tokens.refresh_token))
    assert refreshed.refresh_token != tokens.refresh_token

    fresh = client_package.AuthenticatedClient(base_url=base, token=refreshed.access_token,
                                               raise_on_unexpected_status=True)
    created = api("api_keys.create_api_key").sync(client=fresh, body=model(
        "APIKeyCreateRequest")(name="agent", scopes=["credits:read"]))
    assert created.key.startswith("ak_") and created.scopes == ["credits:read"]

    with_key = client_package.Client(base_url=base, headers={"X-API-Key": created.key},
                                     raise_on_unexpected_status=True)
    assert api("users.get_me").sync(client=with_key).email == "gen@example.com"

    logged_out = api("auth.logout").sync_detailed(client=fresh)
    assert logged_out.status_code == 200
    after = api("users.get_me").sync_detailed(
        client=client_package.AuthenticatedClient(base_url=base, token=refreshed.access_token))
    assert after.status_code == 401


def test_form_login_still_works_beside_the_generated_json_login(live_server: Any,
                                                                 make_user: Any) -> None:
    make_user(email="form@example.com", password=PASSWORD)

    answer = httpx.post(f"{live_server.url}/api/v1/auth/login",
                        data={"username": "form@example.com", "password": PASSWORD})

    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "bearer"
