"""Connected apps over the JSON API, included beside ``ainative_auth.urls``::

    path("api/v1/", include("ainative_auth.oauth_server.urls_api")),
"""

from django.urls import path

from . import api

app_name = "ainative_oauth_api"

urlpatterns = [
    path("oauth/grants", api.GrantListView.as_view(), name="grants"),
    path("oauth/grants/<str:grant_id>", api.GrantDetailView.as_view(), name="grant"),
]
