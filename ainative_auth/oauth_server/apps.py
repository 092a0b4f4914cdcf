from django.apps import AppConfig


class OAuthServerConfig(AppConfig):
    name = "ainative_auth.oauth_server"
    label = "ainative_oauth_server"
    verbose_name = "AINative OAuth server"
    default_auto_field = "django.db.models.BigAutoField"
    # The core's plug points (it imports nothing of this app; it asks the app registry):
    # this app is the project's authorization server, so the protected-resource metadata
    # names SITE_URL as the issuer; its access tokens authenticate on the API's views
    # (for the API resource only); and its resources (``/mcp``, ...) get metadata and
    # challenges of their own.
    ainative_authorization_server = True
    bearer_authentication = "ainative_auth.oauth_server.authentication.APIResourceAuthentication"

    def protected_resources(self) -> dict[str, list[str]]:
        """``{path under SITE_URL: its scopes}`` of ``OAUTH_SERVER_RESOURCES``."""
        from . import resources

        return resources.resource_paths()

    def ready(self) -> None:
        # The system checks, the schema's description of the tokens, the guarded fetch of
        # Client ID Metadata Documents in place of the library's (a deadline on the whole
        # fetch, no private addresses), and signing keys parsed once, not per token.
        from . import checks, cimd, schema, signing  # noqa: F401

        cimd.install()
        signing.install()
