"""``ainative-auth``: sign a terminal in to a server running ainative_auth, with nothing
pasted. Standard library only, and never Django: it runs wherever Python does.

``ainative-auth login --server URL`` runs the device authorization grant (RFC 8628) with
``credential=api_key``: it reads the server's metadata (RFC 8414), asks for a code, shows
the address and the code (and opens a browser when there is one), and polls the token
endpoint at the pace the server sets (``interval``, plus 5 seconds after each
``slow_down``, for good) until the person approves on the server's ``/device`` page. The
answer is a new API key of theirs, which is stored with its signing secret in a file only
its owner can read: ``credentials.json`` in the platform's configuration directory
(``$XDG_CONFIG_HOME/ainative-auth`` on Linux), or ``--credentials`` /
``AINATIVE_AUTH_CREDENTIALS``.

``ainative-auth whoami`` asks the API who the stored key belongs to;
``ainative-auth logout`` revokes the key at the server (RFC 7009) and forgets it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

CLIENT_ID = "ainative-cli"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5
TIMEOUT = 30
USER_AGENT = "ainative-auth-cli"


class CLIError(Exception):
    """A failure to report in one line (exit status 1)."""


# --- where the key is kept ----------------------------------------------------------------


def config_dir() -> Path:
    """The platform's per-user configuration directory, ``ainative-auth`` inside it."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return base / "ainative-auth"


def credentials_path(given: str | None = None) -> Path:
    chosen = given or os.environ.get("AINATIVE_AUTH_CREDENTIALS")
    return Path(chosen).expanduser() if chosen else config_dir() / "credentials.json"


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"servers": {}}
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
        raise CLIError(f"{path} is not a credentials file of ainative-auth")
    return data


