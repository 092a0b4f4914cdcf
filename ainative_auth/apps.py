from django.apps import AppConfig


class AINativeAuthConfig(AppConfig):
    name = "ainative_auth"
    label = "ainative_auth"
    verbose_name = "AINative auth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Everything with a side effect on the process happens here, once the app registry
        # is ready, never at import: the system checks are registered, the signal receivers
        # connected, drf-spectacular's extensions registered (they subclass its registry
        # classes), and the mail sender's fork and exit hooks installed.
        from . import checks, schema  # noqa: F401
        from .outbox import delivery
        from .services import receivers  # noqa: F401

        delivery.install_process_hooks()
