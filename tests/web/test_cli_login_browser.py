"""``ainative-auth login`` end to end: the console script against a served example project
(gunicorn, its real settings), a person approving in a real browser (headless Chromium):
the terminal ends with an API key of theirs, ``whoami`` names them, ``logout`` revokes the
key at the server."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.servers import ROOT, Server, migrated_sqlite_url, served_example, site_of
from tests.web.browser import chromium_page, require_chromium, screenshot

pytestmark = [pytest.mark.browser]

CLI = Path(sys.executable).with_name("ainative-auth")


@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_chromium()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite_url(tmp_path_factory.mktemp("cli-login") / "db.sqlite3")


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[Server]:
    with served_example(database) as base:
        yield base


site = site_of


def verified_user(server: Server, database: str, email: str) -> None:
    response = requests.post(f"{site(server)}/api/v1/auth/register", timeout=10,
                             json={"email": email, "password": PASSWORD, "name": "Dev"})
    assert response.status_code == 201, response.text
    script = ("import django\ndjango.setup()\n"
              "from ainative_auth.services.verification import mark_email_verified\n"
              "from ainative_auth.users import find_user_by_email\n"
              f"mark_email_verified(find_user_by_email({email!r}))\n")
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": database,
             "DJANGO_SETTINGS_MODULE": "example_project.settings"})
    assert done.returncode == 0, done.stderr[-2000:]


def run_cli(credentials: Path, *args: str, timeout: int = 30) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - the console script of this package
        [str(CLI), "--credentials", str(credentials), *args], capture_output=True, text=True,
        timeout=timeout, env={**os.environ, "DISPLAY": ""})


class Login:
    """``ainative-auth login`` running in the background; its output as it comes."""

    def __init__(self, credentials: Path, server: str, *args: str) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - the console script of this package
            [str(CLI), "--credentials", str(credentials), "login", "--server", server,
             "--no-browser", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "DISPLAY": ""})
        self.lines: list[str] = []
        self.code_seen = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if re.search(r"enter the code:\s+\S+", line):
                self.code_seen.set()

    def code(self) -> tuple[str, str]:
        assert self.code_seen.wait(20), "".join(self.lines)
        text = "".join(self.lines)
        url = re.search(r"open (\S+)", text)
        code = re.search(r"enter the code:\s+(\S+)", text)
        assert url and code, text
        return url.group(1), code.group(1)

    def finish(self) -> tuple[int, str, str]:
        code = self.process.wait(timeout=60)
        assert self.process.stderr is not None
        return code, "".join(self.lines), self.process.stderr.read()


def test_login_in_a_terminal_approved_in_a_browser(server: Server, database: str,
                                                   tmp_path: Path) -> None:
    base = site(server)
    verified_user(server, database, "dev@example.com")
    credentials = tmp_path / "config" / "ainative-auth" / "credentials.json"
    login = Login(credentials, base, "--scopes", "credits:read mcp", "--key-name", "laptop")
    url, code = login.code()
    assert url == f"{base}/device"

    with chromium_page(base) as page:
        page.goto(url)
        page.wait_for_url(re.compile(r"/login\?next="))
        page.get_by_label("Email").fill("dev@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Code").fill(code.lower())
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("heading", name="Approve AINative CLI on your device?").wait_for()
        assert page.get_by_text("someone sent you this code").is_visible()
        assert page.get_by_text("Read your credit balance").is_visible()
        assert page.get_by_text("127.0.0.1").is_visible()
        screenshot(page, "device-approve")
        page.get_by_role("button", name="Approve").click()
        page.get_by_role("heading", name="Device approved").wait_for()
        screenshot(page, "device-approved")

        status, out, err = login.finish()
        assert status == 0, out + err
        assert str(credentials) in out

        page.goto("/dashboard")
        assert page.get_by_text("Device login").is_visible()

    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    stored = json.loads(credentials.read_text())["servers"][base]
    assert stored["api_key"].startswith("ak_") and stored["signing_secret"].startswith("aks_")
    assert stored["scopes"] == ["credits:read", "mcp"] and stored["key_name"] == "laptop"
    balance = requests.get(f"{base}/api/v1/public/credits/balance", timeout=10,
                           headers={"X-API-Key": stored["api_key"]})
    assert balance.status_code == 200, balance.text

    whoami = run_cli(credentials, "whoami")
    assert whoami.returncode == 0 and "dev@example.com" in whoami.stdout, whoami.stderr

    logout = run_cli(credentials, "logout")
    assert logout.returncode == 0 and "revoked" in logout.stdout, logout.stderr
    refused = requests.get(f"{base}/api/v1/users/me", timeout=10,
                           headers={"X-API-Key": stored["api_key"]})
    assert refused.status_code == 401
    assert run_cli(credentials, "whoami").returncode == 1


def test_a_denied_login_stores_nothing(server: Server, database: str, tmp_path: Path) -> None:
    base = site(server)
    verified_user(server, database, "denier@example.com")
    credentials = tmp_path / "credentials.json"
    login = Login(credentials, base)
    url, code = login.code()
    with chromium_page(base) as page:
        page.goto(f"{url}?code={code}")
        page.get_by_label("Email").fill("denier@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_label("Code").input_value() == code
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Deny").click()
        page.get_by_role("heading", name="Device denied").wait_for()
    status, _, err = login.finish()
    assert status == 1 and "denied" in err
    assert not credentials.exists()
