from django.apps import AppConfig


class AINativeAuthConfig(AppConfig):
    name = "ainative_auth"
    label = "ainative_auth"
    verbose_name = "AINative auth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # checks registers the system checks; receivers mails a link when a user registers.
        from . import checks, receivers  # noqa: F401
