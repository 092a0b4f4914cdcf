from django.apps import AppConfig


class MFAConfig(AppConfig):
    name = "ainative_auth.mfa"
    label = "ainative_auth_mfa"
    verbose_name = "AINative auth: multi-factor authentication"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The two extension points of the core (services.sessions) and the dashboard's
        # "Security" section; the system checks. Nothing of this runs at import.
        from ..services import sessions
        from ..web.dashboard import DashboardSection, register_section
        from . import checks  # noqa: F401
        from .pages import security_section
        from .services import challenge

        sessions.register_sign_in_gate(challenge.require_second_factor)
        sessions.register_second_factor_check(challenge.user_has_mfa)
        register_section(DashboardSection("ainative_auth/mfa/security_section.html",
                                          security_section))
