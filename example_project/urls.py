from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from .views import CreditsBalanceView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/public/credits/balance", CreditsBalanceView.as_view(), name="credits-balance"),
    path("api/v1/", include("ainative_auth.urls")),
]

handler400 = "example_project.errors.bad_request"
handler403 = "example_project.errors.permission_denied"
handler404 = "example_project.errors.page_not_found"
handler500 = "example_project.errors.server_error"
