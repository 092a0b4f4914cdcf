"""Template tags of the pages: ``{% load ainative_auth %}``.

``{% site_brand as brand %}`` gives the product's name, logo URL and initial
(``AINATIVE_AUTH["SITE_NAME"]`` and ``["SITE_LOGO"]``), for a project's own templates too.
"""

from __future__ import annotations

from django import template

from ..web.branding import Brand, current_brand

register = template.Library()


@register.simple_tag
def site_brand() -> Brand:
    return current_brand()
