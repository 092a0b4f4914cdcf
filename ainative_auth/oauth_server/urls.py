"""The OAuth server's routes, included at the site's root (the metadata must be at
``/.well-known/``)::

    path("", include("ainative_auth.oauth_server.urls")),
    path("api/v1/", include("ainative_auth.oauth_server.urls_api")),   # grants over the API
"""

from django.urls import path

from . import device_views, views

app_name = "ainative_oauth"

urlpatterns = [
    path(".well-known/oauth-authorization-server", views.metadata, name="metadata"),
    path(".well-known/openid-configuration", views.metadata, name="openid-configuration"),
    path("oauth/authorize", views.authorize, name="authorize"),
    path("oauth/token", views.token, name="token"),
    path("oauth/register", views.register, name="register"),
    path("oauth/revoke", views.revoke, name="revoke"),
    path("oauth/introspect", views.introspect, name="introspect"),
    path("oauth/jwks.json", views.jwks, name="jwks"),
    path("oauth/device_authorization", device_views.device_authorization,
         name="device-authorization"),
    path("device", device_views.device_page, name="device"),
    path("dashboard/apps/<str:grant_id>/revoke", views.revoke_app, name="revoke-app"),
]
