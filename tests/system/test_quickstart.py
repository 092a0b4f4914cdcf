"""The README's Quickstart, as a newcomer follows it, on Django 5.2 and 6.x.

For each: a fresh virtualenv; the README's install line run as it is, from a directory
holding a checkout named as the line says (Django 5.2, Python 3.11), or the wheel built
once from the same checkout (Django 6.x, Python >= 3.12 when this machine has one);
``django-admin startproject``; the README's ``# settings.py`` and ``# urls.py`` blocks
appended as they are, and the Quickstart page's protected view; ``check`` with no issue,
``migrate``, ``runserver``; then the AINative API's flow: register, login, users/me,
refresh, logout, an API key minted with ``mint_api_key`` used on users/me and on the
pasted ``public/credits/balance`` view, forgot-password mail printed on the console and
its token used, the schema, ``/login`` and the admin's API-key pages.

Marked ``install`` (slow: real installs): ``make test`` runs it once, in its first pass.
Everything lives in pytest's temporary directory.
"""

from __future__ import annotations

import glob
import os
import quopri
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from .test_packaging import NOT_SOURCE, REPO_ROOT

pytestmark = pytest.mark.install

README = (REPO_ROOT / "README.md").read_text()
QUICKSTART_PAGE = (REPO_ROOT / "docs" / "quickstart.md").read_text()
ADMIN_PASSWORD = "a long admin passphrase"


def quickstart_blocks() -> tuple[str, str, str]:
    """The README Quickstart's install line, settings block and urls block."""
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```(\w+)\n(.*?)^```$", section, flags=re.M | re.S)
    (_, install), (_, settings_block), (_, urls_block) = blocks
    line = next(line for line in install.splitlines() if line.startswith("pip install"))
    return line.split("#", 1)[0].strip(), settings_block, urls_block


def protected_view_block() -> str:
    """The Quickstart page's own protected view (the `public/credits/balance` one)."""
    blocks = re.findall(r"^```python\n(# urls\.py\n.*?)^```$", QUICKSTART_PAGE,
                        flags=re.M | re.S)
    return next(block for block in blocks if "class CreditsBalance" in block)


def python_at_least_312() -> str | None:
    """A Python >= 3.12 on this machine (the Makefile's search), or None."""
    candidates = [shutil.which("python3.13"), shutil.which("python3.12"),
                  *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[23]*/bin/python3")))]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; assert sys.version_info >= (3, 12)"],
                               capture_output=True, timeout=60, check=False)
        if probe.returncode == 0:
            return candidate
    return None


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        timeout: int = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, check=False, env=env)
    assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
    return result


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a checkout named as the README's install line says."""
    work = tmp_path_factory.mktemp("newcomer")
    install, _, _ = quickstart_blocks()
    target = install.split()[-1]
    assert target.startswith("./"), install
    shutil.copytree(REPO_ROOT, work / target, ignore=NOT_SOURCE)
    return work


