"""Include at the root of the project's URLconf:
``path("", include("ainative_auth.urls_wellknown"))``.

RFC 9728 puts a protected resource's metadata under the host's ``/.well-known/``:
``/.well-known/oauth-protected-resource`` (the site) and
``/.well-known/oauth-protected-resource/api/v1`` (the API, wherever ``ainative_auth.urls``
is mounted). 401 and 403 answers point at them; ``SITE_URL`` must be set.
"""

from django.urls import path

from .api.views.metadata import ProtectedResourceMetadataView

app_name = "ainative_auth_wellknown"

urlpatterns = [
    path(".well-known/oauth-protected-resource", ProtectedResourceMetadataView.as_view(),
         name="oauth-protected-resource"),
    path(".well-known/oauth-protected-resource/<path:resource_path>",
         ProtectedResourceMetadataView.as_view(), name="oauth-protected-resource-path"),
]
