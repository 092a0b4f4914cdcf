from django.apps import AppConfig


class AINativeAuthConfig(AppConfig):
    name = "ainative_auth"
    label = "ainative_auth"
    verbose_name = "AINative auth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, once the app registry is ready (both touch models): checks
        # registers the system checks, receivers connects the signal receivers.
        from . import checks, receivers  # noqa: F401
