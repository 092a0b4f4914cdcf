"""The example project's admin: Django's, with its login behind the API's login limits."""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    # Every ModelAdmin registered on admin.site lands on this site (Django's documented
    # way to replace the default admin site).
    default_site = "ainative_auth.admin_site.ThrottledAdminSite"
