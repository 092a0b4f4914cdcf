"""The pages, mounted apart from the API (an API-only project simply leaves them out)::

    path("", include("ainative_auth.urls_pages")),     # /login, /dashboard, /logout

Their paths are fixed relative to where they are included; set ``LOGIN_PATH`` to match if
you include them under a prefix.
"""

from django.urls import path

from .pages import views

app_name = "ainative_auth_pages"

urlpatterns = [
    path("login", views.login_page, name="login"),
    path("login/token", views.token_login, name="token-login"),
    path("login/<slug:provider>", views.social_start, name="social-start"),
    path("login/<slug:provider>/callback", views.social_callback, name="social-callback"),
    path("logout", views.logout_page, name="logout"),
    path("dashboard", views.dashboard, name="dashboard"),
    path("dashboard/keys", views.create_key, name="create-key"),
    path("dashboard/keys/<str:key_id>/rotate", views.rotate_key, name="rotate-key"),
    path("dashboard/keys/<str:key_id>/revoke", views.revoke_key, name="revoke-key"),
    path("dashboard/sessions/<str:session_id>/revoke", views.revoke_session,
         name="revoke-session"),
]
