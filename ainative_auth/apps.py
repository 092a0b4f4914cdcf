from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AINativeAuthConfig(AppConfig):
    name = "ainative_auth"
    label = "ainative_auth"
    verbose_name = "AINative auth"
    default_auto_field = "django.db.models.BigAutoField"
    # The app config Django picks for "ainative_auth" (AdminConfig below is another).
    default = True

    def ready(self) -> None:
        # Everything with a side effect on the process happens here, once the app registry
        # is ready, never at import: the system checks are registered, the signal receivers
        # connected, drf-spectacular's extensions registered (they subclass its registry
        # classes), and the mail sender's fork and exit hooks installed.
        from . import checks, schema  # noqa: F401
        from .outbox import delivery
        from .services import receivers  # noqa: F401

        delivery.install_process_hooks()


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin whose login counts against the API's login limits and lockout: list
    ``"ainative_auth.apps.AdminConfig"`` in ``INSTALLED_APPS`` instead of
    ``"django.contrib.admin"`` (``ainative_auth.setup.configure`` does). Every ``ModelAdmin``
    registered on ``admin.site`` lands on this site (Django's way to replace the default
    admin site)."""

    default = False
    default_site = "ainative_auth.admin_site.ThrottledAdminSite"
