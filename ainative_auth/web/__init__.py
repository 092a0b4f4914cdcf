"""Server-rendered pages: login, the dashboard, logout. Mounted from
``ainative_auth.urls_pages``, apart from the API, so API-only projects serve no HTML."""
