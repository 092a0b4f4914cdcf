from django.contrib import admin
from django.urls import include, path

from .views import CreditsBalanceView, whoami

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/public/credits/balance", CreditsBalanceView.as_view(), name="credits-balance"),
    # The API, its OpenAPI schema (api/v1/schema) and the schema in Swagger UI
    # (api/v1/schema/docs).
    path("api/v1/", include("ainative_auth.urls")),
    # Behind AuthRequiredMiddleware (PROTECTED_PATHS has "/api/protected").
    path("api/protected/whoami", whoami, name="whoami"),
    # The pages (/login, /dashboard, /logout) at the root; API-only projects leave this out.
    path("", include("ainative_auth.urls_pages")),
]

handler400 = "example_project.errors.bad_request"
handler403 = "example_project.errors.permission_denied"
handler404 = "example_project.errors.page_not_found"
handler500 = "example_project.errors.server_error"
