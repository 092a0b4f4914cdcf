"""The suite's own database plumbing (tests/conftest.py, tests/postgresql): a flush between
transactional tests leaves the rows ``migrate`` made: the content types and permissions
Django's own receivers would rebuild, and the rows of data migrations, which Django's flush
loses."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

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
