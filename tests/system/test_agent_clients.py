"""Published AINative agent packages, unmodified, against a served example project.

Each package is installed from PyPI (the ``agent-clients`` extra of ``pyproject.toml``
pins the versions tested) into a virtualenv of its own, ``.venv-agent-clients`` (they
need ``mcp<2``, the rest of the suite the MCP SDK 2.x), made on the first run and reused
while the list is unchanged, and run in its own process, configured only through its own
environment variables, the way an agent host would start it:

- ``ainative-social-mcp`` 0.2.0: ``AINATIVE_API_KEY``, ``AINATIVE_BASE_URL`` (the origin;
  it appends ``/api/v1/public``); sends ``Authorization: Bearer <key>`` only.
- ``ainative-openai`` 0.1.0: the OpenAI SDK with ``AINATIVE_BASE_URL`` (the API's base,
  ``.../api/v1``) and ``AINATIVE_API_KEY``; sends ``Authorization: Bearer <key>``.
- ``ainative-opencode-memory`` 0.1.1: ``AINATIVE_API_URL`` (the origin),
  ``AINATIVE_API_KEY``; sends both ``X-API-Key`` and ``Authorization: Bearer``.
- ``ainative-python`` 3.1.1: ``base_url`` with the trailing slash, ``X-API-Key`` and v1
  signatures.

A key is given to every one of them, so none tries to provision a trial key
(``POST /api/v1/public/instant-db``); ``HOME`` is a temporary folder, so nothing they
might cache touches the machine. Each must get 200 from ``GET public/credits/balance``
(scope ``credits:read``) and, with a key lacking the scope, a 403 it reports as a
permission error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import ROOT, SERVERS_SECRET_KEY, Server, migrated_sqlite_url, start_servers

# The clients' server runs on its own SQLite without Redis: the run's database and cache do
# not reach these tests (.ci/run's PostgreSQL pass leaves them out).
pytestmark = pytest.mark.standalone

PASSWORD = "agents bring their own clients"
EMAIL = "agent-owner@example.com"
BALANCE = "/api/v1/public/credits/balance"


AGENT_VENV = ROOT / ".venv-agent-clients"


def agent_client_requirements() -> list[str]:
    """The ``agent-clients`` extra of ``pyproject.toml``: what the clients' venv holds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["optional-dependencies"]["agent-clients"])


@pytest.fixture(scope="session")
def agent_python() -> str:
    """The interpreter of the clients' own virtualenv, made (or remade, when the list
    changed) from ``agent_client_requirements()``."""
    wanted = "\n".join(agent_client_requirements())
    stamp = AGENT_VENV / ".installed"
    python = AGENT_VENV / "bin" / "python"
    if not (stamp.exists() and stamp.read_text() == wanted and python.exists()):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(AGENT_VENV)],  # noqa: S603
                       check=True, timeout=120)
        subprocess.run([str(python), "-m", "pip", "install", "-q",  # noqa: S603
                        *agent_client_requirements()], check=True, timeout=600)
        stamp.write_text(wanted)
    return str(python)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite_url(tmp_path_factory.mktemp("agent-clients") / "db.sqlite3")


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[Server]:
    env = {"DATABASE_URL": database, "REDIS_URL": None, "CACHE_URL": None,
           "WEB_CONCURRENCY": None, "SITE_URL": None}
    with start_servers(1, env) as (base,):
        response = requests.post(f"{base}/api/v1/auth/register", timeout=10, json={
            "email": EMAIL, "password": PASSWORD, "name": "Agent Owner"})
        assert response.status_code == 201, response.text
        yield base


