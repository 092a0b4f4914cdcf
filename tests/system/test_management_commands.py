"""``manage.py`` commands as a shell script runs them: real processes, exit status and
streams."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Its own SQLite, never reached: the run's database and cache do not matter (.ci/run's
# PostgreSQL pass leaves it out).
pytestmark = pytest.mark.standalone


def test_mint_api_key_with_a_bad_duration_exits_non_zero_with_a_message_on_stderr(
        tmp_path: Path) -> None:
    # The real process: exit status and streams as a shell script sees them. The check
    # fails before any database access, so no database is needed.
    result = subprocess.run(
        [sys.executable, "manage.py", "ainative_mint_api_key", "--user", "a@example.com",
         "--name", "x", "--expires-in", "forever"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "tests.settings",
             "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
             "SECRET_KEY": "test-only"},
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert "--expires-in" in result.stderr
