"""Helpers of the browser tests: Debian's Chromium through Playwright, and plain HTTP.

Chromium is the system one (``/usr/bin/chromium``, Debian's ``chromium`` package); no
browser is ever downloaded (``playwright install`` is never run). Without it the browser
tests are skipped with a reason saying so, except under CI (``CI=true``), where they fail:
``.ci/run`` installs it, so a missing browser there is a broken CI, not a skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
# Screenshots for a person to look at (git-ignored): test-output/pages/*.png.
SCREENSHOTS = Path(os.environ.get("PAGES_SCREENSHOT_DIR", ROOT / "test-output" / "pages"))
FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    message = f"{CHROMIUM} not found: browser tests not run (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; under CI=true they must run", pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def chromium_page(base_url: str, **context_options: Any) -> Iterator[Any]:
    """A fresh headless Chromium page on ``base_url``; closed on exit.

    The test's own database work must happen outside this block: Playwright's sync API
    runs an event loop in this thread, and Django refuses ORM calls from it.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        try:
            context = browser.new_context(base_url=base_url, **context_options)
            context.set_default_timeout(15_000)
            yield context.new_page()
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def http(method: str, url: str, body: dict[str, Any] | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, parsed JSON or None) of a real HTTP request to the live server."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Accept": "application/json",
        **({"Content-Type": "application/json"} if data is not None else {}),
        **(headers or {}),
    })
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None
