from django.apps import AppConfig


class OAuthServerConfig(AppConfig):
    name = "ainative_auth.oauth_server"
    label = "ainative_oauth_server"
    verbose_name = "AINative OAuth server"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The system checks, and the guarded fetch of Client ID Metadata Documents in place
        # of the library's (a deadline on the whole fetch, no private addresses).
        from . import checks, cimd  # noqa: F401

        cimd.install()
