from django.apps import AppConfig


class AINativeAuthConfig(AppConfig):
    name = "ainative_auth"
    label = "ainative_auth"
    verbose_name = "AINative auth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
