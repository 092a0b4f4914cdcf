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


# Widths every page must fit without sideways scrolling: a phone, a laptop.
PHONE, DESKTOP = 390, 1280

# Everything on the page that lies (partly) beyond the viewport's right or left edge, and
# every region that scrolls sideways (text fields excepted: a long value scrolls inside
# its field). Elements hidden from sight (display: none, visually-hidden 1px boxes) are
# left out; clipped ones are not, since a clipped button is as unreachable as one off-page.
_OVERFLOW_JS = """(width) => {
  const found = [];
  // A phone shows a page wider than its screen zoomed out: the layout viewport grows.
  if (window.innerWidth > width) found.push(`the page is zoomed out to ${window.innerWidth}px`);
  const root = document.documentElement;
  if (root.scrollWidth > width) found.push(`the page is ${root.scrollWidth}px wide`);
  const body = document.body;
  if (body.scrollWidth > width) found.push(`the body is ${body.scrollWidth}px wide`);
  const classes = (el) => typeof el.className === 'string' && el.className
    ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + classes(el)
    + ' "' + (el.innerText || el.value || '').trim().slice(0, 40) + '"';
  // A 1px clipping box (the visually-hidden pattern) hides everything inside it.
  const hidden = (el) => {
    for (let up = el; up && up !== document.body; up = up.parentElement) {
      const box = up.getBoundingClientRect();
      const clips = getComputedStyle(up).overflow !== 'visible';
      if (box.width <= 1 && box.height <= 1 && clips) return true;
    }
    return false;
  };
  for (const el of body.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if ((box.width <= 1 && box.height <= 1) || hidden(el)) continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      found.push(`${name(el)} spans ${Math.round(box.left)}..${Math.round(box.right)}px`);
    }
    const field = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
    const scrolls = ['auto', 'scroll'].includes(style.overflowX);
    if (!field && scrolls && el.scrollWidth > el.clientWidth + 1) {
      found.push(`${name(el)} scrolls sideways (${el.scrollWidth}px in ${el.clientWidth}px)`);
    }
  }
  return found;
}"""


def overflow(page: Any) -> list[str]:
    """What sticks out of the screen sideways, or scrolls sideways (empty: it fits)."""
    return list(page.evaluate(_OVERFLOW_JS, page.viewport_size["width"]))


def assert_fits(page: Any, name: str) -> Path:
    """Screenshot ``page`` as ``<name>-<width>.png``, then fail if anything on it overflows
    the viewport sideways."""
    width = page.viewport_size["width"]
    path = screenshot(page, f"{name}-{width}")
    problems = overflow(page)
    assert not problems, f"{name} at {width}px overflows ({path}):\n" + "\n".join(problems[:20])
    return path


def assert_reachable(page: Any, locator: Any) -> None:
    """``locator`` can be seen and clicked on this screen: scrolled into view (down, never
    sideways), wholly inside the viewport's width, and the topmost element at its centre."""
    locator.scroll_into_view_if_needed()
    assert locator.is_visible(), locator
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (locator, box)
    # Not scrolled sideways, nor zoomed out (a phone's answer to a page wider than it).
    sideways = page.evaluate("[window.scrollX, window.visualViewport.pageLeft, window.innerWidth]")
    assert sideways == [0, 0, width], f"{locator}: scrollX, pageLeft, innerWidth = {sideways}"
    hit = locator.evaluate(
        "(el) => { const b = el.getBoundingClientRect();"
        " const top = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);"
        " return el === top || el.contains(top); }"
    )
    assert hit, f"{locator} is covered by another element"
