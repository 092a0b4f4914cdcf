"""The README's security table covers every requirement R1-R92 of the reference, and each
test file it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SECTION = README[README.index("\n## Security\n"):]
SECTION = SECTION[:SECTION.index("\n## ", 1)]
ROWS = dict(re.findall(r"^\| R(\d+) [^|]*\| ([^\n]*) \|$", SECTION, flags=re.M))


def test_every_requirement_has_its_own_row() -> None:
    assert sorted(int(n) for n in ROWS) == list(range(1, 93))


def test_every_row_says_where_it_stands() -> None:
    for number, status in ROWS.items():
        assert re.match(r"(Met|Partly|Not met|Not built|Deviation|Per DESIGN|Tokens are)",
                        status), f"R{number}: {status[:60]}"


def test_every_test_file_the_table_names_exists() -> None:
    named = set(re.findall(r"`(test_\w+\.py)`", SECTION))
    assert len(named) >= 20
    missing = sorted(name for name in named if not (ROOT / "tests" / name).exists())
    assert missing == []


def test_every_met_row_names_its_test() -> None:
    for number, status in ROWS.items():
        if status.startswith("Met"):
            assert re.search(r"`test_\w+\.py`", status), f"R{number} names no test"
