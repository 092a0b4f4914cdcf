"""AINative's own agent packages, unmodified, get a working key from a served example
project on their first run (``POST /api/v1/public/instant-db``), and the person claims it.

- ``ainative-opencode-memory`` 0.1.1 provisions when its server module is imported with no
  key (``AINATIVE_API_URL`` names the server). It needs ``mcp<2`` and this suite has mcp 2,
  so it runs in a virtualenv of its own (marked ``install``: a real install, once per
  ``make test``).
- ``ainative-openai`` 0.1.0's ``provision()`` posts to a URL fixed in the module
  (``INSTANT_DB_URL``), which the test points at the server.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import PASSWORD
from tests.servers import ROOT, Server, migrated_sqlite_url, served_example, site_of


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite_url(tmp_path_factory.mktemp("trial-clients") / "db.sqlite3")


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[Server]:
    with served_example(database) as base:
        yield base


site = site_of


def works(base: str, key: str, **headers: str) -> bool:
    response = requests.get(f"{base}/api/v1/public/credits/balance", timeout=10,
                            headers={"X-API-Key": key, **headers})
    return response.status_code == 200


def signed_in(base: str, database: str, email: str) -> requests.Session:
    session = requests.Session()
    created = session.post(f"{base}/api/v1/auth/register", timeout=10,
                           json={"email": email, "password": PASSWORD, "name": "T"})
    assert created.status_code == 201, created.text
    script = ("import django\ndjango.setup()\n"
              "from ainative_auth.services.verification import mark_email_verified\n"
              "from ainative_auth.users import find_user_by_email\n"
              f"mark_email_verified(find_user_by_email({email!r}))\n")
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": database,
             "DJANGO_SETTINGS_MODULE": "example_project.settings"})
    assert done.returncode == 0, done.stderr[-2000:]
    page = session.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    session.post(f"{base}/login", timeout=10, headers={"Referer": f"{base}/login"},
                 data={"email": email, "password": PASSWORD,
                       "csrfmiddlewaretoken": token.group(1)})
    return session


def claim(session: requests.Session, claim_url: str) -> requests.Response:
    page = session.get(claim_url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    return session.post(f"{claim_url}/accept", timeout=10, headers={"Referer": claim_url},
                        data={"csrfmiddlewaretoken": token.group(1)})


@pytest.mark.install
def test_opencode_memory_provisions_a_working_key_on_its_first_run(
        server: Server, database: str, tmp_path: Path) -> None:
    base = site(server)
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    installed = subprocess.run(  # noqa: S603 - pip of the virtualenv just made
        [str(python), "-m", "pip", "install", "--quiet", "ainative-opencode-memory==0.1.1"],
        capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    cache = tmp_path / "home" / ".ainative" / "opencode-memory.json"
    first_run = subprocess.run(  # noqa: S603 - the package's own module, unmodified
        [str(python), "-c", "import json, ainative_opencode_memory.server as s; "
                            "print(json.dumps({'key': s.API_KEY, 'claim': s._CLAIM_URL}))"],
        capture_output=True, text=True, timeout=120,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path / "home"),
             "AINATIVE_API_URL": base})
    assert first_run.returncode == 0, first_run.stderr[-3000:]
    got = json.loads(first_run.stdout.strip().splitlines()[-1])
    assert got["key"].startswith("ak_") and got["claim"].startswith(f"{base}/claim/")
    assert json.loads(cache.read_text())["api_key"] == got["key"]
    # It sends the key both ways; the key decides.
    assert works(base, got["key"], Authorization=f"Bearer {got['key']}")

    # The person claims it; the agent's cached key keeps working, now as theirs.
    session = signed_in(base, database, "opencode@example.com")
    assert claim(session, got["claim"]).status_code == 200
    me = requests.get(f"{base}/api/v1/users/me", headers={"X-API-Key": got["key"]},
                      timeout=10)
    assert me.json()["email"] == "opencode@example.com"


def test_ainative_openai_provision_gets_a_working_key(server: Server, database: str,
                                                     tmp_path: Path, monkeypatch: Any) -> None:
    pytest.importorskip("openai")
    import ainative_openai  # noqa: F401  (the package, then its provision module)

    provision_module = sys.modules["ainative_openai.provision"]
    base = site(server)
    monkeypatch.setattr(provision_module, "INSTANT_DB_URL",
                        f"{base}/api/v1/public/instant-db")
    monkeypatch.setattr(provision_module, "CONFIG_DIR", tmp_path / ".ainative")
    monkeypatch.setattr(provision_module, "CONFIG_FILE", tmp_path / ".ainative" / "config.json")
    key = provision_module.provision()
    assert key.startswith("ak_") and works(base, key)
    saved = json.loads((tmp_path / ".ainative" / "config.json").read_text())
    assert saved["api_key"] == key and saved["claim_url"].startswith(f"{base}/claim/")
    assert stat.S_IMODE((tmp_path / ".ainative" / "config.json").stat().st_mode) == 0o600
    # Its claim link is single use: a second person finds it dead.
    first = signed_in(base, database, "openai-user@example.com")
    assert claim(first, saved["claim_url"]).status_code == 200
    second = signed_in(base, database, "second@example.com")
    assert second.get(saved["claim_url"], timeout=10).status_code == 404