def save(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` so that only its owner can read it: the directory 0700, the file
    0600 from its creation (a temporary file in the same directory, then renamed over)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(prefix=".credentials-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            os.chmod(temporary, 0o600)
            json.dump(data, out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    os.chmod(path, 0o600)


# --- HTTP --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def _request(method: str, url: str, *, form: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> Answer:
    if urllib.parse.urlparse(url).scheme not in ("http", "https"):
        raise CLIError(f"not an http(s) URL: {url}")
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    # The scheme was checked just above: http(s) only, never file: or custom schemes.
    request = urllib.request.Request(url, data=data, method=method, headers={  # noqa: S310
        "Accept": "application/json", "User-Agent": USER_AGENT,
        **({"Content-Type": "application/x-www-form-urlencoded"} if data else {}),
        **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as exc:
        raise CLIError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from exc
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {}
    return Answer(status, body if isinstance(body, dict) else {})


def get_json(url: str, headers: dict[str, str] | None = None) -> Answer:
    return _request("GET", url, headers=headers)


def post_form(url: str, form: dict[str, str]) -> Answer:
    return _request("POST", url, form=form)


# --- login: the device grant --------------------------------------------------------------


def discover(server: str, get: Callable[[str], Answer] = get_json) -> dict[str, Any]:
    """The server's RFC 8414 metadata (the OpenID document if that is all it has)."""
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        answer = get(server + path)
        if answer.status == 200 and answer.body.get("token_endpoint"):
            if not answer.body.get("device_authorization_endpoint"):
                raise CLIError(f"{server} does not offer the device authorization grant")
            return answer.body
    raise CLIError(f"{server} publishes no OAuth server metadata")


def poll_for_key(token_endpoint: str, device_code: str, *, client_id: str, interval: int,
                 expires_in: int, post: Callable[[str, dict[str, str]], Answer] = post_form,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """Poll until the person decides (RFC 8628 section 3.5): wait ``interval`` seconds
    before each poll, 5 more after each ``slow_down`` (kept for every later poll)."""
    deadline = clock() + expires_in
    while clock() < deadline:
        sleep(interval)
        answer = post(token_endpoint, {"grant_type": DEVICE_GRANT, "device_code": device_code,
                                       "client_id": client_id})
        if answer.status == 200 and answer.body.get("access_token"):
            return answer.body
        error = answer.body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_STEP
            continue
        if error == "access_denied":
            raise CLIError("the request was denied")
        if error == "expired_token":
            break
        raise CLIError(f"the server refused: {error or answer.status} "
                       f"{answer.body.get('error_description', '')}".rstrip())
    raise CLIError("the code expired before it was approved; run login again")


def has_browser() -> bool:
    """A graphical browser can be opened (not over SSH on a server, not a bare console,
    where webbrowser would start a text browser in this terminal)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def login(args: argparse.Namespace, out: TextIO) -> int:
    server = args.server.rstrip("/")
    metadata = discover(server)
    form = {"client_id": args.client_id, "credential": "api_key",
            "key_name": args.key_name or f"ainative-auth on {socket.gethostname()}"[:100]}
    if args.scopes:
        form["scope"] = " ".join(args.scopes.replace(",", " ").split())
    started = post_form(metadata["device_authorization_endpoint"], form)
    if started.status != 200 or not started.body.get("device_code"):
        raise CLIError(f"the server refused: {started.body.get('error', started.status)} "
                       f"{started.body.get('error_description', '')}".rstrip())
    codes = started.body
    complete = codes.get("verification_uri_complete") or codes["verification_uri"]
    print(f"To sign in, open {codes['verification_uri']}\nand enter the code:  "
          f"{codes['user_code']}\n", file=out)
    if not args.no_browser and has_browser() and webbrowser.open(complete):
        print(f"(A browser was opened at {complete}.)", file=out)
    print("Waiting for approval...", file=out, flush=True)
    body = poll_for_key(metadata["token_endpoint"], codes["device_code"],
                        client_id=args.client_id, interval=int(codes.get("interval") or 5),
                        expires_in=int(codes.get("expires_in") or 600))
    if not str(body.get("access_token", "")).startswith("ak_"):
        raise CLIError("the server answered with a token, not an API key")
    path = credentials_path(args.credentials)
    data = load(path)
    data["servers"][server] = {
        "api_key": body["access_token"], "key_id": body.get("key_id"),
        "signing_secret": body.get("signing_secret"), "key_name": body.get("key_name"),
        "scopes": str(body.get("scope", "")).split(), "expires_at": body.get("expires_at"),
        "client_id": args.client_id, "api_url": (args.api_url or f"{server}/api/v1"),
        "revocation_endpoint": metadata.get("revocation_endpoint"),
    }
    data["default"] = server
    save(path, data)
    print(f"Signed in. API key {body.get('key_id')} saved to {path}", file=out)
    return 0


# --- whoami, logout -------------------------------------------------------------------------


def _stored(args: argparse.Namespace) -> tuple[Path, dict[str, Any], str, dict[str, Any]]:
    path = credentials_path(args.credentials)
    data = load(path)
    server = (args.server or data.get("default") or "").rstrip("/")
    entry = data["servers"].get(server)
    if not server or not isinstance(entry, dict):
        raise CLIError(f"not signed in{f' to {server}' if server else ''}: "
                       "run ainative-auth login --server URL")
    return path, data, server, entry


def whoami(args: argparse.Namespace, out: TextIO) -> int:
    _, _, server, entry = _stored(args)
    answer = get_json(f"{entry['api_url'].rstrip('/')}/users/me",
                      headers={"X-API-Key": entry["api_key"]})
    if answer.status == 401:
        raise CLIError(f"the stored key no longer works at {server}: run login again")
    if answer.status != 200:
        raise CLIError(f"{server} answered {answer.status}")
    scopes = " ".join(entry.get("scopes") or []) or "(none)"
    print(f"{answer.body.get('email')} at {server} (key {entry.get('key_id')}, "
          f"scopes {scopes})", file=out)
    return 0


def logout(args: argparse.Namespace, out: TextIO) -> int:
    path, data, server, entry = _stored(args)
    endpoint = entry.get("revocation_endpoint")
    revoked = False
    if endpoint:
        answer = post_form(endpoint, {"token": entry["api_key"],
                                      "token_type_hint": "access_token",
                                      "client_id": entry.get("client_id") or CLIENT_ID})
        revoked = answer.status == 200
    del data["servers"][server]
    if data.get("default") == server:
        data["default"] = next(iter(data["servers"]), None)
    save(path, data)
    what = "revoked and forgotten" if revoked else "forgotten (the server did not confirm)"
    print(f"Key {entry.get('key_id')} for {server} {what}.", file=out)
    return 0 if revoked else 1


# --- the command line ---------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ainative-auth",
                                  description="Sign this machine in with an API key.")
    top.add_argument("--credentials", help="the credentials file (default: "
                     f"{credentials_path()}, or AINATIVE_AUTH_CREDENTIALS)")
    commands = top.add_subparsers(dest="command", required=True)
    sign_in = commands.add_parser("login", help="approve this machine in a browser")
    sign_in.add_argument("--server", required=True, help="the site's origin, e.g. "
                         "https://auth.example.com")
    sign_in.add_argument("--scopes", help="scopes for the key, space or comma separated "
                         "(default: what the server allows this client)")
    sign_in.add_argument("--key-name", help="the key's name on your dashboard")
    sign_in.add_argument("--no-browser", action="store_true", help="do not open a browser")
    sign_in.add_argument("--client-id", default=CLIENT_ID, help=argparse.SUPPRESS)
    sign_in.add_argument("--api-url", help="the API's base URL (default: SERVER/api/v1)")
    for name, text in (("whoami", "who the stored key belongs to"),
                       ("logout", "revoke the stored key and forget it")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--server", help="which server (default: the last login)")
    return top


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parser().parse_args(argv)
    out = out or sys.stdout
    command = {"login": login, "whoami": whoami, "logout": logout}[args.command]
    try:
        return command(args, out)
    except CLIError as exc:
        print(f"ainative-auth: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
