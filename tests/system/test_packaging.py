"""The wheel a user installs carries the migrations, templates, static files and ``py.typed``;
the sdist and the wheel carry the licence; the metadata names the licence (SPDX), the
authors, where the documentation is, each requirement once, with an upper bound where a
major release would break the app, and a classifier for every Django the suite runs on.

The wheel and the sdist are built from a copy of the source tree, so the build leaves no
``build/`` or ``*.egg-info`` behind in the repository. (``make package`` builds both into
``dist/`` and runs ``twine check`` on them.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.message import Message
from email.parser import Parser
from pathlib import Path

import django
import pytest
import trove_classifiers
from packaging.requirements import Requirement

# The package and its files: no database, no cache (.ci/run's PostgreSQL pass leaves these
# tests out).
pytestmark = pytest.mark.standalone

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "ainative_auth"
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
    ".ruff_cache", ".mypy_cache", "htmlcov", ".coverage", "db.sqlite3", ".secret_key",
    "staticfiles", "node_modules", "test-output",
)


def build_artifacts() -> dict[str, float]:
    """build/, dist/ and *.egg-info in the repository, with their modification times."""
    return {
        p.name: p.stat().st_mtime for p in REPO_ROOT.iterdir()
        if p.name in ("build", "dist") or p.name.endswith(".egg-info")
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    before = build_artifacts()
    source = tmp_path_factory.mktemp("source") / "repo"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("wheelhouse")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert build_artifacts() == before, "the build wrote into the repository"
    wheels = list(out.glob("django_ainative_auth-*.whl"))
    assert len(wheels) == 1, [p.name for p in out.iterdir()]
    archive = zipfile.ZipFile(wheels[0])
    yield archive
    archive.close()


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tarfile.TarFile]:
    source = tmp_path_factory.mktemp("sdist-source") / "repo"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("sdist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out),
         str(source)],
        capture_output=True, text=True, timeout=300, check=False, cwd=out,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    archives = list(out.glob("django_ainative_auth-*.tar.gz"))
    assert len(archives) == 1, [p.name for p in out.iterdir()]
    archive = tarfile.open(archives[0])
    yield archive
    archive.close()


@pytest.fixture(scope="module")
def metadata(wheel: zipfile.ZipFile) -> Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return Parser().parsestr(wheel.read(name).decode())


def source_files(under: Path) -> set[str]:
    return {
        path.relative_to(REPO_ROOT).as_posix()
        for path in under.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_contains_the_initial_migration(wheel):
    assert "ainative_auth/migrations/0001_initial.py" in wheel.namelist()
    assert "ainative_auth/migrations/__init__.py" in wheel.namelist()


def test_the_wheel_contains_every_migration_of_the_source_tree(wheel):
    migrations = {f for f in source_files(PACKAGE / "migrations") if f.endswith(".py")}

    assert migrations <= set(wheel.namelist())


def test_the_wheel_is_marked_typed(wheel):
    assert "ainative_auth/py.typed" in wheel.namelist()


def test_the_wheel_contains_every_template_of_the_source_tree(wheel):
    templates = source_files(PACKAGE / "templates")

    assert templates, "the app ships its email templates"
    assert templates <= set(wheel.namelist())


def test_the_wheel_contains_the_pages_stylesheet_and_script(wheel):
    static = source_files(PACKAGE / "static")

    assert {"ainative_auth/static/ainative_auth/pages.css",
            "ainative_auth/static/ainative_auth/pages.js"} <= static
    assert static <= set(wheel.namelist())


def test_the_wheel_contains_every_python_module_of_the_app(wheel):
    modules = {f for f in source_files(PACKAGE) if f.endswith(".py")}

    assert modules <= set(wheel.namelist())


def test_the_wheel_ships_only_the_app(wheel):
    top_levels = {name.split("/")[0] for name in wheel.namelist()}

    assert {t for t in top_levels if not t.endswith(".dist-info")} == {"ainative_auth"}


def test_the_wheel_metadata_names_the_distribution_and_python_floor(wheel):
    metadata_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = wheel.read(metadata_name).decode()

    assert "Name: django-ainative-auth" in metadata
    assert "Requires-Python: >=3.11" in metadata


# --- the licence, and the metadata an index shows ----------------------------------------

def test_the_licence_file_is_mit_and_names_no_one_else() -> None:
    text = (REPO_ROOT / "LICENSE").read_text()

    assert text.startswith("MIT License\n")
    assert "AINative auth maintainers" in text


def test_the_wheel_carries_the_licence_file(wheel):
    licences = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]

    assert len(licences) == 1
    assert wheel.read(licences[0]).decode() == (REPO_ROOT / "LICENSE").read_text()


def test_the_sdist_carries_the_licence_file(sdist):
    names = sdist.getnames()
    licence = next(n for n in names if n.count("/") == 1 and n.endswith("/LICENSE"))
    member = sdist.extractfile(licence)

    assert member is not None
    assert member.read().decode() == (REPO_ROOT / "LICENSE").read_text()


def test_the_sdist_builds_the_same_package(sdist):
    names = sdist.getnames()

    assert any(n.endswith("/ainative_auth/migrations/0001_initial.py") for n in names)
    assert any(n.endswith("/pyproject.toml") for n in names)


def test_the_metadata_names_the_licence_as_an_spdx_expression(metadata):
    # PEP 639: `License-Expression`, not the deprecated free-text `License` field or a
    # licence classifier.
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["License"] is None
    assert not [c for c in metadata.get_all("Classifier") if c.startswith("License ::")]


def test_the_metadata_names_the_authors_and_the_documentation(metadata):
    assert metadata["Author"] == "AINative auth maintainers"
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL"))
    assert (REPO_ROOT / urls["Documentation"]).is_file()


def test_every_classifier_is_a_known_trove_classifier(metadata):
    unknown = [c for c in metadata.get_all("Classifier")
               if c not in trove_classifiers.classifiers]

    assert unknown == []


def test_there_is_a_classifier_for_the_django_and_python_this_suite_runs_on(metadata):
    classifiers = metadata.get_all("Classifier")

    assert f"Framework :: Django :: {django.VERSION[0]}.{django.VERSION[1]}" in classifiers
    assert "Framework :: Django :: 5.2" in classifiers  # the LTS, tested by every make test
    python = f"Programming Language :: Python :: {sys.version_info[0]}.{sys.version_info[1]}"
    assert python in classifiers


def _requirements(metadata: Message) -> list[Requirement]:
    return [Requirement(line) for line in metadata.get_all("Requires-Dist")]


def test_no_requirement_is_listed_twice(metadata):
    seen: dict[tuple[str, str], str] = {}
    twice = []
    for requirement in _requirements(metadata):
        extra = re.search(r'extra == "([^"]+)"', str(requirement.marker or ""))
        key = (extra.group(1) if extra else "", requirement.name.lower().replace("_", "-"))
        if key in seen:
            twice.append(key)
        seen[key] = str(requirement)

    assert twice == []


# Packages whose next major release may change what the app reaches into; calendar-versioned
# ones (cryptography, argon2-cffi) have no upper bound.
BOUNDED = {"django", "djangorestframework", "django-allauth", "djangorestframework-simplejwt",
           "pyjwt", "drf-spectacular", "http-message-signatures", "http-sf", "requests",
           "urllib3"}


def test_the_apps_requirements_stop_before_a_breaking_major_release(metadata):
    runtime = {r.name.lower(): r for r in _requirements(metadata) if r.marker is None}

    assert BOUNDED <= set(runtime)
    unbounded = sorted(name for name in BOUNDED
                       if not any(spec.operator == "<" for spec in runtime[name].specifier))
    assert unbounded == []
    assert runtime["django"].specifier.contains(django.get_version())
