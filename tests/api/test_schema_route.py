"""The schema route ships with the app: ``include("ainative_auth.urls")`` serves ``schema``
(and Swagger UI at ``schema/docs``) with no ``REST_FRAMEWORK`` or ``SPECTACULAR_SETTINGS``
at all, titled and versioned, with operation ids a generated client reads well and
descriptions written for the API's users."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

import ainative_auth
from ainative_auth import urls as auth_urls
from ainative_auth.api.views import base

pytestmark = pytest.mark.django_db

BARE_SETTINGS = textwrap.dedent('''
    SECRET_KEY = "not a secret, a test"
    DEBUG = True
    ALLOWED_HOSTS = ["testserver"]
    ROOT_URLCONF = "bare_urls"
    INSTALLED_APPS = [
        "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
        "django.contrib.messages", "rest_framework", "allauth", "allauth.account",
        "allauth.socialaccount", "ainative_auth",
    ]
    MIDDLEWARE = ["allauth.account.middleware.AccountMiddleware"]
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    USE_TZ = True
''')
BARE_URLS = textwrap.dedent('''
    from django.urls import include, path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class Ping(APIView):  # a view of the project's own, on DRF's default schema class
        def get(self, request):
            return Response({"pong": True})

    urlpatterns = [path("api/v1/", include("ainative_auth.urls")),
                   path("api/v1/ping", Ping.as_view())]
''')
PROBE = textwrap.dedent('''
    import json, django
    django.setup()
    from django.test import Client
    answer = Client().get("/api/v1/schema?format=json")
    body = json.loads(answer.content) if answer.status_code == 200 else {}
    print(json.dumps({"status": answer.status_code, "info": body.get("info"),
                      "paths": sorted(body.get("paths", {})),
                      "error": answer.content.decode()[-2000:]}))
''')


def test_the_schema_serves_with_no_drf_or_spectacular_setting(tmp_path: Path) -> None:
    (tmp_path / "bare_settings.py").write_text(BARE_SETTINGS)
    (tmp_path / "bare_urls.py").write_text(BARE_URLS)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
        env={"DJANGO_SETTINGS_MODULE": "bare_settings", "PYTHONPATH": str(tmp_path),
             "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])

    assert answer["status"] == 200, answer["error"]
    assert answer["info"]["title"] == "AINative auth API"
    assert answer["info"]["version"] == ainative_auth.__version__
    assert {"/api/v1/auth/login", "/api/v1/ping"} <= set(answer["paths"])


@pytest.fixture
def schema() -> dict[str, Any]:
    response = APIClient().get(reverse("ainative_auth:schema"), {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def our_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    prefix = reverse("ainative_auth:health").rsplit("health", 1)[0]
    ours = {prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern))
            for p in auth_urls.urlpatterns}
    return [(path, method, operation) for path, item in schema["paths"].items()
            if path in ours for method, operation in item.items()]


def test_the_schema_names_itself(schema: dict[str, Any]) -> None:
    assert schema["info"]["title"] == "AINative auth API"
    assert schema["info"]["version"] == ainative_auth.__version__
    assert reverse("ainative_auth:schema") not in schema["paths"]


def test_the_project_settings_win_over_the_schema_defaults(settings: Any) -> None:
    settings.SPECTACULAR_SETTINGS = {"TITLE": "Acme API", "VERSION": "7"}

    info = json.loads(APIClient().get(reverse("ainative_auth:schema"),
                                      {"format": "json"}).content)["info"]

    assert (info["title"], info["version"]) == ("Acme API", "7")


def test_the_operation_ids_read_as_function_names(schema: dict[str, Any]) -> None:
    ids = {operation["operationId"]: (method, path)
           for path, method, operation in our_operations(schema)}
    assert {"register", "login", "refresh_token", "logout", "get_me", "update_me",
            "create_api_key", "list_api_keys", "revoke_api_key", "rotate_api_key",
            "forgot_password", "reset_password", "verify_email", "github_callback",
            "linkedin_callback", "health"} <= set(ids)
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-z_]*[a-z]", operation_id), operation_id
        # Not drf-spectacular's path-derived names (`auth_login_create`).
        assert not operation_id.endswith(("_create", "_retrieve", "_partial_update",
                                          "_destroy", "_list")), operation_id


def test_every_operation_is_summarised_for_users(schema: dict[str, Any]) -> None:
    base_docs = {inspect.cleandoc(cls.__doc__ or "")
                 for cls in (base.BaseAPIView, base.AuthenticatedAPIView)}
    for path, method, operation in our_operations(schema):
        assert operation.get("summary"), (method, path)
        description = operation.get("description", "")
        assert description not in base_docs or not description, (method, path)
        assert "``" not in description, (method, path)  # no reStructuredText docstrings


def test_the_swagger_ui_page_opens(client: Any) -> None:
    page = client.get(reverse("ainative_auth:schema-docs"))

    assert page.status_code == 200
    assert reverse("ainative_auth:schema") in page.content.decode()
