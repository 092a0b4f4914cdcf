"""The documentation keeps up with the app, and the README stays short.

The docs site (``mkdocs.yml``, ``docs/``) documents every setting, throttle scope and error
code the app has; its security table gives every claim a status and names test files that
exist; the files, modules and objects it names exist. The README keeps its Quickstart and
stays under 1,500 words. Neither speaks of how the project is organised internally.
``make test`` also builds the site with ``mkdocs build --strict``, which checks every
internal link and anchor.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import ainative_auth
from ainative_auth import exceptions
from ainative_auth.conf import DEFAULTS
from ainative_auth.exceptions import handler

# The docs against the code: no database, no cache (.ci/run's PostgreSQL pass leaves these
# tests out).
pytestmark = pytest.mark.standalone

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"
APP = Path(ainative_auth.__file__).resolve().parent
README = (ROOT / "README.md").read_text()
PAGES = sorted(DOCS.rglob("*.md"))


def page(name: str) -> str:
    return (DOCS / name).read_text()


def section(text: str, heading: str) -> str:
    """From ``heading`` (a whole line) to the next heading of the same or a higher level,
    skipping fenced code (where ``# settings.py`` is a comment, not a heading)."""
    level = len(heading.split(" ")[0])
    lines = text.splitlines(keepends=True)
    start = lines.index(heading + "\n")
    fenced = False
    for end in range(start + 1, len(lines)):
        if lines[end].startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", lines[end]):
            return "".join(lines[start:end])
    return "".join(lines[start:])


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --- every setting, throttle scope and error code is documented ----------------------------

@pytest.mark.parametrize("key", sorted(DEFAULTS))
def test_every_setting_is_in_the_settings_table(key: str) -> None:
    assert f"| `{key}` |" in page("settings.md")


@pytest.mark.parametrize("scope", sorted(DEFAULTS["THROTTLE_RATES"]))
def test_every_throttle_scope_is_documented(scope: str) -> None:
    assert f"| `{scope}` |" in section(page("settings.md"), "## Throttling")


def _error_codes() -> set[str]:
    codes = {
        klass.error_code
        for klass in vars(exceptions).values()
        if isinstance(klass, type) and issubclass(klass, exceptions.APIError)
        and klass is not exceptions.APIError
    }
    codes |= {code for _, code in handler._DRF_CODES.values()}
    # Conflict's own default is never sent: every 409 names its reason.
    return codes - {"conflict"}


@pytest.mark.parametrize("code", sorted(_error_codes()))
def test_every_error_code_is_on_the_errors_page(code: str) -> None:
    assert f"`{code}`" in section(page("errors.md"), "## Error codes"), code


# --- the security table: one row per claim, each with its status and its tests -------------

SECURITY = section(page("security.md"), "## Claims and the tests that prove them")
ROWS = [
    tuple(cell.strip() for cell in row)
    for row in re.findall(r"^\| (.+?) \| (.+?) \| (.+?) \|$", SECURITY, flags=re.M)
    if row[0] != "Claim" and not row[0].startswith("-")
]
STATUS = r"(Met|Partly|Not met|Not built|By design)\b"


def test_the_security_table_has_a_row_for_every_claim() -> None:
    # One row for each of the 92 claims the table has made from the start; more may come.
    assert len(ROWS) >= 92
    claims = [claim for claim, _, _ in ROWS]
    assert len(set(claims)) == len(claims), "a claim is listed twice"
    for claim in claims:
        assert len(claim.split()) >= 3, f"say the claim in words: {claim!r}"


def test_every_row_says_where_it_stands() -> None:
    for claim, status, _ in ROWS:
        assert re.match(STATUS, status), f"{claim}: {status[:60]}"


def _tests_named(cell: str) -> list[str]:
    return re.findall(r"`((?:[\w]+/)*test_\w+\.py)`", cell)


def test_every_row_names_its_tests_or_none() -> None:
    for claim, _, tests in ROWS:
        assert tests == "none" or _tests_named(tests), f"{claim}: {tests!r}"


def test_every_test_file_the_table_names_exists() -> None:
    named = {name for _, _, tests in ROWS for name in _tests_named(tests)}
    assert len(named) >= 20
    missing = sorted(name for name in named if not _test_file_exists(name))
    assert missing == []


def test_every_met_row_names_its_test() -> None:
    for claim, status, tests in ROWS:
        if status.startswith("Met"):
            assert _tests_named(tests), f"{claim} names no test"


def _test_file_exists(name: str) -> bool:
    """``test_x.py`` or ``pages/test_x.py``: somewhere under tests/, whatever its folder."""
    return any(relative(path).endswith("/" + name) for path in TESTS.rglob(Path(name).name))


# --- the README: short, with its Quickstart, linking into the docs -------------------------

def test_the_readme_is_at_most_1500_words() -> None:
    # The words `wc -w` counts: runs of non-whitespace.
    assert len(README.split()) <= 1500


def test_the_readme_has_the_quickstart_of_three_blocks() -> None:
    quickstart = section(README, "## Quickstart")
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", quickstart, flags=re.M | re.S)
    assert [language for language, _ in blocks] == ["bash", "python", "python"]
    (_, install), (_, settings), (_, urls) = blocks
    # Not on a package index: the line installs a checkout of this repository.
    assert re.match(r"pip install \./django-ainative-auth\b", install.strip())
    assert settings.splitlines()[0] == "# settings.py"
    assert urls.splitlines()[0] == "# urls.py"
    assert "configure(globals())" in settings and 'include("ainative_auth.urls")' in urls


def test_the_quickstart_adds_ten_lines_or_fewer() -> None:
    quickstart = section(README, "## Quickstart")
    blocks = re.findall(r"^```python\n(.*?)^```$", quickstart, flags=re.M | re.S)
    code = [line for block in blocks for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    assert len(code) <= 10, code


def _snippets() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *PAGES]:
        for block in re.findall(r"^```python\n(.*?)^```$", path.read_text(), flags=re.M | re.S):
            found.append((relative(path), block))
    return found


# Settings a project already has (a new project's lists and dicts, and the ones configure()
# makes): a snippet adds to them, never assigns them anew.
PROJECT_SETTINGS = ("INSTALLED_APPS", "MIDDLEWARE", "AINATIVE_AUTH", "REST_FRAMEWORK",
                    "AUTHENTICATION_BACKENDS", "PASSWORD_HASHERS", "SOCIALACCOUNT_PROVIDERS",
                    "DATABASES", "TEMPLATES", "CACHES", "urlpatterns")


@pytest.mark.parametrize(("where", "snippet"), _snippets(), ids=lambda v: v[:40])
def test_no_snippet_replaces_a_list_or_dict_the_project_has(where: str, snippet: str) -> None:
    for name in PROJECT_SETTINGS:
        assert re.search(rf"^{name}\s*=(?!=)", snippet, flags=re.M) is None, (where, name)


def test_every_check_id_is_in_the_checks_table() -> None:
    ids = {found for source in APP.glob("checks/*.py")
           for found in re.findall(r'id="(ainative_auth\.[EW]\d{3})"', source.read_text())}
    table = section(page("settings.md"), "## System checks")
    assert len(ids) >= 23
    assert sorted(i for i in ids if f"| `{i}` |" not in table) == []


def test_the_readme_keeps_the_two_set_up_commands() -> None:
    assert "make run" in README
    assert "make test" in README


def test_the_readmes_links_into_the_docs_exist() -> None:
    links = [target for target in re.findall(r"\]\(([^)]+)\)", README)
             if "://" not in target]
    assert "docs/index.md" in links
    missing = [target for target in links if not (ROOT / target.partition("#")[0]).exists()]
    assert missing == []


# --- no page speaks of how the project is organised internally ---------------------------

INTERNAL = [
    r"issue \d+",  # tracker numbers
    r"\bthe seed\b",
    r"DESIGN\.md",
    r"shared/reference",
    r" R\d+\b",  # requirement ids
]


@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=relative)
def test_no_page_speaks_of_the_projects_internals(path: Path) -> None:
    text = path.read_text()
    for pattern in INTERNAL:
        found = re.search(pattern, text, flags=re.I)
        assert found is None, f"{relative(path)}: {found and found.group(0)!r}"


