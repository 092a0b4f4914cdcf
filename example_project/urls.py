from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from .views import CreditsBalanceView, whoami

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/public/credits/balance", CreditsBalanceView.as_view(), name="credits-balance"),
    path("api/v1/", include("ainative_auth.urls")),
    # RFC 9728 protected-resource metadata, at the root as the RFC wants it.
    path("", include("ainative_auth.urls_wellknown")),
    # Behind AuthRequiredMiddleware (PROTECTED_PATHS has "/api/protected", for API keys
    # with the scope profile:read).
    path("api/protected/whoami", whoami, name="whoami"),
    # The pages (/login, /dashboard, /logout) at the root; API-only projects leave this out.
    path("", include("ainative_auth.urls_pages")),
]

handler400 = "example_project.errors.bad_request"
handler403 = "example_project.errors.permission_denied"
handler404 = "example_project.errors.page_not_found"
handler500 = "example_project.errors.server_error"
