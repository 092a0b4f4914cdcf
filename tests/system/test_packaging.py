"""The wheel a user installs carries the migrations, templates, static files and ``py.typed``.

The wheel is built from a copy of the source tree, so the build leaves no ``build/`` or
``*.egg-info`` behind in the repository.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

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