@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=relative)
def test_dated_measurements_are_only_on_the_benchmarks_page(path: Path) -> None:
    if path == DOCS / "benchmarks.md":
        return
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", path.read_text()) is None


# --- what the pages name exists ----------------------------------------------------------

@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=relative)
def test_every_repository_file_a_page_names_exists(path: Path) -> None:
    text = path.read_text()
    named = set(re.findall(
        r"`((?:ainative_auth|example_project|tests|benchmarks|docs|\.ci)/[\w./-]*\.\w+)`", text))
    missing = sorted(name for name in named if not (ROOT / name).exists())
    assert missing == []
    tests = {name for name in re.findall(r"`((?:[\w]+/)*test_\w+\.py)`", text)
             if not name.startswith("tests/")}
    assert sorted(name for name in tests if not _test_file_exists(name)) == []


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


# The upgrade notes name modules as they were before.
NAMING_PAGES = [path for path in [ROOT / "README.md", *PAGES] if path.name != "upgrading.md"]


@pytest.mark.parametrize("path", NAMING_PAGES, ids=relative)
def test_every_module_and_object_a_page_names_exists(path: Path) -> None:
    named = set(re.findall(r"`(ainative_auth(?:\.\w+)+)(?:\(\))?`", path.read_text()))
    for dotted in sorted(named):
        if re.fullmatch(r"ainative_auth\.[EW]\d{3}", dotted):
            continue  # a system check's id
        _resolve(dotted)


