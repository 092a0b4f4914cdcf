"""``ainative-auth`` (``ainative_auth/cli.py``) on its own: no Django, polite polling, a
credentials file only its owner can read. The whole login against a served example project
with a browser approving is tests/web/test_cli_login_browser.py."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ainative_auth import cli


class FakeServer:
    """The token endpoint's answers, in order, and what the client did."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.now = 0.0
        self.polled_at: list[float] = []

    def post(self, url: str, form: dict[str, str]) -> cli.Answer:
        assert form["grant_type"] == cli.DEVICE_GRANT and form["client_id"] == "ainative-cli"
        self.polled_at.append(self.now)
        body = self.answers.pop(0)
        return cli.Answer(200 if "access_token" in body else 400, body)

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now


def run_poll(server: FakeServer, interval: int = 5, expires_in: int = 600) -> dict[str, Any]:
    return cli.poll_for_key("http://x/oauth/token", "dc", client_id="ainative-cli",
                            interval=interval, expires_in=expires_in, post=server.post,
                            sleep=server.sleep, clock=server.clock)


def test_the_command_never_imports_django() -> None:
    done = subprocess.run([sys.executable, "-c", (
        "import sys, ainative_auth.cli\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')]"
    )], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_it_waits_the_interval_before_every_poll() -> None:
    server = FakeServer({"error": "authorization_pending"}, {"error": "authorization_pending"},
                        {"access_token": "ak_x"})
    assert run_poll(server)["access_token"] == "ak_x"
    assert server.polled_at == [5, 10, 15]


def test_slow_down_adds_five_seconds_for_every_later_poll() -> None:
    server = FakeServer({"error": "slow_down"}, {"error": "authorization_pending"},
                        {"error": "slow_down"}, {"access_token": "ak_x"})
    run_poll(server)
    gaps = [b - a for a, b in zip([0.0, *server.polled_at], server.polled_at, strict=False)]
    assert gaps == [5, 10, 10, 15]


@pytest.mark.parametrize(("error", "message"), [("access_denied", "denied"),
                                                ("expired_token", "expired"),
                                                ("invalid_grant", "refused")])
def test_a_final_error_ends_the_wait(error: str, message: str) -> None:
    with pytest.raises(cli.CLIError, match=message):
        run_poll(FakeServer({"error": error}))


def test_it_gives_up_when_the_code_expires() -> None:
    server = FakeServer(*[{"error": "authorization_pending"}] * 10)
    with pytest.raises(cli.CLIError, match="expired"):
        run_poll(server, interval=5, expires_in=20)
    assert len(server.polled_at) == 4


def test_the_credentials_file_is_the_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "ainative-auth" / "credentials.json"
    os.umask(0o022)
    cli.save(path, {"servers": {"http://x": {"api_key": "ak_secret"}}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    cli.save(path, {"servers": {}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"servers": {}}
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]


def test_the_file_lives_in_the_platforms_config_directory(monkeypatch: Any,
                                                          tmp_path: Path) -> None:
    monkeypatch.delenv("AINATIVE_AUTH_CREDENTIALS", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert cli.credentials_path() == tmp_path / "ainative-auth" / "credentials.json"
    monkeypatch.setenv("AINATIVE_AUTH_CREDENTIALS", str(tmp_path / "elsewhere.json"))
    assert cli.credentials_path() == tmp_path / "elsewhere.json"
    assert cli.credentials_path(str(tmp_path / "given.json")) == tmp_path / "given.json"


def test_no_browser_is_opened_without_a_display(monkeypatch: Any) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not cli.has_browser()
    monkeypatch.setenv("DISPLAY", ":0")
    assert cli.has_browser()


def test_whoami_without_a_login_says_so(tmp_path: Path, capsys: Any) -> None:
    assert cli.main(["--credentials", str(tmp_path / "none.json"), "whoami"]) == 1
    assert "not signed in" in capsys.readouterr().err