@pytest.fixture(scope="module")
def wheel(workdir: Path) -> Path:
    """The wheel, built once from that checkout (what `make package` puts in dist/)."""
    install, _, _ = quickstart_blocks()
    out = workdir / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
        "-w", str(out), str(workdir / install.split()[-1]), cwd=workdir)
    (built,) = out.glob("django_ainative_auth-*-py3-none-any.whl")
    return built


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Project:
    """A project made by `django-admin startproject` in its own virtualenv."""

    def __init__(self, root: Path, venv: Path) -> None:
        self.root, self.venv = root, venv
        self.python = str(venv / "bin" / "python")
        self.env = {**{k: v for k, v in os.environ.items()
                       if not k.startswith(("DJANGO_", "PYTHON", "VIRTUAL_ENV"))},
                    "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "mysite.settings"}
        self.log = root / "server.log"
        self.base = ""
        self.server: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        return run(self.python, "manage.py", *args, cwd=self.root,
                   env={**self.env, **(env or {})}).stdout

    def serve(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        with open(self.log, "wb") as log:
            self.server = subprocess.Popen(  # noqa: S603
                [self.python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def mail(self) -> str:
        """The server's output with quoted-printable mail bodies decoded (Django 6.1's
        console backend prints the MIME message as sent: long lines are soft-broken)."""
        text = self.output()
        if "Content-Transfer-Encoding: quoted-printable" in text:
            text = quopri.decodestring(text.encode()).decode(errors="replace")
        return text


def new_project(workdir: Path, name: str, python: str, install: list[str]) -> Project:
    """A virtualenv with the app installed, a new project, the Quickstart appended."""
    venv = workdir / f"venv-{name}"
    run(python, "-m", "venv", str(venv), cwd=workdir)
    pip = str(venv / "bin" / "pip")
    run(pip, "install", "--quiet", *install, cwd=workdir)
    root = workdir / f"project-{name}"
    root.mkdir()
    run(str(venv / "bin" / "django-admin"), "startproject", "mysite", ".", cwd=root)
    _, settings_block, urls_block = quickstart_blocks()
    with open(root / "mysite" / "settings.py", "a") as settings_file:
        settings_file.write("\n" + settings_block)
    with open(root / "mysite" / "urls.py", "a") as urls_file:
        urls_file.write("\n" + urls_block + "\n" + protected_view_block())
    return Project(root, venv)


def mint(project: Project, *args: str) -> str:
    return project.manage("mint_api_key", "--user", "user@example.com", *args).strip()


def the_seeds_flow(project: Project) -> None:
    """The AINative API's snippets, against the new project."""
    api = f"{project.base}/api/v1"
    # Register, as the API's example does.
    resp = requests.post(f"{api}/auth/register", json={
        "email": "user@example.com", "password": "securepass", "name": "Alice"}, timeout=30)
    assert resp.status_code == 201, resp.text
    assert resp.json()["access_token"]
    # Login.
    resp = requests.post(f"{api}/auth/login",
                         json={"email": "user@example.com", "password": "securepass"},
                         timeout=30)
    assert resp.status_code == 200, resp.text
    access_token = resp.json()["access_token"]
    refresh_token = resp.json()["refresh_token"]
    headers = {"Authorization": f"Bearer {access_token}"}
    me = requests.get(f"{api}/users/me", headers=headers, timeout=30).json()
    assert me["email"] == "user@example.com" and me["name"] == "Alice"
    # Refresh, then log out with the new token: it stops working at once.
    resp = requests.post(f"{api}/auth/refresh", json={"refresh_token": refresh_token},
                         timeout=30)
    assert resp.status_code == 200, resp.text
    new_access_token = resp.json()["access_token"]
    new_headers = {"Authorization": f"Bearer {new_access_token}"}
    assert requests.post(f"{api}/auth/logout", headers=new_headers,
                         timeout=30).status_code == 200
    assert requests.get(f"{api}/users/me", headers=new_headers, timeout=30).status_code == 401

    # An API key minted on the command line, on users/me and on the pasted credits view.
    key = mint(project, "--name", "agent", "--scopes", "credits:read")
    assert key.startswith("ak_")
    resp = requests.get(f"{api}/users/me", headers={"X-API-Key": key}, timeout=30)
    assert resp.status_code == 200 and resp.json()["email"] == "user@example.com"
    resp = requests.get(f"{api}/public/credits/balance", headers={"X-API-Key": key},
                        timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["currency"] == "credits"
    other = mint(project, "--name", "other", "--scopes", "profile:write")
    resp = requests.get(f"{api}/public/credits/balance", headers={"X-API-Key": other},
                        timeout=30)
    assert resp.status_code == 403

    # Forgot password: the mail is printed on the server's console; its token resets.
    resp = requests.post(f"{api}/auth/forgot-password", json={"email": "user@example.com"},
                         timeout=30)
    assert resp.status_code == 200
    token = wait_for(lambda: re.search(r"reset-password\?token=([\w.:-]+)", project.mail()))
    resp = requests.post(f"{api}/auth/reset-password", json={
        "token": token.group(1), "new_password": "a brand new passphrase"}, timeout=30)
    assert resp.status_code == 200, resp.text
    resp = requests.post(f"{api}/auth/login", json={
        "email": "user@example.com", "password": "a brand new passphrase"}, timeout=30)
    assert resp.status_code == 200, resp.text


def the_rest_opens(project: Project) -> None:
    """The schema, the pages and the admin's API-key pages."""
    api = f"{project.base}/api/v1"
    schema = requests.get(f"{api}/schema?format=json", timeout=60)
    assert schema.status_code == 200, schema.text[:2000]
    assert schema.json()["info"]["title"] == "AINative auth API"
    assert requests.get(f"{api}/schema", timeout=60).status_code == 200
    assert requests.get(f"{api}/schema/docs", timeout=30).status_code == 200
    login_page = requests.get(f"{project.base}/login", timeout=30)
    assert login_page.status_code == 200 and "Sign in" in login_page.text
    dashboard = requests.get(f"{project.base}/dashboard", headers={"Accept": "text/html"},
                             timeout=30)
    assert dashboard.status_code == 200 and dashboard.url.startswith(f"{project.base}/login")

    admin = requests.Session()
    page = admin.get(f"{project.base}/admin/login/", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf, page.text[:500]
    signed_in = admin.post(f"{project.base}/admin/login/?next=/admin/", data={
        "csrfmiddlewaretoken": csrf.group(1), "username": "admin",
        "password": ADMIN_PASSWORD}, timeout=30)
    assert signed_in.url == f"{project.base}/admin/", signed_in.text[:500]
    keys = admin.get(f"{project.base}/admin/ainative_auth/apikey/", timeout=30)
    assert keys.status_code == 200 and "agent" in keys.text
    add = admin.get(f"{project.base}/admin/ainative_auth/apikey/add/", timeout=30)
    assert add.status_code == 200 and "Full access" in add.text


def wait_for(probe: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("not seen in time")


def follow_the_quickstart(project: Project) -> None:
    checked = project.manage("check")
    assert "System check identified no issues" in checked, checked
    project.manage("migrate", "--noinput")
    project.manage("createsuperuser", "--noinput", env={
        "DJANGO_SUPERUSER_USERNAME": "admin", "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
        "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD})
    project.serve()
    try:
        the_seeds_flow(project)
        the_rest_opens(project)
    finally:
        project.stop()
    output = project.output()
    assert "Traceback" not in output, output[-4000:]
    assert " 500 " not in output, output[-4000:]


@pytest.fixture
def timed(request: Any) -> Iterator[None]:
    started = time.monotonic()
    yield
    request.node.user_properties.append(("seconds", round(time.monotonic() - started, 1)))


def test_the_quickstart_on_django_5_2(workdir: Path, timed: None) -> None:
    # The README's install line as it is (pip builds the checkout), on Python 3.11, whose
    # newest Django is the 5.2 LTS.
    python = shutil.which("python3.11") or sys.executable
    install, _, _ = quickstart_blocks()
    project = new_project(workdir, "django52", python, install.split()[2:])
    version = run(project.python, "-c", "import django; print(django.get_version())",
                  cwd=workdir).stdout
    assert version.startswith("5.2"), version

    follow_the_quickstart(project)


def test_the_quickstart_on_django_6(workdir: Path, wheel: Path, timed: None) -> None:
    python = python_at_least_312()
    if python is None:
        pytest.skip("no Python >= 3.12 on this machine for Django 6.x")
    project = new_project(workdir, "django6", python, [str(wheel), "django>=6,<7"])
    version = run(project.python, "-c", "import django; print(django.get_version())",
                  cwd=workdir).stdout
    assert version.startswith("6."), version

    follow_the_quickstart(project)