def test_the_architecture_page_shows_the_layers_of_the_import_contract() -> None:
    """The page's layer list is the contract's, line for line, so the picture cannot drift
    from what ``lint-imports`` enforces."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    contract = [line.strip() for line in config["importlinter:contract:house"]["layers"]
                .strip().splitlines() if line.strip()]
    text = page("architecture.md")
    block = text.split("<!-- layers:start -->", 1)[1].split("<!-- layers:end -->", 1)[0]
    shown = [line.strip() for line in block.strip().strip("`").splitlines()
             if line.strip() and not line.startswith(("```", "text"))]
    assert shown == contract


def test_every_room_of_the_package_is_on_the_architecture_page() -> None:
    rooms = sorted(path.name for path in APP.iterdir()
                   if (path / "__init__.py").exists() and path.name != "migrations")
    text = page("architecture.md")
    assert [room for room in rooms if f"`{room}/`" not in text] == []


# --- the site: every page in the nav, every nav entry a page -----------------------------

def _nav_files(entry: Any) -> list[str]:
    if isinstance(entry, str):
        return [entry] if entry.endswith(".md") else []
    if isinstance(entry, dict):
        return [name for value in entry.values() for name in _nav_files(value)]
    if isinstance(entry, list):
        return [name for item in entry for name in _nav_files(item)]
    return []


NAV = _nav_files(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])


def test_the_nav_lists_every_page_once() -> None:
    assert sorted(NAV) == sorted(str(path.relative_to(DOCS)) for path in PAGES)
    assert len(set(NAV)) == len(NAV)


def test_every_nav_entry_exists() -> None:
    assert [name for name in NAV if not (DOCS / name).is_file()] == []


@pytest.mark.parametrize("name", [
    "index.md", "quickstart.md", "settings.md", "endpoints.md", "errors.md", "sessions.md",
    "api-keys.md", "signing.md", "email.md", "pages.md", "social-login.md", "deployment.md",
    "security.md", "reliability.md", "benchmarks.md", "architecture.md", "upgrading.md",
    "development.md",
])
def test_every_topic_has_its_page(name: str) -> None:
    assert name in NAV


def test_the_architecture_page_is_titled_architecture() -> None:
    assert page("architecture.md").startswith("# Architecture\n")


def test_the_upgrade_notes_cover_every_breaking_change_of_the_changelog() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    upgrading = page("upgrading.md")
    for breaking in re.findall(r"^### Breaking\n(.*?)(?=^##)", changelog, flags=re.M | re.S):
        for name in re.findall(r"`([^`]+)`", breaking):
            assert name.split()[-1] in upgrading, name