def mint(database: str, name: str, scopes: str, *extra: str) -> list[str]:
    """``manage.py mint_api_key`` against the server's database: the key (and, with
    ``--signing-secret``, its secret) as printed."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "ainative_mint_api_key", "--user", EMAIL, "--name", name,
         "--scopes", scopes, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "DATABASE_URL": database, "SECRET_KEY": SERVERS_SECRET_KEY,
             "DJANGO_SETTINGS_MODULE": "example_project.settings"},
    )
    return result.stdout.split()


@pytest.fixture(scope="module")
def keys(server: Server, database: str) -> dict[str, str]:
    reader = mint(database, "agent-reader", "credits:read")[0]
    other = mint(database, "agent-other", "profile:read")[0]
    signed, secret = mint(database, "agent-signed", "credits:read", "--signing-secret")
    return {"reader": reader, "other": other, "signed": signed, "secret": secret}


def run_client(script: str, env: dict[str, str], home: Path, python: str) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter with only the package's own variables set
    (and a throw-away HOME); it prints one JSON object."""
    clean = {name: value for name, value in os.environ.items()
             if not name.startswith(("AINATIVE_", "OPENAI_", "ZERODB_"))}
    result = subprocess.run(  # noqa: S603 - our own interpreter, our own script
        [python, "-c", textwrap.dedent(script)],
        capture_output=True, text=True, timeout=90, cwd=home,
        env={**clean, "HOME": str(home), **env},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


SOCIAL_MCP = """
    import json, httpx
    import ainative_social_mcp.server as s   # reads AINATIVE_API_KEY / AINATIVE_BASE_URL
    r = httpx.get(s._BASE + "/credits/balance", headers=s._headers())
    print(json.dumps({"status": r.status_code, "body": r.json(),
                      "sent": sorted(k.lower() for k in r.request.headers),
                      "surfaced": s._err(r) if r.status_code >= 400 else None}))
"""

OPENAI = """
    import json, openai
    from ainative_openai import OpenAI
    client = OpenAI(max_retries=0)            # AINATIVE_BASE_URL, AINATIVE_API_KEY
    try:
        body = client.get("/public/credits/balance", cast_to=object)
        print(json.dumps({"status": 200, "body": body}))
    except openai.APIStatusError as exc:
        print(json.dumps({"status": exc.status_code, "body": exc.body,
                          "surfaced": type(exc).__name__}))
"""

OPENCODE_MEMORY = """
    import asyncio, json, httpx
    import ainative_opencode_memory.server as s   # AINATIVE_API_URL, AINATIVE_API_KEY

    async def main():
        async with s._client() as c:
            r = await c.get("/api/v1/public/credits/balance")
        surfaced = None
        try:
            r.raise_for_status()
        except httpx.HTTPStatusError as exc:
            surfaced = str(exc).splitlines()[0]
        print(json.dumps({"status": r.status_code, "body": r.json(),
                          "sent": sorted(k.lower() for k in r.request.headers),
                          "provisioned": s._CLAIM_URL != "", "surfaced": surfaced}))

    asyncio.run(main())
"""

SDK = """
    import json, os
    from ainative import AINativeClient
    from ainative.exceptions import APIError
    client = AINativeClient(api_key=os.environ["KEY"], api_secret=os.environ.get("SECRET"),
                            base_url=os.environ["BASE"] + "/api/v1/")
    client.config.max_retries = 1
    try:
        print(json.dumps({"status": 200, "body": client.get("public/credits/balance")}))
    except APIError as exc:
        print(json.dumps({"status": exc.status_code, "body": json.loads(exc.response_body),
                          "surfaced": type(exc).__name__}))
"""


def clients(base: str, key: str, secret: str | None = None) -> dict[str, tuple[str, dict]]:
    sdk_env = {"BASE": base, "KEY": key, **({"SECRET": secret} if secret else {})}
    return {
        "ainative-social-mcp": (SOCIAL_MCP, {"AINATIVE_API_KEY": key,
                                             "AINATIVE_BASE_URL": base}),
        "ainative-openai": (OPENAI, {"AINATIVE_API_KEY": key,
                                     "AINATIVE_BASE_URL": f"{base}/api/v1"}),
        "ainative-opencode-memory": (OPENCODE_MEMORY, {"AINATIVE_API_KEY": key,
                                                       "AINATIVE_API_URL": base}),
        "ainative-python": (SDK, sdk_env),
    }


NAMES = ["ainative-social-mcp", "ainative-openai", "ainative-opencode-memory",
         "ainative-python"]


@pytest.mark.parametrize("name", NAMES)
def test_each_client_reads_a_scoped_endpoint(server: Server, keys: dict[str, str], name: str,
                                             tmp_path: Path, agent_python: str) -> None:
    script, env = clients(server, keys["reader"])[name]
    seen = run_client(script, env, tmp_path, agent_python)
    assert seen["status"] == 200, seen
    assert seen["body"]["currency"] == "credits"
    # Nothing was provisioned or cached on the way.
    assert not seen.get("provisioned") and not (tmp_path / ".ainative").exists()


def test_what_the_bearer_only_clients_send(server: Server, keys: dict[str, str],
                                           tmp_path: Path, agent_python: str) -> None:
    seen = run_client(*clients(server, keys["reader"])["ainative-social-mcp"], tmp_path,
                      agent_python)
    assert "authorization" in seen["sent"] and "x-api-key" not in seen["sent"]
    seen = run_client(*clients(server, keys["reader"])["ainative-opencode-memory"], tmp_path,
                      agent_python)
    assert {"authorization", "x-api-key"} <= set(seen["sent"])


@pytest.mark.parametrize(("name", "surfaced"), [
    ("ainative-social-mcp", "HTTP 403"),
    ("ainative-openai", "PermissionDeniedError"),
    ("ainative-opencode-memory", "403 Forbidden"),
    ("ainative-python", "APIError"),
])
def test_a_key_without_the_scope_is_a_permission_error_in_each_client(
    server: Server, keys: dict[str, str], name: str, surfaced: str, tmp_path: Path,
    agent_python: str,
) -> None:
    script, env = clients(server, keys["other"])[name]
    seen = run_client(script, env, tmp_path, agent_python)
    assert seen["status"] == 403, seen
    assert seen["body"]["error_code"] == "insufficient_scope"
    assert surfaced in seen["surfaced"]


def test_the_sdk_signs_with_a_key_that_requires_signatures(
    server: Server, keys: dict[str, str], tmp_path: Path, agent_python: str
) -> None:
    seen = run_client(SDK, {"BASE": server, "KEY": keys["signed"], "SECRET": keys["secret"]},
                      tmp_path, agent_python)
    assert seen["status"] == 200, seen


def test_the_401_tells_a_client_where_the_metadata_is(server: Server) -> None:
    response = requests.get(f"{server}{BALANCE}", timeout=10,
                            headers={"Authorization": "Bearer ak_revoked_or_wrong"})
    assert response.status_code == 401
    header = response.headers["WWW-Authenticate"]
    assert header.startswith('Bearer realm="api", error="invalid_token", resource_metadata="')
    # The example's SITE_URL defaults to http://localhost:<PORT>; read it from loopback.
    url = header.split('resource_metadata="', 1)[1].rstrip('"')
    port = server.rsplit(":", 1)[1]
    assert url == f"http://localhost:{port}/.well-known/oauth-protected-resource/api/v1"
    document = requests.get(server + url.split(port, 1)[1], timeout=10).json()
    assert document["resource"] == f"http://localhost:{port}/api/v1"
    assert "credits:read" in document["scopes_supported"]
