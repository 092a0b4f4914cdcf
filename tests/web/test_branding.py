"""The product's name and logo on the pages: ``SITE_NAME``, ``SITE_LOGO``, and the
``brand`` block a project can override; no product name is written into the templates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "ainative_auth" / "templates"
PAGES = ["login", "forgot-password", "resend-verification", "reset-password", "verify-email"]


def url(name: str) -> str:
    return reverse(f"ainative_auth_pages:{name}")


def html(response: Any) -> str:
    return response.content.decode()


def brand_of(page: str) -> str:
    """The markup of the login card's brand (or the top bar's)."""
    found = re.search(r'<div class="auth-brand">(.*?)</div>', page) or re.search(
        r'<a class="brand" href="[^"]*">(.*?)</a>', page)
    assert found, "no brand on the page"
    return found.group(1)


def test_no_template_names_a_product() -> None:
    named = [str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*")
             if path.is_file() and "AINative" in path.read_text()]
    assert named == []


@pytest.mark.parametrize("name", PAGES)
def test_the_default_name_is_neutral(name: str) -> None:
    page = html(Client().get(url(name) + "?token=t"))
    assert re.search(r"<title>[^<]* · Account</title>", page)
    assert brand_of(page) == ('<span class="brand-mark" aria-hidden="true">A</span>'
                              '<span class="brand-name">Account</span>')


@pytest.mark.parametrize("name", PAGES)
def test_site_name_names_the_product_on_every_page(name: str, auth_settings: Any) -> None:
    auth_settings(SITE_NAME="Acme <Cloud>")
    page = html(Client().get(url(name) + "?token=t"))
    assert re.search(r"<title>[^<]* · Acme &lt;Cloud&gt;</title>", page)
    assert '<span class="brand-name">Acme &lt;Cloud&gt;</span>' in brand_of(page)
    assert '<span class="brand-mark" aria-hidden="true">A</span>' in brand_of(page)


def test_site_name_heads_the_dashboard(signed_in: Client, auth_settings: Any) -> None:
    auth_settings(SITE_NAME="Acme Cloud")
    page = html(signed_in.get(url("dashboard")))
    assert "<title>Dashboard · Acme Cloud</title>" in page
    assert '<span class="brand-name">Acme Cloud</span>' in brand_of(page)


@pytest.mark.parametrize("logo, src", [
    ("acme/logo.svg", "/static/acme/logo.svg"),
    ("/media/logo.png", "/media/logo.png"),
    ("https://static.acme.example/logo.png", "https://static.acme.example/logo.png"),
])
def test_site_logo_replaces_the_initial(logo: str, src: str, auth_settings: Any) -> None:
    auth_settings(SITE_NAME="Acme", SITE_LOGO=logo)
    page = html(Client().get(url("login")))
    assert brand_of(page) == (f'<img class="brand-logo" src="{src}" alt="" width="32" '
                              'height="32"><span class="brand-name">Acme</span>')


def test_a_logo_among_static_files_on_a_cdn_is_allowed_by_the_csp(settings: Any,
                                                                  auth_settings: Any) -> None:
    settings.STATIC_URL = "https://cdn.acme.example/static/"
    auth_settings(SITE_LOGO="acme/logo.svg")
    response = Client().get(url("login"))
    assert 'src="https://cdn.acme.example/static/acme/logo.svg"' in html(response)
    assert "img-src 'self' https://cdn.acme.example data:" in response["Content-Security-Policy"]


def test_a_project_overrides_the_brand_block_once_for_every_page(
        tmp_path: Path, settings: Any, signed_in: Client) -> None:
    override = tmp_path / "ainative_auth" / "pages" / "base.html"
    override.parent.mkdir(parents=True)
    override.write_text('{% extends "ainative_auth/pages/base.html" %}'
                        '{% block brand %}<b class="acme">Acme</b>{% endblock %}')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]

    for page in (html(Client().get(url("login"))), html(Client().get(url("forgot-password"))),
                 html(signed_in.get(url("dashboard")))):
        assert brand_of(page) == '<b class="acme">Acme</b>'
