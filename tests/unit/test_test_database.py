"""The suite's own database plumbing (tests/conftest.py, tests/postgresql): a flush between
transactional tests leaves the rows ``migrate`` made: the content types and permissions
Django's own receivers would rebuild, and the rows of data migrations, which Django's flush
loses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

import ainative_auth
from tests.conftest import DATA_MIGRATIONS

pytestmark = pytest.mark.django_db(transaction=True)


def _rows() -> tuple[set[tuple[int, str, str]], set[tuple[int, str]]]:
    return ({(ct.pk, ct.app_label, ct.model) for ct in ContentType.objects.all()},
            {(p.pk, p.codename) for p in Permission.objects.all()})


def test_a_flush_gives_back_every_content_type_and_permission_with_its_id() -> None:
    content_types, permissions = _rows()
    models = {(m._meta.app_label, m._meta.model_name) for m in apps.get_models()}
    assert models <= {(label, model) for _, label, model in content_types}
    assert {codename for _, codename in permissions} >= {"view_user", "add_apikey"}

    call_command("flush", interactive=False, verbosity=0)  # what follows a transactional test

    assert _rows() == (content_types, permissions)


def _tables() -> dict[str, list[object]]:
    return {model._meta.label: list(model._base_manager.values_list("pk", flat=True).order_by("pk"))
            for model in apps.get_models() if model._meta.managed and not model._meta.proxy}


def test_a_flush_gives_back_the_rows_of_data_migrations() -> None:
    before = _tables()
    assert "ainative-cli" in before["allauth_idp_oidc.Client"]  # made by a data migration

    call_command("flush", interactive=False, verbosity=0)

    assert _tables() == before


def _data_migrations() -> set[tuple[str, str]]:
    """Every ``RunPython`` forward function in the app's migrations, as (module, name)."""
    root = Path(ainative_auth.__file__).parent
    found = set()
    for path in root.glob("**/migrations/[0-9]*.py"):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "RunPython"
                    and node.args and isinstance(node.args[0], ast.Name)):
                found.add((module, node.args[0].id))
    return found


@pytest.mark.django_db
def test_the_fast_lane_makes_the_rows_of_every_data_migration() -> None:
    """``make test-fast`` builds the tables from the models (``--no-migrations``), then
    runs ``DATA_MIGRATIONS`` itself: a new data migration must be listed there."""
    assert _data_migrations() == set(DATA_MIGRATIONS)

