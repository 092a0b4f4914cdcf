"""The product's name and logo on the pages (``SITE_NAME``, ``SITE_LOGO``), read at use time."""

from __future__ import annotations

from dataclasses import dataclass

from django.templatetags.static import static

from ..conf import auth_settings

# Used as they are: a URL on this site, an absolute URL, or inline data.
_URL_PREFIXES = ("/", "http://", "https://", "data:")


@dataclass(frozen=True)
class Brand:
    """What the ``brand`` block of ``pages/base.html`` shows."""

    name: str
    logo_url: str  # "" when there is no logo: the template shows ``initial`` instead
    initial: str


def current_brand() -> Brand:
    name = str(auth_settings.SITE_NAME or "").strip() or "Account"
    logo = str(auth_settings.SITE_LOGO or "").strip()
    if logo and not logo.startswith(_URL_PREFIXES):
        logo = static(logo)
    initial = next((char for char in name if char.isalnum()), name[0]).upper()
    return Brand(name=name, logo_url=logo, initial=initial)
