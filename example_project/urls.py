from django.contrib import admin
from django.urls import include, path

from . import mcp_server
from .views import CreditsBalanceView, whoami

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/public/credits/balance", CreditsBalanceView.as_view(), name="credits-balance"),
    # The API, its OpenAPI schema (api/v1/schema) and the schema in Swagger UI
    # (api/v1/schema/docs).
    path("api/v1/", include("ainative_auth.urls")),
    # RFC 9728 protected-resource metadata, at the root as the RFC wants it.
    path("", include("ainative_auth.urls_wellknown")),
    # Behind AuthRequiredMiddleware (PROTECTED_PATHS has "/api/protected", for API keys
    # with the scope profile:read).
    path("api/protected/whoami", whoami, name="whoami"),
    # The OAuth server (/.well-known/oauth-authorization-server, /oauth/...) and the MCP
    # server (example_project/mcp_server.py).
    path("", include("ainative_auth.oauth_server.urls")),
    path("api/v1/", include("ainative_auth.oauth_server.urls_api")),
    # Its RFC 9728 document is served by ainative_auth.urls_wellknown above, from the OAuth
    # server's OAUTH_SERVER_RESOURCES.
    path("mcp", mcp_server.mcp_endpoint, name="mcp"),
    # The pages (/login, /dashboard, /logout) at the root; API-only projects leave this out.
    path("", include("ainative_auth.urls_pages")),
]

handler400 = "example_project.errors.bad_request"
handler403 = "example_project.errors.permission_denied"
handler404 = "example_project.errors.page_not_found"
handler500 = "example_project.errors.server_error"
