"""Include under your API prefix: ``path("api/v1/", include("ainative_auth.urls"))``."""

from django.urls import path

from .views import accounts, sessions

app_name = "ainative_auth"

urlpatterns = [
    path("auth/register", accounts.RegisterView.as_view(), name="register"),
    path("auth/login", accounts.LoginView.as_view(), name="login"),
    path("auth/refresh", sessions.RefreshView.as_view(), name="refresh"),
    path("auth/logout", sessions.LogoutView.as_view(), name="logout"),
    path("auth/logout-all", sessions.LogoutAllView.as_view(), name="logout-all"),
    path("auth/sessions", sessions.SessionListView.as_view(), name="sessions"),
    path("auth/sessions/<str:session_id>", sessions.SessionDetailView.as_view(),
         name="session-detail"),
    path("users/me", accounts.MeView.as_view(), name="me"),
    path("auth/me", accounts.MeView.as_view(), name="auth-me"),
    path("health", sessions.HealthView.as_view(), name="health"),
]
