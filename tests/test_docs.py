"""The README documents every setting, throttle scope and error code the app has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ainative_auth import exceptions
from ainative_auth.conf import DEFAULTS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
APP = Path(exceptions.__file__).resolve().parent


@pytest.mark.parametrize("key", sorted(DEFAULTS))
def test_every_setting_is_in_the_readme_settings_table(key: str) -> None:
    assert f"| `{key}` |" in README


@pytest.mark.parametrize("scope", sorted(DEFAULTS["THROTTLE_RATES"]))
def test_every_throttle_scope_is_documented(scope: str) -> None:
    assert f"`{scope}`" in README


def _error_codes() -> set[str]:
    codes = {
        klass.error_code
        for klass in vars(exceptions).values()
        if isinstance(klass, type) and issubclass(klass, exceptions.APIError)
        and klass is not exceptions.APIError
    }
    codes |= {code for _, code in exceptions._DRF_CODES.values()}
    # Codes passed explicitly, e.g. Forbidden("...", "session_required").
    for path in APP.rglob("*.py"):
        codes |= set(re.findall(r'(?:Forbidden|Conflict|APIError)\([^)]*?"([a-z_]+)"\)',
                                path.read_text(), flags=re.S))
    # Conflict's own default is never sent: every 409 names its reason.
    return codes - {"conflict"}


@pytest.mark.parametrize("code", sorted(_error_codes()))
def test_every_error_code_is_in_the_readme(code: str) -> None:
    assert f"`{code}`" in README, code
